import CorralCore
import CorralExecutor
import Foundation

/// Drove's local services: a service with `instancesPerHost` instances on
/// every executor it admits (placement LOCAL: every executor; a tag policy:
/// the executors it matches), kept so by the monitor (an executor that
/// joins gets its instances, one that leaves takes its own with it).
/// Records at `/<ns>/localservices/<serviceId>`, instances at
/// `/<ns>/localserviceinstances/<serviceId>/<instanceId>`.
extension ApplicationEngine {
    struct Service {
        var record: LocalServiceRecord
        var version: Int32
        var spec: DroveApplicationSpec
        /// The spec with secrets opened (what instances are started with).
        var openSpec: JSONValue
        var unrecoverable: String?
    }

    /// The scheduler's books name a local service's instances by this.
    static func serviceBooking(_ serviceId: String) -> String { "ls:" + serviceId }
    static func serviceId(ofBooking b: String) -> String? { b.hasPrefix("ls:") ? String(b.dropFirst(3)) : nil }
    static func serviceContext(_ serviceId: String, _ key: String) -> String { "local service \(serviceId) env \(key)" }

    func loadServices() async {
        services = [:]
        serviceInstances = [:]
        guard let (records, unreadable) = try? await store.loadLocalServices() else { return }
        for name in unreadable { logger.error("a local service record cannot be read; it is left as it is", metadata: ["serviceId": "\(name)"]) }
        for (record, version) in records {
            guard let s = makeService(record, version: version) else { continue }
            services[record.serviceId] = s
            var byId: [String: DroveLocalServiceInstanceInfo] = [:]
            for i in (try? await store.loadServiceInstances(record.serviceId)) ?? [] { byId[i.instanceId] = i }
            serviceInstances[record.serviceId] = byId
        }
    }

    func makeService(_ record: LocalServiceRecord, version: Int32) -> Service? {
        let (open, problem) = opened(record.spec) { Self.serviceContext(record.serviceId, $0) }
        let r = ConfigReader(file: "local service \(record.serviceId)", environment: [:])
        r.stringsAreTyped = true
        let data = open.data()
        guard let (node, _) = Optional(JSONTree.parse(data)), let node,
              let spec = DroveApplicationSpec.read(node, r, "", json: data, allowedMountDirs: ["/"], localService: true) else {
            logger.error("a stored local service spec no longer reads", metadata: ["serviceId": "\(record.serviceId)", "error": "\(r.issues.first?.message ?? "?")"])
            return nil
        }
        return Service(record: record, version: version, spec: spec, openSpec: open, unrecoverable: problem)
    }

    // MARK: Operations

    /// `POST /apis/v1/localservices/operations`: checked whole, persisted, then
    /// carried out by the monitor. Returns the serviceId.
    func acceptServiceOperation(_ body: Data) async throws(OperationRefusal) -> String {
        guard leading, loaded else { throw OperationRefusal(["this controller is not leading yet; try again"], status: 503) }
        guard !inMaintenance else { throw OperationRefusal([Self.maintenanceRefusal]) }
        let (rootNode, issue) = JSONTree.parse(body, file: "local service operation")
        if let issue { throw OperationRefusal([issue.message]) }
        let r = ConfigReader(file: "local service operation", environment: [:])
        r.stringsAreTyped = true
        guard let root = rootNode,
              let f = r.mapping(root, at: "", known: ["type", "spec", "instancesPerHost", "serviceId", "instanceIds", "stopFirst", "opSpec", "clusterOpSpec"]) else {
            throw refusal(r)
        }
        let kinds = LocalServiceRecord.OperationKind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let tn = f["type"], let typeText = r.string(tn, at: "type") else {
            if f["type"] == nil { r.error("type", root, "a local service operation needs a type", allowed: kinds) }
            throw refusal(r)
        }
        guard let kind = LocalServiceRecord.OperationKind(rawValue: typeText.uppercased()) else {
            r.error("type", tn, value: typeText, "\"\(typeText)\" is not a local service operation", allowed: kinds)
            throw refusal(r)
        }
        let opSpec = ClusterOpSpec.read(f["opSpec"] ?? f["clusterOpSpec"], r, "opSpec",
                                        defaults: .init(timeoutSeconds: options.clusterOpTimeout.seconds, parallelism: options.clusterOpParallelism))
        func count(_ required: Bool) -> Int? {
            guard let n = f["instancesPerHost"] else {
                if required { r.error("instancesPerHost", root, "\(kind.rawValue) needs instancesPerHost", allowed: "1 to 256") }
                return nil
            }
            return r.int(n, at: "instancesPerHost", in: 1...256)
        }
        if kind == .CREATE {
            guard let sn = f["spec"] else {
                r.error("spec", root, "CREATE needs a spec", allowed: "a LocalServiceSpec")
                throw refusal(r)
            }
            let perHost = count(false) ?? 1
            guard let whole = try? JSONValue.parse(body), let specValue = whole["spec"] else { throw OperationRefusal(["spec: not a JSON object"]) }
            guard let spec = DroveApplicationSpec.read(sn, r, "spec", json: specValue.data(), allowedMountDirs: options.allowedMountDirs,
                                                       localService: true), !r.hasErrors else { throw refusal(r) }
            if Self.isHostLevel(spec.placementPolicy) && perHost != 1 {
                r.error("instancesPerHost", f["instancesPerHost"] ?? root, value: String(perHost),
                        "a host-level local service (placementPolicy LOCAL with hostLevel: true) binds each port on the host at its own number, so one instance per host is all that fits",
                        allowed: "1")
                throw refusal(r)
            }
            if services[spec.appId] != nil { throw OperationRefusal(["local service \(spec.appId) exists; a spec is immutable: create \(spec.name) under a new version"], status: 409) }
            let stored: JSONValue
            do throws(SecretError) { stored = try sealed(specValue) { Self.serviceContext(spec.appId, $0) } } catch {
                throw OperationRefusal(["cannot seal the spec's secrets: \(error.message)"], status: 500)
            }
            let now = Self.nowMillis()
            let record = LocalServiceRecord(serviceId: spec.appId, spec: stored, instancesPerHost: perHost, activationState: .INACTIVE,
                                            created: now, updated: now, corral: .init(state: .INACTIVE, operation: nil))
            guard let fence = await leadership.fence() else { throw OperationRefusal(["this controller is no longer the leader"], status: 503) }
            do throws(ClusterStore.StoreError) { try await store.create(service: record, fence: fence) } catch {
                throw OperationRefusal([error.code == .exists ? "local service \(spec.appId) exists" : error.message], status: error.code == .exists ? 409 : 503)
            }
            services[spec.appId] = Service(record: record, version: 0, spec: spec, openSpec: specValue)
            serviceInstances[spec.appId] = [:]
            recordServiceEvent(services[spec.appId]!)
            logger.info("local service created", metadata: ["serviceId": "\(spec.appId)", "instancesPerHost": "\(perHost)"])
            return spec.appId
        }
        guard let sn = f["serviceId"], let serviceId = r.string(sn, at: "serviceId", nonEmpty: true) else {
            if f["serviceId"] == nil { r.error("serviceId", root, "\(kind.rawValue) needs a serviceId", allowed: "a local service's id, name-version") }
            throw refusal(r)
        }
        guard var s = services[serviceId] else { throw OperationRefusal(["no local service \(serviceId)"], status: 404) }
        let active = activeServiceInstances(serviceId)
        let state = s.record.corral.state
        func requireState(_ allowed: [LocalServiceRecord.State]) throws(OperationRefusal) {
            guard allowed.contains(state) else {
                throw OperationRefusal(["\(kind.rawValue) is not allowed while \(serviceId) is \(state.rawValue); allowed in \(allowed.map(\.rawValue).joined(separator: ", "))"])
            }
        }
        var ids: [String] = []
        if [.REPLACE_INSTANCES, .STOP_INSTANCES].contains(kind) {
            if let n = f["instanceIds"], let list = r.stringList(n, at: "instanceIds") { ids = list }
            let known = Set(active.map(\.instanceId))
            let unknown = ids.filter { !known.contains($0) }
            if kind == .STOP_INSTANCES && ids.isEmpty {
                r.error("instanceIds", f["instanceIds"] ?? root, "STOP_INSTANCES needs at least one instance id", allowed: "ids of the service's instances")
            } else if !unknown.isEmpty {
                r.error("instanceIds", f["instanceIds"]!, value: unknown.joined(separator: ","), "\(unknown.joined(separator: ", ")) not running instances of \(serviceId)",
                        allowed: known.isEmpty ? "none: the service has no running instance" : known.sorted().joined(separator: ", "))
            }
            if ids.isEmpty { ids = known.sorted() }
        }
        // A host-level instance's replacement needs the ports the old one holds: the old goes first.
        let stopFirst = (f["stopFirst"].flatMap { r.bool($0, at: "stopFirst") } ?? false) || Self.isHostLevel(s.spec.placementPolicy)
        var perHost: Int?
        if kind == .UPDATE_INSTANCE_COUNT {
            perHost = count(true)
            if let n = perHost, n != 1, Self.isHostLevel(s.spec.placementPolicy) {
                r.error("instancesPerHost", f["instancesPerHost"]!, value: String(n),
                        "\(serviceId) is host-level (placementPolicy LOCAL with hostLevel: true): its ports are bound at their own numbers, one instance per host",
                        allowed: "1")
            }
        }
        if r.hasErrors { throw refusal(r) }
        let now = Self.nowMillis()
        switch kind {
        case .CREATE: break
        case .ACTIVATE:
            try requireState([.INACTIVE, .CONFIG_TESTING])
            if let why = s.unrecoverable { throw OperationRefusal(["\(serviceId) cannot start instances: \(why); create it again under a new version"]) }
            s.record.activationState = .ACTIVE
            s.record.corral = .init(state: .ACTIVE, operation: nil)
        case .DEPLOY_TEST_INSTANCE:
            try requireState([.INACTIVE])
            s.record.activationState = .CONFIG_TESTING
            s.record.corral = .init(state: .CONFIG_TESTING, operation: nil)
        case .DEACTIVATE:
            try requireState([.ACTIVE, .CONFIG_TESTING, .REPLACING_INSTANCES, .STOPPING_INSTANCES])
            s.record.activationState = .INACTIVE
            s.record.corral = .init(state: .INACTIVE, operation: nil)
        case .UPDATE_INSTANCE_COUNT:
            s.record.instancesPerHost = perHost ?? s.record.instancesPerHost
        case .RESTART, .REPLACE_INSTANCES:
            try requireState([.ACTIVE, .CONFIG_TESTING])
            let targets = kind == .RESTART ? active.map(\.instanceId).sorted() : ids
            s.record.corral = .init(state: .REPLACING_INSTANCES,
                                    operation: .init(kind: kind, instanceIds: targets, stopFirst: stopFirst, parallelism: opSpec.parallelism, started: now))
        case .STOP_INSTANCES:
            try requireState([.ACTIVE, .CONFIG_TESTING])
            s.record.corral = .init(state: .STOPPING_INSTANCES,
                                    operation: .init(kind: kind, instanceIds: ids, stopFirst: true, parallelism: max(ids.count, 1), started: now))
        case .DESTROY:
            try requireState([.INACTIVE])
            guard active.isEmpty else {
                throw OperationRefusal(["\(serviceId) still has \(active.count) instance\(active.count == 1 ? "" : "s") stopping; destroy it once they are gone"])
            }
            guard let fence = await leadership.fence() else { throw OperationRefusal(["this controller is no longer the leader"], status: 503) }
            do throws(ClusterStore.StoreError) { try await store.delete(service: serviceId, version: s.version, fence: fence) } catch {
                throw OperationRefusal([error.message], status: 503)
            }
            recordServiceEvent(s, state: LocalServiceRecord.State.DESTROYED.rawValue)
            services[serviceId] = nil
            serviceInstances[serviceId] = nil
            oldServiceInstances[serviceId] = nil
            logger.info("local service destroyed", metadata: ["serviceId": "\(serviceId)"])
            return serviceId
        }
        s.record.updated = now
        try await save(&s)
        notifyChange()
        return serviceId
    }

    /// Cancels the operation in flight (what was replaced or stopped stays so).
    func cancelServiceOperation(_ serviceId: String) async throws(OperationRefusal) {
        guard var s = services[serviceId] else { throw OperationRefusal(["no local service \(serviceId)"], status: 404) }
        guard s.record.corral.operation != nil else { throw OperationRefusal(["\(serviceId) has no operation running"]) }
        s.record.corral = .init(state: LocalServiceRecord.resting(s.record.activationState), operation: nil)
        s.record.updated = Self.nowMillis()
        try await save(&s)
    }

    /// Writes the service's record at its version.
    func save(_ s: inout Service) async throws(OperationRefusal) {
        guard let fence = await leadership.fence() else { throw OperationRefusal(["this controller is no longer the leader"], status: 503) }
        do throws(ClusterStore.StoreError) {
            s.version = try await store.update(service: s.record, version: s.version, fence: fence)
        } catch {
            throw OperationRefusal([error.message], status: 503)
        }
        let changed = services[s.record.serviceId]?.record.corral.state != s.record.corral.state
        services[s.record.serviceId] = s
        if changed { recordServiceEvent(s) }
    }

    // MARK: Keeping services at their count

    func activeServiceInstances(_ serviceId: String) -> [DroveLocalServiceInstanceInfo] {
        (serviceInstances[serviceId] ?? [:]).values.filter { !Self.isTerminal(state: $0.state) }.sorted { $0.created < $1.created }
    }

    /// The executors a service's instances go to (placement LOCAL: all).
    func serviceExecutors(_ s: Service) -> [ExecutorNodeData] {
        let policy = Self.servicePolicy(s.spec.placementPolicy)
        return executors.values.filter { d in
            policy.admits(.init(hostname: d.hostname, tags: Set(d.tags), metadata: d.metadata, instancesOfApp: 0))
        }.sorted { $0.state.executorId < $1.state.executorId }
    }

    /// Drove's host-level local service: host port = container port.
    static func isHostLevel(_ p: PlacementPolicy) -> Bool {
        if case .local(hostLevel: true) = p { return true }
        return false
    }

    static func servicePolicy(_ p: PlacementPolicy) -> PlacementPolicy {
        if case .local = p { return .any }
        return p
    }

    /// Starts and stops instances so every service has what its activation
    /// and operation ask for. Runs with the monitor (every second) on the leader.
    func reconcileServices() {
        let now = ContinuousClock.now
        for (sid, s) in services.sorted(by: { $0.key < $1.key }) {
            let active = activeServiceInstances(sid)
            var byExecutor: [String: [DroveLocalServiceInstanceInfo]] = [:]
            for i in active { byExecutor[i.executorId, default: []].append(i) }
            let op = s.record.corral.operation
            let targetIds = Set(op?.instanceIds ?? [])
            let inFlight = active.filter { serviceStopping.contains($0.instanceId) }.count
            var budget = max((op?.parallelism ?? 64) - inFlight, 0)
            func stop(_ i: DroveLocalServiceInstanceInfo) {
                guard !serviceStopping.contains(i.instanceId), let e = executors[i.executorId] else { return }
                serviceStopping.insert(i.instanceId)
                Task { await self.sendServiceStop(sid, i, e) }
            }
            func start(on e: ExecutorNodeData) {
                let key = "\(sid)/\(e.state.executorId)"
                if let until = serviceRetryAt[key], now < until { return }
                startServiceInstance(sid, on: e)
            }
            switch s.record.activationState {
            case .INACTIVE:
                for i in active { stop(i) }
            case .CONFIG_TESTING:
                if active.isEmpty, let e = serviceExecutors(s).first(where: { effectiveState($0).takesNewWork }) { start(on: e) }
                for i in active.dropFirst() { stop(i) }
            case .ACTIVE:
                for e in serviceExecutors(s) {
                    let here = byExecutor[e.state.executorId] ?? []
                    let olds = here.filter { targetIds.contains($0.instanceId) }
                    let fresh = here.filter { !targetIds.contains($0.instanceId) && !serviceStopping.contains($0.instanceId) }
                    let want = s.record.instancesPerHost
                    if op?.kind == .STOP_INSTANCES || op?.stopFirst == true {
                        for i in olds where budget > 0 && !serviceStopping.contains(i.instanceId) { stop(i); budget -= 1 }
                    }
                    if effectiveState(e).takesNewWork && op?.kind != .STOP_INSTANCES {
                        let holding = fresh.count + (op?.stopFirst == false ? 0 : olds.count)
                        for _ in 0..<max(want - holding, 0) { start(on: e) }
                    }
                    if op?.stopFirst == false, fresh.filter({ $0.state == InstanceState.HEALTHY.rawValue }).count >= want {
                        for i in olds where budget > 0 && !serviceStopping.contains(i.instanceId) { stop(i); budget -= 1 }
                    }
                    // Too many (the count went down): the newest go.
                    if op == nil, fresh.count > want {
                        for i in fresh.suffix(fresh.count - want) { stop(i) }
                    }
                }
            }
            // The operation is done once none of its instances runs.
            if let op, !active.contains(where: { targetIds.contains($0.instanceId) }) {
                finishServiceOperation(sid, op)
            }
        }
    }

    func finishServiceOperation(_ sid: String, _ op: LocalServiceRecord.Operation) {
        Task {
            guard var s = self.services[sid], s.record.corral.operation == op else { return }
            s.record.corral = .init(state: LocalServiceRecord.resting(s.record.activationState), operation: nil)
            s.record.updated = Self.nowMillis()
            do throws(OperationRefusal) { try await self.save(&s) } catch {
                self.logger.warning("cannot record the end of a local service operation", metadata: ["serviceId": "\(sid)", "error": "\(error.message)"])
            }
        }
    }

    /// Books, records and starts one instance of a service on one executor.
    func startServiceInstance(_ sid: String, on e: ExecutorNodeData) {
        guard let s = services[sid] else { return }
        let iid = "SI-" + UUID().uuidString.lowercased()
        let eid = e.state.executorId
        let request = ClusterScheduler.Request(appId: Self.serviceBooking(sid), resources: s.spec.resources, policy: Self.servicePolicy(s.spec.placementPolicy))
        let placement: ClusterScheduler.Placement
        do throws(ClusterScheduler.Refusal) { placement = try scheduler.place(request, id: iid, on: eid) } catch {
            serviceRetryAt["\(sid)/\(eid)"] = .now + .seconds(5)
            logger.warning("cannot place a local service instance", metadata: ["serviceId": "\(sid)", "executor": "\(e.hostname):\(e.port)", "reason": "\(error.message)"])
            return
        }
        let now = Self.nowMillis()
        let nodes = scheduler[eid]?.allocator.resources.nodes ?? []
        let base = DroveInstanceInfo(appId: sid, appName: s.spec.name, instanceId: iid, executorId: eid,
                                     localInfo: .init(hostname: e.hostname, ports: [:]), resources: Self.droveAllocations(placement.allocation, nodes: nodes),
                                     state: InstanceState.PENDING.rawValue, created: now, updated: now)
        let info = DroveLocalServiceInstanceInfo(base)
        serviceInstances[sid, default: [:]][iid] = info
        pending[iid] = Pending(appId: Self.serviceBooking(sid), executorId: eid, allocation: placement.allocation, since: .now)
        recordServiceInstanceEvent(info)
        var spec: [String: JSONValue] = ["serviceId": .string(sid), "serviceName": .string(s.spec.name), "instanceId": .string(iid),
                                         "hostLevelInstance": .bool(Self.isHostLevel(s.spec.placementPolicy))]
        for k in ["executable", "volumes", "configs", "healthcheck", "readiness", "env", "args", "devices", "preShutdown", "userSpec"] {
            if let v = s.openSpec[k] { spec[k] = v }
        }
        if let ports = s.openSpec["exposedPorts"] { spec["ports"] = ports }
        if let logging = s.openSpec["logging"] { spec["loggingSpec"] = logging }
        spec["resources"] = Self.resourceSpec(placement.allocation, nodes: nodes, request: s.spec.resources)
        let payload = JSONValue.object(spec)
        Task {
            guard let fence = await self.leadership.fence() else { return }
            do throws(ClusterStore.StoreError) { try await self.store.put(serviceInstance: info, fence: fence) } catch {
                self.finishServiceInstance(sid, iid, state: .START_FAILED, error: "cannot record the instance: \(error.message)")
                return
            }
            let outcome = await self.messenger.send(.START_LOCAL_SERVICE_INSTANCE, payload: ["spec": payload], executor: e)
            if outcome.status != .ACCEPTED {
                let why = outcome.notStarted(on: e.hostname, port: e.port)
                if outcome.unanswered {
                    // It may run there (see startInstance): its executor's node data decides.
                    self.logger.warning("a local service instance start got no answer; it counts as starting until its executor shows it or the start grace ends",
                                        metadata: ["serviceId": "\(sid)", "instanceId": "\(iid)", "reason": "\(why)"])
                    self.pending[iid]?.unanswered = why
                    return
                }
                self.serviceStartFailed(sid, iid, eid, why)
            }
        }
    }

    func serviceStartFailed(_ sid: String, _ iid: String, _ eid: String, _ why: String) {
        serviceRetryAt["\(sid)/\(eid)"] = .now + .seconds(5)
        logger.warning("local service instance start refused", metadata: ["serviceId": "\(sid)", "instanceId": "\(iid)", "reason": "\(why)"])
        finishServiceInstance(sid, iid, state: .START_FAILED, error: why)
    }

    func sendServiceStop(_ sid: String, _ i: DroveLocalServiceInstanceInfo, _ e: ExecutorNodeData) async {
        let outcome = await messenger.send(.STOP_LOCAL_SERVICE_INSTANCE, payload: ["instanceId": .string(i.instanceId)], executor: e)
        if outcome.status == .FAILED, serviceInstances[sid]?[i.instanceId] != nil {
            finishServiceInstance(sid, i.instanceId, state: .STOPPED, error: outcome.message ?? "")
        } else if outcome.status == nil {
            // Not delivered: asked again at the next round.
            serviceStopping.remove(i.instanceId)
        }
        notifyChange()
    }

    // MARK: What executors show and report

    func observeServiceInstances(_ d: ExecutorNodeData) {
        let eid = d.state.executorId
        let seen = Set(d.serviceInstances.map(\.instanceId))
        for si in d.serviceInstances where services[si.serviceId] != nil {
            pending[si.instanceId] = nil
            updateServiceInstance(si)
        }
        let now = ContinuousClock.now
        for (sid, byId) in serviceInstances {
            for (iid, info) in byId where info.executorId == eid && !seen.contains(iid) && !Self.isTerminal(state: info.state) {
                if let p = pending[iid], now - p.since < Self.startGrace { continue }
                if info.updated >= d.updated { continue }
                pending[iid] = nil
                let stopped = serviceStopping.contains(iid) || InstanceState(rawValue: info.state)?.isStopping == true
                finishServiceInstance(sid, iid, state: stopped ? .STOPPED : .LOST, error: stopped ? (info.errorMessage ?? "") : "the executor no longer runs it")
            }
        }
    }

    /// An executor's report on one local service instance.
    func reportServiceInstance(_ info: DroveLocalServiceInstanceInfo) {
        guard loaded, serviceInstances[info.serviceId]?[info.instanceId] != nil else { return }
        if let s = InstanceState(rawValue: info.state), s.isTerminal {
            finishServiceInstance(info.serviceId, info.instanceId, state: s, error: info.errorMessage ?? "", from: info)
        } else {
            updateServiceInstance(info)
        }
        notifyChange()
    }

    func updateServiceInstance(_ info: DroveLocalServiceInstanceInfo) {
        let old = serviceInstances[info.serviceId]?[info.instanceId]
        if let old, Self.isTerminal(state: old.state) { return }
        if old == nil, oldServiceInstances[info.serviceId]?.contains(where: { $0.instanceId == info.instanceId }) == true { return }
        var merged = info
        if let old { merged.created = min(old.created, info.created) }
        serviceInstances[info.serviceId, default: [:]][info.instanceId] = merged
        if old?.state != merged.state || old?.localInfo != merged.localInfo {
            let store = self.store, leadership = self.leadership, record = merged
            Task {
                guard let fence = await leadership.fence() else { return }
                try? await store.put(serviceInstance: record, fence: fence)
            }
        }
        if old?.state != merged.state { recordServiceInstanceEvent(merged) }
    }

    func finishServiceInstance(_ sid: String, _ iid: String, state: InstanceState, error: String, from info: DroveLocalServiceInstanceInfo? = nil) {
        guard let known = serviceInstances[sid]?[iid] else { return }
        var last = info ?? known
        last.state = state.rawValue
        if !error.isEmpty { last.errorMessage = error }
        last.updated = Self.nowMillis()
        serviceInstances[sid]?[iid] = nil
        serviceStopping.remove(iid)
        pending[iid] = nil
        scheduler.release(iid, on: last.executorId, appId: Self.serviceBooking(sid))
        var list = oldServiceInstances[sid, default: []]
        list.insert(last, at: 0)
        if list.count > max(options.maxStaleInstancesCount, 1) { list.removeLast(list.count - max(options.maxStaleInstancesCount, 1)) }
        oldServiceInstances[sid] = list
        if state == .START_FAILED || state.isFailure { serviceRetryAt["\(sid)/\(last.executorId)"] = .now + .seconds(5) }
        recordServiceInstanceEvent(last)
        let store = self.store, leadership = self.leadership
        Task {
            guard let fence = await leadership.fence() else { return }
            try? await store.remove(serviceInstance: sid, iid, fence: fence)
        }
    }

    // MARK: Views

    func serviceSummary(_ sid: String) -> DroveAPI.LocalServiceSummary? {
        guard let s = services[sid] else { return nil }
        let running = activeServiceInstances(sid)
        return DroveAPI.LocalServiceSummary(
            id: sid, name: s.spec.name, instancesPerHost: s.record.instancesPerHost,
            healthyInstances: running.filter { $0.state == InstanceState.HEALTHY.rawValue }.count,
            totalCPUs: s.spec.resources.cpus * running.count, totalMemory: (s.spec.resources.memoryBytes >> 20) * UInt64(running.count),
            tags: s.spec.tags, activationState: s.record.activationState.rawValue, state: s.record.corral.state.rawValue,
            created: s.record.created, updated: s.record.updated, operation: s.record.corral.operation?.kind.rawValue)
    }

    func serviceSummaries() -> [String: DroveAPI.LocalServiceSummary] {
        var out: [String: DroveAPI.LocalServiceSummary] = [:]
        for id in services.keys { out[id] = serviceSummary(id) }
        return out
    }

    func serviceSpec(_ sid: String) -> JSONValue? { services[sid].map { Self.redacted($0.record.spec) } }

    func serviceInstanceList(_ sid: String) -> [DroveLocalServiceInstanceInfo]? {
        guard services[sid] != nil else { return nil }
        return (serviceInstances[sid] ?? [:]).values.sorted { $0.created < $1.created }.map(\.forAPI)
    }

    func oldServiceInstanceList(_ sid: String) -> [DroveLocalServiceInstanceInfo]? {
        guard services[sid] != nil else { return nil }
        return (oldServiceInstances[sid] ?? []).map(\.forAPI)
    }

    func serviceInstance(_ sid: String, _ iid: String) -> DroveLocalServiceInstanceInfo? {
        if let i = serviceInstances[sid]?[iid] { return i.forAPI }
        return oldServiceInstances[sid]?.first { $0.instanceId == iid }.map(\.forAPI)
    }

    var serviceCount: (all: Int, active: Int) {
        (services.count, services.values.filter { $0.record.activationState != .INACTIVE }.count)
    }

    // MARK: Events

    func recordServiceEvent(_ s: Service, state: String? = nil) {
        events.record(.LOCAL_SERVICE_STATE_CHANGE, [
            "SERVICE_ID": .string(s.record.serviceId), "SERVICE_NAME": .string(s.spec.name), "SERVICE_VERSION": .string(s.spec.version),
            "INSTANCES_PER_HOST": .number(Double(s.record.instancesPerHost)), "ACTIVATION_STATE": .string(s.record.activationState.rawValue),
            "CURRENT_STATE": .string(state ?? s.record.corral.state.rawValue),
        ])
    }

    func recordServiceInstanceEvent(_ i: DroveLocalServiceInstanceInfo) {
        var m: [String: JSONValue] = ["SERVICE_ID": .string(i.serviceId), "SERVICE_NAME": .string(i.serviceName), "INSTANCE_ID": .string(i.instanceId),
                                      "EXECUTOR_ID": .string(i.executorId), "EXECUTOR_HOST": .string(i.localInfo.hostname),
                                      "CURRENT_STATE": .string(i.state), "CREATED": .number(Double(i.created))]
        if let e = i.errorMessage, !e.isEmpty { m["ERROR"] = .string(e) }
        events.record(.LOCAL_SERVICE_INSTANCE_STATE_CHANGE, m)
    }
}

extension DroveLocalServiceInstanceInfo {
    var forAPI: DroveLocalServiceInstanceInfo {
        var i = self
        i.errorMessage = i.errorMessage ?? ""
        return i
    }
}
