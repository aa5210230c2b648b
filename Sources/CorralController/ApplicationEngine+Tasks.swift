import CorralCore
import CorralExecutor
import Foundation

/// Tasks through the controller: placed like instances, recorded before they
/// are started, followed through the executors' node data and state reports,
/// kept with their result until deleted.
extension ApplicationEngine {
    /// A task as the leader keeps it: its record (the spec sealed, as in ZooKeeper).
    struct TaskEntry {
        var record: ClusterStore.TaskRecord
    }

    static func taskKey(_ source: String, _ id: String) -> String { "\(source)/\(id)" }
    static func taskBooking(_ key: String) -> String { "task:" + key }

    func loadTasks() async {
        tasks = [:]
        for r in (try? await store.loadTasks()) ?? [] {
            tasks[Self.taskKey(r.info.sourceAppName, r.info.taskId)] = TaskEntry(record: r)
        }
    }

    static func taskEnvContext(_ source: String, _ id: String, _ key: String) -> String { "task \(source)/\(id) env \(key)" }

    /// `POST /apis/v1/tasks/operations`: CREATE (a TaskSpec) or KILL. Returns the task's cluster id.
    func acceptTask(_ body: Data) async throws(OperationRefusal) -> String {
        guard leading, loaded else { throw OperationRefusal(["this controller is not leading yet; try again"], status: 503) }
        guard !inMaintenance else { throw OperationRefusal([Self.maintenanceRefusal]) }
        let (rootNode, issue) = JSONTree.parse(body, file: "task operation")
        if let issue { throw OperationRefusal([issue.message]) }
        let r = ConfigReader(file: "task operation", environment: [:])
        r.stringsAreTyped = true
        guard let root = rootNode, let f = r.mapping(root, at: "", known: ["type", "spec", "opSpec", "sourceAppName", "taskId"]) else { throw refusal(r) }
        let type = f["type"].flatMap { r.string($0, at: "type") }?.uppercased()
        _ = ClusterOpSpec.read(f["opSpec"], r, "opSpec", defaults: .init())
        switch type {
        case "CREATE":
            guard let sn = f["spec"] else {
                r.error("spec", root, "CREATE needs a spec", allowed: "a TaskSpec")
                throw refusal(r)
            }
            guard let whole = try? JSONValue.parse(body), let specValue = whole["spec"] else { throw OperationRefusal(["spec: not a JSON object"]) }
            guard let spec = DroveTaskSpec.read(sn, r, "spec", json: specValue.data(), allowedMountDirs: options.allowedMountDirs), !r.hasErrors else {
                throw refusal(r)
            }
            return try await createTask(spec, specValue)
        case "KILL":
            guard let s = f["sourceAppName"].flatMap({ r.string($0, at: "sourceAppName", nonEmpty: true) }),
                  let t = f["taskId"].flatMap({ r.string($0, at: "taskId", nonEmpty: true) }) else {
                if f["sourceAppName"] == nil { r.error("sourceAppName", root, "KILL needs sourceAppName", allowed: "the task's source app") }
                if f["taskId"] == nil { r.error("taskId", root, "KILL needs taskId", allowed: "the task's id") }
                throw refusal(r)
            }
            try await killTask(s, t)
            return "\(s)-\(t)"
        default:
            r.error("type", f["type"] ?? root, value: type, type == nil ? "a task operation needs a type" : "\"\(type!)\" is not a task operation", allowed: "CREATE, KILL")
            throw refusal(r)
        }
    }

    /// Places, records and starts a task; `runJob`: a `corral run --cluster`
    /// job, started with Corral's START_RUN_JOB (the executor builds its spec).
    func createTask(_ spec: DroveTaskSpec, _ specValue: JSONValue, runJob: RemoteRunJob? = nil) async throws(OperationRefusal) -> String {
        let key = Self.taskKey(spec.sourceAppName, spec.taskId)
        if tasks[key] != nil {
            throw OperationRefusal(["task \(spec.taskId) of \(spec.sourceAppName) exists; a task id is unique per source app (delete the finished one first)"], status: 409)
        }
        guard let fence = await leadership.fence() else { throw OperationRefusal(["this controller is no longer the leader"], status: 503) }
        let booking = Self.taskBooking(key)
        let placement: ClusterScheduler.Placement
        do throws(ClusterScheduler.Refusal) {
            placement = try scheduler.place(.init(appId: "task:" + spec.sourceAppName, resources: spec.resources, policy: spec.placementPolicy), id: booking)
        } catch {
            throw OperationRefusal(["cannot place task \(spec.taskId): \(error.message)"])
        }
        guard let executor = executors[placement.executorId] else {
            scheduler.release(booking, on: placement.executorId, appId: "task:" + spec.sourceAppName)
            throw OperationRefusal(["the chosen executor left; try again"], status: 503)
        }
        let nodes = scheduler[placement.executorId]?.allocator.resources.nodes ?? []
        let now = Self.nowMillis()
        let executable = specValue["executable"].map { e in
            DroveTaskInfo.Executable(type: e["type"]?.string ?? "DOCKER", url: e["url"]?.string ?? e["command"]?.array?.first?.string ?? "")
        }
        let info = DroveTaskInfo(sourceAppName: spec.sourceAppName, taskId: spec.taskId, instanceId: "TI-" + UUID().uuidString.lowercased(),
                                 executorId: placement.executorId, hostname: executor.hostname, executable: executable,
                                 resources: Self.droveAllocations(placement.allocation, nodes: nodes),
                                 state: TaskState.PENDING.rawValue, errorMessage: "", created: now, updated: now)
        let stored: JSONValue
        do throws(SecretError) { stored = try sealed(specValue) { Self.taskEnvContext(spec.sourceAppName, spec.taskId, $0) } } catch {
            scheduler.release(booking, on: placement.executorId, appId: "task:" + spec.sourceAppName)
            throw OperationRefusal(["cannot seal the task's env values: \(error.message)"], status: 500)
        }
        let record = ClusterStore.TaskRecord(info: info, spec: stored)
        do throws(ClusterStore.StoreError) { try await store.create(task: record, fence: fence) } catch {
            scheduler.release(booking, on: placement.executorId, appId: "task:" + spec.sourceAppName)
            throw OperationRefusal([error.code == .exists ? "task \(spec.taskId) of \(spec.sourceAppName) exists" : error.message],
                                   status: error.code == .exists ? 409 : 503)
        }
        tasks[key] = TaskEntry(record: record)
        recordTaskEvent(info)
        pending[booking] = Pending(appId: "task:" + spec.sourceAppName, executorId: placement.executorId, allocation: placement.allocation, since: .now)
        var out: [String: JSONValue] = ["sourceAppName": .string(spec.sourceAppName), "taskId": .string(spec.taskId), "instanceId": .string(info.instanceId)]
        for k in ["executable", "volumes", "configs", "env", "args", "devices", "userSpec"] { if let v = specValue[k] { out[k] = v } }
        if let l = specValue["logging"] { out["loggingSpec"] = l }
        out["resources"] = Self.resourceSpec(placement.allocation, nodes: nodes, request: spec.resources)
        let outcome: ExecutorMessenger.Outcome
        if let runJob, let job = (try? JSONEncoder().encode(runJob)).flatMap({ try? JSONValue.parse($0) }) {
            outcome = await messenger.send(.START_RUN_JOB, payload: ["job": job, "instanceId": .string(info.instanceId), "resources": out["resources"] ?? .array([])],
                                           executor: executor)
        } else {
            outcome = await messenger.send(.START_TASK, payload: ["spec": .object(out)], executor: executor)
        }
        if outcome.status != .ACCEPTED {
            let why = outcome.notStarted(on: executor.hostname, port: executor.port)
            if outcome.unanswered {
                // It may run there (see startInstance): its executor's node data decides.
                logger.warning("a task start got no answer; it counts as starting until its executor shows it or the start grace ends",
                               metadata: ["task": "\(key)", "reason": "\(why)"])
                return "\(spec.sourceAppName)-\(spec.taskId)"
            }
            endTask(key, state: .STOPPED, result: .init(status: "FAILED", exitCode: -1), error: why)
            throw OperationRefusal([why], status: 503)
        }
        logger.info("task started", metadata: ["task": "\(key)", "executor": "\(executor.hostname):\(executor.port)"])
        return "\(spec.sourceAppName)-\(spec.taskId)"
    }

    func killTask(_ source: String, _ id: String) async throws(OperationRefusal) {
        let key = Self.taskKey(source, id)
        guard let t = tasks[key] else { throw OperationRefusal(["no task \(id) of \(source)"], status: 404) }
        guard !(TaskState(rawValue: t.record.info.state)?.isTerminal ?? false) else { throw OperationRefusal(["task \(id) of \(source) has ended (\(t.record.info.state))"]) }
        guard let executor = executors[t.record.info.executorId] else {
            endTask(key, state: .LOST, result: .init(status: "LOST", exitCode: -1), error: "its executor is gone")
            return
        }
        let outcome = await messenger.send(.STOP_TASK, payload: ["instanceId": .string(t.record.info.instanceId), "taskId": .string(id),
                                                                 "sourceAppName": .string(source)], executor: executor)
        if outcome.status != .ACCEPTED, outcome.status != .HANDLED {
            throw OperationRefusal(["executor \(executor.hostname):\(executor.port) did not stop it: \(outcome.message ?? outcome.status?.rawValue ?? "unreachable")"], status: 503)
        }
    }

    /// What an executor shows or reports of a task.
    func observeTask(_ info: DroveTaskInfo) {
        guard loaded else { return }
        let key = Self.taskKey(info.sourceAppName, info.taskId)
        guard var t = tasks[key], !(TaskState(rawValue: t.record.info.state)?.isTerminal ?? false) else { return }
        pending[Self.taskBooking(key)] = nil
        let s = TaskState(rawValue: info.state)
        if s?.isTerminal == true {
            endTask(key, state: s!, result: info.taskResult, error: info.errorMessage ?? "", from: info)
            return
        }
        let changed = t.record.info.state != info.state
        var merged = info
        merged.created = t.record.info.created
        merged.errorMessage = info.errorMessage ?? ""
        t.record.info = merged
        tasks[key] = t
        if changed {
            persistTask(t.record)
            recordTaskEvent(merged)
        }
    }

    func endTask(_ key: String, state: TaskState, result: DroveTaskInfo.Result?, error: String, from info: DroveTaskInfo? = nil) {
        guard var t = tasks[key] else { return }
        var last = info ?? t.record.info
        last.created = t.record.info.created
        last.state = state.rawValue
        last.taskResult = result ?? last.taskResult ?? .init(status: state == .LOST ? "LOST" : "FAILED", exitCode: -1)
        last.errorMessage = error.isEmpty ? (last.errorMessage ?? "") : error
        last.updated = Self.nowMillis()
        t.record.info = last
        tasks[key] = t
        pending[Self.taskBooking(key)] = nil
        scheduler.release(Self.taskBooking(key), on: last.executorId, appId: "task:" + last.sourceAppName)
        persistTask(t.record)
        recordTaskEvent(last)
        logger.info("task ended", metadata: ["task": "\(key)", "state": "\(state.rawValue)", "result": "\(last.taskResult?.status ?? "?")"])
    }

    func persistTask(_ r: ClusterStore.TaskRecord) {
        let store = self.store, leadership = self.leadership
        Task {
            guard let fence = await leadership.fence() else { return }
            try? await store.put(task: r, fence: fence)
        }
    }

    /// Tasks an executor stopped showing without a final report, and ones it
    /// never showed. A snapshot (the executor's node data, its `updated` on the
    /// executor's clock) taken before the task's last report proves nothing:
    /// node data and reports travel apart.
    func sweepTasks(on executorId: String?, shown: Set<String>) {
        let now = ContinuousClock.now
        for (key, t) in tasks where !(TaskState(rawValue: t.record.info.state)?.isTerminal ?? false) {
            guard executorId == nil || t.record.info.executorId == executorId else { continue }
            if shown.contains(key) { continue }
            if let p = pending[Self.taskBooking(key)], now - p.since < Self.startGrace { continue }
            // The executor's last snapshot: one it has not published (it is
            // away: sweepMissingExecutors decides) or one older than the task's
            // last report proves nothing.
            guard let snapshot = executors[t.record.info.executorId] else { continue }
            if t.record.info.updated >= snapshot.updated { continue }
            if executorId == nil && snapshot.tasks.contains(where: { Self.taskKey($0.sourceAppName, $0.taskId) == key }) { continue }
            endTask(key, state: .LOST, result: .init(status: "LOST", exitCode: -1), error: "its executor no longer runs it; its result is unknown")
        }
    }

    // MARK: Views

    var activeTasks: [DroveTaskInfo] {
        tasks.values.map(\.record.info).filter { !(TaskState(rawValue: $0.state)?.isTerminal ?? false) }.sorted { $0.created < $1.created }
    }

    func task(_ source: String, _ id: String) -> DroveTaskInfo? { tasks[Self.taskKey(source, id)]?.record.info }

    /// Deletes a finished task's record (`DELETE /tasks/<app>/instances/<id>`).
    func deleteTask(_ source: String, _ id: String) async throws(OperationRefusal) {
        let key = Self.taskKey(source, id)
        guard let t = tasks[key] else { throw OperationRefusal(["no task \(id) of \(source)"], status: 404) }
        guard TaskState(rawValue: t.record.info.state)?.isTerminal ?? false else { throw OperationRefusal(["task \(id) of \(source) is still \(t.record.info.state); kill it first"]) }
        guard let fence = await leadership.fence() else { throw OperationRefusal(["this controller is no longer the leader"], status: 503) }
        do throws(ClusterStore.StoreError) { try await store.remove(task: source, id, fence: fence) } catch { throw OperationRefusal([error.message], status: 503) }
        tasks[key] = nil
    }
}
