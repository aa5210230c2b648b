import CorralCore
import CorralExecutor
import Foundation

extension ApplicationEngine {
    func startDriver(_ appId: String) {
        guard leading, apps[appId]?.driver == nil else { return }
        apps[appId]?.driver = Task { await self.drive(appId) }
    }

    /// Carries out the app's persisted operation until its goal holds, it is
    /// cancelled or it times out. Every step is recomputed from what the
    /// executors show, so a driver resumed by a new leader does only what is
    /// still missing.
    func drive(_ appId: String) async {
        defer { apps[appId]?.driver = nil }
        while !Task.isCancelled, leading {
            guard let app = apps[appId], let op = app.record.corral.operation else { return }
            if app.cancelRequested {
                // A cancelled scale stops where it is: what runs now is what is expected.
                if [.SCALE, .START_INSTANCES, .SUSPEND, .RECOVER].contains(op.kind) {
                    apps[appId]?.record.instances = activeInstances(appId).count
                }
                await end(appId, outcome: "\(op.kind.rawValue) cancelled")
                return
            }
            let deadline = op.started + Int64(op.opSpec.timeoutSeconds * 1000)
            if Self.nowMillis() > deadline {
                if op.opSpec.failureStrategy == .ROLLBACK && op.kind == .SCALE && op.previousInstances != op.requiredInstances {
                    logger.warning("operation timed out; rolling back", metadata: ["appId": "\(appId)", "to": "\(op.previousInstances)"])
                    var a = app
                    a.record.instances = op.previousInstances
                    a.record.corral.operation = .init(id: UUID().uuidString.lowercased(), kind: .SCALE,
                                                      opSpec: .init(timeoutSeconds: op.opSpec.timeoutSeconds, parallelism: op.opSpec.parallelism),
                                                      requiredInstances: op.previousInstances, previousInstances: op.previousInstances,
                                                      started: Self.nowMillis())
                    do throws(OperationRefusal) { try await save(&a) } catch { return }
                    apps[appId]?.record = a.record
                    apps[appId]?.version = a.version
                    continue
                }
                await end(appId, outcome: "\(op.kind.rawValue) timed out after \(Int(op.opSpec.timeoutSeconds)) s")
                return
            }
            let finished: Bool
            switch op.kind {
            case .SCALE, .START_INSTANCES, .SUSPEND, .RECOVER:
                finished = await scaleStep(appId, target: op.requiredInstances ?? app.record.instances, parallelism: op.opSpec.parallelism)
            case .STOP_INSTANCES:
                let ids = Set(op.instanceIds ?? [])
                let running = (instances[appId] ?? [:]).values.filter { ids.contains($0.instanceId) }
                for i in running where !stopping.contains(i.instanceId) { await stop(i) }
                finished = running.isEmpty
            case .REPLACE_INSTANCES:
                finished = await replaceStep(appId, op)
            case .DESTROY:
                await destroy(appId)
                return
            case .CREATE:
                finished = true
            }
            if finished {
                await end(appId, outcome: "\(op.kind.rawValue) done")
                return
            }
            await waitForChange()
        }
    }

    /// One step towards `target` running instances, all HEALTHY; true when there.
    func scaleStep(_ appId: String, target: Int, parallelism: Int) async -> Bool {
        let active = activeInstances(appId)
        let healthy = active.filter { $0.state == InstanceState.HEALTHY.rawValue }
        let starting = active.count - healthy.count
        if active.count < target {
            let n = min(target - active.count, max(0, parallelism - starting))
            if n > 0, await backOff(appId) { await startInstances(appId, count: n) }
            return false
        }
        if active.count > target {
            // Not yet healthy ones first, then any.
            let order = active.sorted { a, b in
                (a.state == InstanceState.HEALTHY.rawValue ? 1 : 0, a.created) < (b.state == InstanceState.HEALTHY.rawValue ? 1 : 0, b.created)
            }
            for i in order.prefix(active.count - target) { await stop(i) }
            return false
        }
        let stoppingNow = (instances[appId] ?? [:]).values.contains { stopping.contains($0.instanceId) }
        return healthy.count == target && !stoppingNow
    }

    /// After instances of an app ended on their own, the next start waits
    /// (0.5 s doubling to 30 s) so a spec that cannot run does not spin.
    /// False when the app's operation changed meanwhile.
    func backOff(_ appId: String) async -> Bool {
        let n = failures[appId] ?? 0
        guard n > 0 else { return true }
        let delay = min(30.0, 0.5 * pow(2.0, Double(min(n - 1, 6))))
        let op = apps[appId]?.record.corral.operation?.id
        try? await Task.sleep(for: .seconds(delay))
        return !Task.isCancelled && apps[appId]?.record.corral.operation?.id == op && apps[appId]?.cancelRequested == false
    }

    func replaceStep(_ appId: String, _ op: ApplicationRecord.Operation) async -> Bool {
        guard var app = apps[appId] else { return true }
        let olds = Set(op.instanceIds ?? [])
        var done = Set(op.done ?? [])
        let current = instances[appId] ?? [:]
        let remaining = olds.subtracting(done).filter { current[$0] != nil }.sorted()
        let batch = Array(remaining.prefix(max(1, op.opSpec.parallelism)))
        let expected = app.record.instances
        let fresh = activeInstances(appId).filter { !olds.contains($0.instanceId) }
        let freshHealthy = fresh.filter { $0.state == InstanceState.HEALTHY.rawValue }.count
        if remaining.isEmpty {
            return await scaleStep(appId, target: expected, parallelism: op.opSpec.parallelism)
        }
        if op.stopFirst == true {
            for id in batch { if let i = current[id], !stopping.contains(id) { await stop(i) } }
        } else {
            // Start the batch's replacements; stop the batch once they are HEALTHY.
            let want = expected - remaining.count + batch.count
            let freshActive = fresh.count
            if freshActive < want { await startInstances(appId, count: min(want - freshActive, op.opSpec.parallelism)) }
            if freshHealthy >= want {
                for id in batch { if let i = current[id] { await stop(i) } }
                done.formUnion(batch)
            }
        }
        for id in olds where current[id] == nil { done.insert(id) }
        if done != Set(op.done ?? []) {
            app.record.corral.operation?.done = done.sorted()
            do throws(OperationRefusal) { try await save(&app) } catch { return false }
            apps[appId]?.record = app.record
            apps[appId]?.version = app.version
        }
        return false
    }

    /// Ends the operation: the app settles at its expected count.
    func end(_ appId: String, outcome: String) async {
        guard var app = apps[appId] else { return }
        app.record.corral.operation = nil
        app.record.corral.state = .settled(expecting: app.record.instances)
        app.record.corral.lastOutcome = outcome
        app.record.updated = Self.nowMillis()
        app.cancelRequested = false
        do throws(OperationRefusal) { try await save(&app) } catch {
            logger.warning("cannot record the end of an operation", metadata: ["appId": "\(appId)", "error": "\(error.message)"])
            return
        }
        apps[appId]?.record = app.record
        apps[appId]?.version = app.version
        apps[appId]?.cancelRequested = false
        logger.info("operation ended", metadata: ["appId": "\(appId)", "outcome": "\(outcome)"])
    }

    func destroy(_ appId: String) async {
        guard let app = apps[appId], let fence = await leadership.fence() else { return }
        do throws(ClusterStore.StoreError) {
            try await store.delete(appId: appId, version: app.version, fence: fence)
        } catch {
            logger.warning("cannot destroy", metadata: ["appId": "\(appId)", "error": "\(error.message)"])
            await end(appId, outcome: "DESTROY failed: \(error.message)")
            return
        }
        recordAppEvent(app, state: "DESTROYED")
        apps[appId] = nil
        instances[appId] = nil
        old[appId] = nil
        logger.info("application destroyed", metadata: ["appId": "\(appId)"])
    }

    // MARK: Starting and stopping

    func startInstances(_ appId: String, count: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask { _ = await self.startInstance(appId) }
            }
        }
    }

    /// Places, records (before anything is sent) and starts one instance.
    func startInstance(_ appId: String) async -> Bool {
        guard let app = apps[appId], let fence = await leadership.fence() else { return false }
        let iid = "AI-" + UUID().uuidString.lowercased()
        let request = ClusterScheduler.Request(appId: appId, resources: app.spec.resources, policy: app.spec.placementPolicy)
        let placement: ClusterScheduler.Placement
        do throws(ClusterScheduler.Refusal) { placement = try scheduler.place(request, id: iid) } catch {
            if apps[appId]?.record.corral.lastOutcome != error.message {
                logger.warning("cannot place an instance", metadata: ["appId": "\(appId)", "reason": "\(error.message)"])
            }
            apps[appId]?.record.corral.lastOutcome = error.message
            return false
        }
        guard let executor = executors[placement.executorId] else {
            scheduler.release(iid, on: placement.executorId, appId: appId)
            return false
        }
        let now = Self.nowMillis()
        let nodes = scheduler[placement.executorId]?.allocator.resources.nodes ?? []
        let allocations = Self.droveAllocations(placement.allocation, nodes: nodes)
        let info = DroveInstanceInfo(appId: appId, appName: app.spec.name, instanceId: iid, executorId: placement.executorId,
                                     localInfo: .init(hostname: executor.hostname, ports: [:]), resources: allocations,
                                     state: InstanceState.PENDING.rawValue, created: now, updated: now)
        instances[appId, default: [:]][iid] = info
        recordInstanceEvent(info)
        pending[iid] = Pending(appId: appId, executorId: placement.executorId, allocation: placement.allocation, since: .now)
        do throws(ClusterStore.StoreError) { try await store.put(info, fence: fence) } catch {
            abandon(appId, iid, executorId: placement.executorId, error: "cannot record the instance: \(error.message)")
            return false
        }
        let spec = instanceSpec(app, instanceId: iid, allocation: placement.allocation, nodes: nodes)
        let outcome = await messenger.send(.START_INSTANCE, payload: ["spec": spec], executor: executor)
        if outcome.status == .ACCEPTED { return true }
        let why = outcome.notStarted(on: executor.hostname, port: executor.port)
        if outcome.unanswered {
            // The message may have got through (an answer too slow is retried,
            // and the executor takes a repeated START as the same one): the
            // instance stays booked and counted until its executor shows it
            // or the start grace ends. Giving it up now would leave it
            // running unknown, and a new leader would find one too many.
            logger.warning("an instance start got no answer; it counts as starting until its executor shows it or the start grace ends",
                           metadata: ["appId": "\(appId)", "instanceId": "\(iid)", "reason": "\(why)"])
            pending[iid]?.unanswered = why
            apps[appId]?.record.corral.lastOutcome = why
            return false
        }
        logger.warning("instance start refused", metadata: ["appId": "\(appId)", "instanceId": "\(iid)", "reason": "\(why)"])
        abandon(appId, iid, executorId: placement.executorId, error: why)
        return false
    }

    /// Gives up an instance that never started: its booking is freed and it moves to the old instances.
    func abandon(_ appId: String, _ iid: String, executorId: String, error: String) {
        pending[iid] = nil
        scheduler.release(iid, on: executorId, appId: appId)
        finish(appId: appId, iid, state: .START_FAILED, error: error)
        apps[appId]?.record.corral.lastOutcome = error
        notifyChange()
    }

    func stop(_ info: DroveInstanceInfo) async {
        guard let executor = executors[info.executorId] else {
            finish(appId: info.appId, info.instanceId, state: .LOST, error: "its executor is gone")
            return
        }
        stopping.insert(info.instanceId)
        logger.info("stopping an instance", metadata: ["appId": "\(info.appId)", "instanceId": "\(info.instanceId)", "state": "\(info.state)"])
        let outcome = await messenger.send(.STOP_INSTANCE, payload: ["instanceId": .string(info.instanceId)], executor: executor)
        if outcome.status == .FAILED, instances[info.appId]?[info.instanceId] != nil {
            // The executor does not run it (any more): it has ended.
            finish(appId: info.appId, info.instanceId, state: .STOPPED, error: outcome.message ?? "")
        }
        notifyChange()
    }

    // MARK: What an executor is sent

    /// Cores by NUMA node (keys as Drove writes them), split by the executor's nodes.
    static func coresByNode(_ a: Allocation, nodes: [NodeOffer]) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for n in nodes {
            let mine = n.cpus.intersection(a.cpus)
            if !mine.isEmpty { out[String(n.id)] = Array(mine).sorted() }
        }
        return out
    }

    static func droveAllocations(_ a: Allocation, nodes: [NodeOffer]) -> [DroveResources.Allocation] {
        var memory: [String: UInt64] = [:]
        for (n, b) in a.memoryByNode { memory[String(n)] = b >> 20 }
        return [.cpu(coresByNode(a, nodes: nodes)), .memory(memory)]
    }

    /// Drove's `ApplicationInstanceSpec` for one instance on its exact resources.
    func instanceSpec(_ app: App, instanceId: String, allocation: Allocation, nodes: [NodeOffer]) -> JSONValue {
        let s = app.openSpec
        var out: [String: JSONValue] = ["appId": .string(app.spec.appId), "appName": .string(app.spec.name), "instanceId": .string(instanceId)]
        for k in ["executable", "volumes", "configs", "healthcheck", "readiness", "env", "args", "devices", "preShutdown", "userSpec"] {
            if let v = s[k] { out[k] = v }
        }
        if let ports = s["exposedPorts"] { out["ports"] = ports }
        if let logging = s["logging"] { out["loggingSpec"] = logging }
        out["resources"] = Self.resourceSpec(allocation, nodes: nodes, request: app.spec.resources)
        return .object(out)
    }

    /// The `resources` of a spec sent to an executor: the exact cores and memory
    /// per NUMA node when pinned (Drove's CPUAllocation and MemoryAllocation),
    /// else the counts for the executor to place; GPUs as a count with the ids chosen.
    static func resourceSpec(_ allocation: Allocation, nodes: [NodeOffer], request: AllocationRequest) -> JSONValue {
        var resources: [JSONValue]
        if allocation.pinned && !allocation.cpus.isEmpty {
            var cores: [String: JSONValue] = [:], memory: [String: JSONValue] = [:]
            for (n, ids) in coresByNode(allocation, nodes: nodes) { cores[n] = .array(ids.map { .number(Double($0)) }) }
            for (n, b) in allocation.memoryByNode { memory[String(n)] = .number(Double(b >> 20)) }
            resources = [.object(["type": .string("CPU"), "cores": .object(cores)]),
                         .object(["type": .string("MEMORY"), "memoryInMB": .object(memory)])]
        } else {
            resources = [.object(["type": .string("CPU"), "count": .number(Double(request.cpus))]),
                         .object(["type": .string("MEMORY"), "sizeInMB": .number(Double(request.memoryBytes >> 20))])]
        }
        if request.gpus > 0 {
            var gpu: [String: JSONValue] = ["type": .string("GPU"), "count": .number(Double(request.gpus))]
            // The GPUs the scheduler chose, on the cores' NUMA node: the executor takes exactly these or refuses.
            if !allocation.gpus.isEmpty { gpu["gpus"] = .array(allocation.gpus.map { .number(Double($0)) }) }
            resources.append(.object(gpu))
        }
        return .array(resources)
    }

    // MARK: Monitor

    /// Executors that hold instances (or tasks) but have not had a node for `staleExecutorAge` are lost.
    func sweepMissingExecutors() {
        let now = ContinuousClock.now
        var holders = Set<String>()
        for byId in instances.values { for i in byId.values where !Self.isTerminal(i) { holders.insert(i.executorId) } }
        for t in tasks.values where !(TaskState(rawValue: t.record.info.state)?.isTerminal ?? false) { holders.insert(t.record.info.executorId) }
        for id in holders where executors[id] == nil {
            let since = missingSince[id] ?? now
            missingSince[id] = since
            if now - since >= options.staleExecutorAge.duration {
                executorLost(id, reason: "it has not registered for \(options.staleExecutorAge)")
            }
        }
    }

    /// Instances recorded as started that their executor never showed within the grace period.
    func expirePending() {
        let now = ContinuousClock.now
        for (iid, p) in pending where now - p.since >= Self.startGrace && !iid.hasPrefix("task:") {
            if let sid = Self.serviceId(ofBooking: p.appId) {
                let shown = executors[p.executorId]?.serviceInstances.contains { $0.instanceId == iid } ?? false
                pending[iid] = nil
                if !shown { finishServiceInstance(sid, iid, state: .LOST, error: "its executor never showed it running after the start" + (p.unanswered.map { " (\($0))" } ?? "")) }
                continue
            }
            let shown = executors[p.executorId]?.instances.contains { $0.instanceId == iid } ?? false
            if shown { pending[iid] = nil; continue }
            // Recorded past PENDING (by a leader before this one), it did run there and has ended unreported.
            let recorded = instances[p.appId]?[iid].flatMap { InstanceState(rawValue: $0.state) }
            if recorded?.isStopping == true || stopping.contains(iid) {
                finish(appId: p.appId, iid, state: .STOPPED, error: instances[p.appId]?[iid]?.errorMessage ?? "")
            } else {
                let never = "its executor never showed it running after the start" + (p.unanswered.map { " (\($0))" } ?? "")
                finish(appId: p.appId, iid, state: .LOST, error: recorded == .PENDING ? never : "the executor no longer runs it")
            }
            notifyChange()
        }
    }

    /// How many replacements a RECOVER starts at once at most.
    static let recoveryParallelism = 32

    /// Keeps every settled app at its expected count: a shortfall (lost or
    /// failed instances) or a surplus starts a RECOVER. Runs on the leader.
    func monitor() async {
        // In maintenance nothing is declared lost or replaced.
        guard leading, loaded, !inMaintenance else { return }
        expirePending()
        sweepTasks(on: nil, shown: [])
        sweepMissingExecutors()
        reconcileServices()
        for (appId, app) in apps where app.record.corral.operation == nil && app.driver == nil && app.unrecoverable == nil {
            guard [.RUNNING, .MONITORING].contains(app.record.corral.state) else { continue }
            let active = activeInstances(appId).count
            guard active != app.record.instances else { continue }
            var a = app
            // What ran before comes back at once (Drove recovers one at a time): the
            // missing instances start together, up to recoveryParallelism.
            let parallelism = max(1, options.clusterOpParallelism, min(abs(app.record.instances - active), Self.recoveryParallelism))
            a.record.corral.operation = .init(id: UUID().uuidString.lowercased(), kind: .RECOVER,
                                              opSpec: .init(timeoutSeconds: options.clusterOpTimeout.seconds, parallelism: parallelism),
                                              requiredInstances: app.record.instances, previousInstances: app.record.instances,
                                              started: Self.nowMillis())
            a.record.corral.state = .SCALING_REQUESTED
            do throws(OperationRefusal) { try await save(&a) } catch { continue }
            logger.info("recovering", metadata: ["appId": "\(appId)", "running": "\(active)", "expected": "\(app.record.instances)"])
            apps[appId]?.record = a.record
            apps[appId]?.version = a.version
            startDriver(appId)
        }
    }
}
