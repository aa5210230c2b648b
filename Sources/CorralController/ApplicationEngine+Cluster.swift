import CorralCore
import CorralExecutor
import Foundation

/// Cluster-wide controls: maintenance mode, executor blacklisting, service
/// discovery endpoints, and the events each change raises.
extension ApplicationEngine {
    // MARK: Maintenance

    /// Drove's message for an operation refused in maintenance mode, with what to do.
    static let maintenanceRefusal = "Cluster is in maintenance mode: operations are refused until it is unset (drove cluster maintenance-off)"

    var inMaintenance: Bool { clusterState.state == .MAINTENANCE }

    /// Sets or unsets maintenance mode (persisted, so a new leader keeps it).
    func setMaintenance(_ on: Bool) async throws(OperationRefusal) -> ClusterStateData {
        guard leading, loaded else { throw OperationRefusal(["this controller is not leading yet; try again"], status: 503) }
        let next = ClusterStateData(state: on ? .MAINTENANCE : .NORMAL, updated: Self.nowMillis())
        guard let fence = await leadership.fence() else { throw OperationRefusal(["this controller is no longer the leader"], status: 503) }
        do throws(ClusterStore.StoreError) { try await store.setClusterState(next, fence: fence) } catch {
            throw OperationRefusal(["cannot record the cluster state: \(error.message)"], status: 503)
        }
        let was = clusterState.state
        clusterState = next
        if was != next.state {
            events.record(on ? .MAINTENANCE_MODE_SET : .MAINTENANCE_MODE_REMOVED, ["HOSTNAME": .string(options.hostname ?? Self.localHostname)])
            logger.notice(on ? "maintenance mode set: operations are refused, nothing is declared lost or replaced" : "maintenance mode removed")
        }
        if !on {
            // Executors that went away meanwhile get their whole staleExecutorAge from now.
            let now = ContinuousClock.now
            for id in missingSince.keys { missingSince[id] = now }
            notifyChange()
            Task { await self.monitor() }
        }
        return next
    }

    // MARK: Blacklisting

    /// Blacklists (or unblacklists) executors: each is told at once and takes
    /// no new work (its instances keep running); unblacklisted, waiting
    /// placements are tried again right away.
    func setBlacklisted(_ ids: [String], _ blacklisted: Bool) async -> (successful: [String], failed: [String]) {
        var ok: [String] = [], failed: [String] = []
        for id in ids {
            guard let e = executors[id] else { failed.append(id); continue }
            let outcome = await messenger.send(blacklisted ? .BLACKLIST : .UNBLACKLIST, payload: [:], executor: e)
            guard outcome.status == .ACCEPTED || outcome.status == .HANDLED else {
                logger.warning("executor did not take its new state", metadata: ["executor": "\(e.hostname):\(e.port)", "reply": "\(outcome.message ?? outcome.status?.rawValue ?? "unreachable")"])
                failed.append(id)
                continue
            }
            requestedStates[id] = blacklisted ? .BLACKLISTED : .ACTIVE
            if let d = executors[id] { scheduler.upsert(model(of: d)) }
            events.record(blacklisted ? .EXECUTOR_BLACKLISTED : .EXECUTOR_UN_BLACKLISTED, executorMetadata(e, blacklisted: blacklisted))
            logger.notice(blacklisted ? "executor blacklisted: its instances keep running, new work goes elsewhere" : "executor unblacklisted",
                          metadata: ["executor": "\(e.hostname):\(e.port)"])
            ok.append(id)
        }
        if !blacklisted && !ok.isEmpty {
            notifyChange()
            Task { await self.monitor() }
        }
        return (ok, failed)
    }

    /// The executor's state as the scheduler sees it: what was asked of it until its node data shows it.
    func effectiveState(_ d: ExecutorNodeData) -> ExecutorNodeData.State {
        requestedStates[d.state.executorId] ?? d.executorState
    }

    // MARK: Endpoints

    /// Drove's `ExposedAppInfo`: for every app with an `exposureSpec`, its
    /// vhost and the host:port of each HEALTHY instance's named port
    /// (`mode: ONE`: the oldest only).
    func endpoints(apps filter: Set<String> = []) -> [DroveAPI.ExposedApp] {
        var out: [DroveAPI.ExposedApp] = []
        for (appId, app) in apps.sorted(by: { $0.key < $1.key }) {
            guard case .object(let exposure)? = app.record.spec["exposureSpec"],
                  let vhost = exposure["vhost"]?.string, let portName = exposure["portName"]?.string else { continue }
            if !filter.isEmpty && !filter.contains(app.spec.name) { continue }
            var healthy = (instances[appId] ?? [:]).values.filter { $0.state == InstanceState.HEALTHY.rawValue }.sorted { $0.created < $1.created }
            if exposure["mode"]?.string == "ONE" { healthy = Array(healthy.prefix(1)) }
            let hosts = healthy.compactMap { i -> DroveAPI.ExposedApp.Host? in
                guard let p = i.localInfo.ports[portName] else { return nil }
                return .init(host: i.localInfo.hostname, port: p.hostPort, portType: p.portType)
            }
            out.append(.init(appName: app.spec.name, appId: appId, vhost: vhost, tags: app.spec.tags, hosts: hosts))
        }
        return out
    }

    // MARK: Log files

    /// Drove's log file families (`/apis/v1/logfiles/{family}/...`).
    public enum LogFamily: String, Sendable, CaseIterable { case applications, tasks, localservices }

    /// Where a workload's log files are: its executor, and the appId and
    /// instance id its executor files them under (an ended one's too, while
    /// it is remembered and its executor is there).
    func logLocation(_ family: LogFamily, _ domain: String, _ id: String) -> (executor: ExecutorNodeData, appId: String, instanceId: String)? {
        switch family {
        case .applications:
            guard let info = instances[domain]?[id] ?? old[domain]?.first(where: { $0.instanceId == id }),
                  let e = executors[info.executorId] else { return nil }
            return (e, domain, id)
        case .tasks:
            guard let t = tasks[Self.taskKey(domain, id)]?.record.info, let e = executors[t.executorId] else { return nil }
            return (e, domain, t.instanceId)
        case .localservices:
            guard let info = serviceInstances[domain]?[id] ?? oldServiceInstances[domain]?.first(where: { $0.instanceId == id }),
                  let e = executors[info.executorId] else { return nil }
            return (e, domain, id)
        }
    }

    // MARK: Events

    static let localHostname: String = ProcessInfo.processInfo.hostName

    func executorMetadata(_ d: ExecutorNodeData, blacklisted: Bool? = nil) -> [String: JSONValue] {
        ["EXECUTOR_ID": .string(d.state.executorId), "HOSTNAME": .string(d.hostname), "PORT": .number(Double(d.port)),
         "BLACKLISTED": .bool(blacklisted ?? (effectiveState(d) == .BLACKLISTED))]
    }

    func recordInstanceEvent(_ i: DroveInstanceInfo) {
        var m: [String: JSONValue] = ["APP_ID": .string(i.appId), "APP_NAME": .string(i.appName), "INSTANCE_ID": .string(i.instanceId),
                                      "EXECUTOR_ID": .string(i.executorId), "EXECUTOR_HOST": .string(i.localInfo.hostname),
                                      "CURRENT_STATE": .string(i.state), "CREATED": .number(Double(i.created))]
        if let e = i.errorMessage, !e.isEmpty { m["ERROR"] = .string(e) }
        if !i.localInfo.ports.isEmpty {
            m["PORTS"] = .object(i.localInfo.ports.mapValues { .object(["containerPort": .number(Double($0.containerPort)), "hostPort": .number(Double($0.hostPort)), "portType": .string($0.portType)]) })
        }
        events.record(.INSTANCE_STATE_CHANGE, m)
    }

    func recordTaskEvent(_ t: DroveTaskInfo) {
        var m: [String: JSONValue] = ["TASK_ID": .string(t.taskId), "APP_NAME": .string(t.sourceAppName), "INSTANCE_ID": .string(t.instanceId),
                                      "EXECUTOR_ID": .string(t.executorId), "EXECUTOR_HOST": .string(t.hostname),
                                      "CURRENT_STATE": .string(t.state), "CREATED": .number(Double(t.created))]
        if let e = t.errorMessage, !e.isEmpty { m["ERROR"] = .string(e) }
        if let r = t.taskResult {
            m["RESULT_STATUS"] = .string(r.status)
            m["RESULT_EXIT_CODE"] = .number(Double(r.exitCode))
        }
        events.record(.TASK_STATE_CHANGE, m)
    }

    func recordAppEvent(_ app: App, state: String? = nil) {
        events.record(.APP_STATE_CHANGE, [
            "APP_ID": .string(app.record.appId), "APP_NAME": .string(app.spec.name), "APP_VERSION": .string(app.spec.version),
            "CPU_COUNT": .number(Double(app.spec.resources.cpus)), "MEMORY": .number(Double(app.spec.resources.memoryBytes >> 20)),
            "CURRENT_INSTANCES": .number(Double(app.record.instances)), "CURRENT_STATE": .string(state ?? app.record.corral.state.rawValue),
        ])
    }
}

// MARK: Placement simulation

extension ApplicationEngine {
    /// drove-cli's `cluster simulate-placement`: where `numInstances` of an
    /// application, task or local service spec would go now, on a copy of
    /// the scheduler's books (nothing is booked). `placementPolicy`
    /// overrides the spec's.
    func simulatePlacement(_ body: Data) throws(OperationRefusal) -> DroveAPI.PlacementSimulation {
        let (rootNode, issue) = JSONTree.parse(body, file: "simulation")
        if let issue { throw OperationRefusal([issue.message]) }
        let r = ConfigReader(file: "simulation", environment: [:])
        r.stringsAreTyped = true
        guard let root = rootNode, let f = r.mapping(root, at: "", known: ["spec", "numInstances", "placementPolicy"]) else { throw refusal(r) }
        guard let sn = f["spec"], let whole = try? JSONValue.parse(body), let specValue = whole["spec"] else {
            r.error("spec", root, "a simulation needs a spec", allowed: "an application, task or local service spec")
            throw refusal(r)
        }
        let count = f["numInstances"].flatMap { r.int($0, at: "numInstances", in: 1...2048) } ?? 1
        var resources: AllocationRequest?, policy: PlacementPolicy?, name = "simulated"
        if specValue["taskId"] != nil {
            if let t = DroveTaskSpec.read(sn, r, "spec", json: specValue.data(), allowedMountDirs: options.allowedMountDirs) {
                resources = t.resources; policy = t.placementPolicy; name = "task:" + t.sourceAppName
            }
        } else {
            let local = specValue["type"]?.string?.uppercased() == "LOCAL_SERVICE"
            if let a = DroveApplicationSpec.read(sn, r, "spec", json: specValue.data(), allowedMountDirs: options.allowedMountDirs, localService: local) {
                resources = a.resources; policy = local ? Self.servicePolicy(a.placementPolicy) : a.placementPolicy; name = local ? Self.serviceBooking(a.appId) : a.appId
            }
        }
        if let n = f["placementPolicy"], let p = PlacementPolicy.read(n, r, "placementPolicy") { policy = p }
        guard let resources, let policy, !r.hasErrors else { throw refusal(r) }
        var sim = scheduler
        var placements: [DroveAPI.PlacementSimulation.Placement] = [], errors: [String] = []
        for i in 0..<count {
            do throws(ClusterScheduler.Refusal) {
                let p = try sim.place(.init(appId: name, resources: resources, policy: policy), id: "simulated-\(i)")
                let e = executors[p.executorId]
                placements.append(.init(executorId: p.executorId, hostname: p.hostname, port: e?.port ?? 0,
                                        executorState: e.map { effectiveState($0).rawValue } ?? "UNKNOWN",
                                        cores: Array(p.allocation.cpus).sorted()))
            } catch {
                errors.append("instance \(i + 1) of \(count): \(error.message)")
                break
            }
        }
        return .init(requested: count, placed: placements.count, errors: errors, placements: placements)
    }
}
