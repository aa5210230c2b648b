import CorralCore
import CorralEngines
import CorralHost
import CorralRuntime
import Foundation

/// The executor: the books (allocator and ports), the supervisors of every
/// workload, the engines and the state store, behind one actor.
///
/// On start it reconciles the state database with what the engines run:
/// - a live row whose workload still runs is adopted with its exact allocation
///   and resumes (instances re-run their readiness check, tasks wait for their end);
/// - a task that ended while the executor was down gets its recorded result;
/// - a live row whose workload is gone becomes LOST and frees its resources;
/// - a workload with Corral's labels (or state directory) that the database does
///   not know is stopped and removed, as Drove's reaper does: nothing runs
///   on this node's resources without being accounted for.
public actor Executor {
    public let config: ExecutorConfig
    public let resources: EffectiveResources
    public let hostname: String
    public let id: String
    public nonisolated let store: StateStore
    let broker: LocalResourceBroker
    public let engines: [String: any Engine]
    let logRoot: String
    let metrics: Metrics
    private var instances: [String: InstanceSupervisor] = [:]
    private var tasks: [String: TaskSupervisor] = [:]
    /// Latest info of every workload this executor knows (live and finished).
    private var known: [String: InstanceInfo] = [:]
    private var taskIDs: [String: String] = [:]  // taskId -> instanceId of the live task

    public init(config: ExecutorConfig, resources: EffectiveResources, hostname: String, stateDir: String,
                engines: [String: any Engine], withheld: CPUSet = CPUSet(), portRange: ClosedRange<Int> = 31_000...31_999,
                metrics: Metrics = Metrics()) throws(ExecutorError) {
        self.config = config
        self.metrics = metrics
        self.resources = resources
        self.hostname = hostname
        self.engines = engines
        store = try StateStore(directory: stateDir)
        broker = LocalResourceBroker(resources: resources, withheld: withheld, portRange: portRange)
        logRoot = config.logging.instanceLogs?.logPath ?? "\(stateDir)/logs"
        if let existing = store.meta("executor-id") {
            id = existing
        } else {
            id = "EX-" + UUID().uuidString.prefix(8).lowercased()
            try store.setMeta("executor-id", id)
        }
    }

    /// Where an instance's output goes: `logPath/<appId>/<instanceId>/output.log`
    /// (tasks: `<sourceAppName>/<taskId>`), rotated as the `drove` appender says.
    func sink(appId: String, instanceId: String) -> any LogSink {
        let appender = config.logging.instanceLogs ?? InstanceLogAppender()
        return InstanceLog(directory: "\(logRoot)/\(appId)/\(instanceId)", rotation: appender.rotation,
                           suffix: appender.archivedLogFileSuffix, timeZone: appender.common.timeZone.timeZone,
                           metrics: metrics)
    }

    func engine(for executable: Executable) throws(ExecutorError) -> any Engine {
        let name: String
        switch executable {
        case .docker: name = "docker"
        case .process: name = "process"
        }
        guard let e = engines[name] else {
            throw ExecutorError(.engineUnavailable, name == "docker"
                ? "this executor has no container engine (no Docker or Podman socket at \(config.options.dockerSocketPath))"
                : "this executor has no process engine")
        }
        return e
    }

    // MARK: Observing

    final class Recorder: InstanceObserver {
        let executor: Executor
        let spec: Data?
        init(_ executor: Executor, spec: Data?) { self.executor = executor; self.spec = spec }
        func changed(_ info: InstanceInfo) async { await executor.record(info, spec: spec) }
    }

    func record(_ info: InstanceInfo, spec: Data?) {
        let previous = known[info.instanceId]?.state
        known[info.instanceId] = info
        if previous != info.state {
            let kind = info.kind.rawValue
            switch info.state {
            case "STARTING": Task { await metrics.increment("corral_starts_total", ["kind": kind]) }
            case "PROVISIONING_FAILED", "START_FAILED", "RUN_FAILED", "LOST":
                Task { await metrics.increment("corral_failures_total", ["kind": kind, "state": info.state]) }
            case "UNHEALTHY", "READINESS_CHECK_FAILED":
                Task { await metrics.increment("corral_check_failures_total", ["state": info.state]) }
            default: break
            }
        }
        let terminal = info.state == "STOPPED" || info.state == "LOST"
        // The spec is written once, with the first row.
        try? store.save(info, terminal: terminal, spec: spec)
        if terminal {
            instances[info.instanceId] = nil
            tasks[info.instanceId] = nil
            if info.kind == .task { taskIDs = taskIDs.filter { $0.value != info.instanceId } }
        }
    }

    // MARK: Instances

    /// Reserves and starts an instance; returns once it is provisioned (or refused).
    public func startInstance(_ spec: InstanceSpec) async throws(ExecutorError) -> InstanceInfo {
        let instanceId = spec.instanceId ?? "AI-" + UUID().uuidString.lowercased()
        guard known[instanceId] == nil || known[instanceId]!.state == "STOPPED" || known[instanceId]!.state == "LOST" else {
            throw ExecutorError(.conflict, "instance \(instanceId) already exists", context: ["instanceId": instanceId])
        }
        let engine = try engine(for: spec.executable)
        let s = InstanceSupervisor(spec: spec, instanceId: instanceId, engine: engine, broker: broker,
                                   observer: Recorder(self, spec: StateStore.redacted(spec)),
                                   output: sink(appId: spec.appId, instanceId: instanceId), executorHost: hostname)
        instances[instanceId] = s
        if let e = await s.provision() {
            instances[instanceId] = nil
            throw ExecutorError(.doesNotFit, e.message, context: ["instanceId": instanceId])
        }
        Task { await s.run() }
        return await s.info
    }

    public func stopInstance(_ id: String) async throws(ExecutorError) -> InstanceInfo {
        guard let s = instances[id] else {
            if let k = known[id] { return k }
            throw ExecutorError(.notFound, "no instance \(id)", context: ["instanceId": id])
        }
        Task { await s.stop() }
        return await s.info
    }

    // MARK: Tasks

    public func startTask(_ spec: TaskSpec) async throws(ExecutorError) -> InstanceInfo {
        if let live = taskIDs[spec.taskId] {
            throw ExecutorError(.conflict, "task \(spec.taskId) is already running (instance \(live))",
                                context: ["taskId": spec.taskId])
        }
        let engine = try engine(for: spec.executable)
        let instanceId = "TI-" + UUID().uuidString.lowercased()
        let t = TaskSupervisor(spec: spec, instanceId: instanceId, engine: engine, broker: broker,
                               observer: Recorder(self, spec: StateStore.redacted(spec)),
                               output: sink(appId: spec.sourceAppName, instanceId: spec.taskId), executorHost: hostname)
        tasks[instanceId] = t
        taskIDs[spec.taskId] = instanceId
        if let e = await t.provision() {
            tasks[instanceId] = nil
            taskIDs[spec.taskId] = nil
            throw ExecutorError(.doesNotFit, e.message, context: ["taskId": spec.taskId])
        }
        Task { await t.run() }
        return await t.info
    }

    /// The newest task with this taskId.
    public func task(_ taskId: String) -> InstanceInfo? {
        if let live = taskIDs[taskId], let k = known[live] { return k }
        return known.values.filter { $0.kind == .task && $0.taskId == taskId }.max { $0.created < $1.created }
    }

    public func cancelTask(_ taskId: String) async throws(ExecutorError) -> InstanceInfo {
        guard let instanceId = taskIDs[taskId], let t = tasks[instanceId] else {
            if let k = task(taskId) { return k }
            throw ExecutorError(.notFound, "no task \(taskId)", context: ["taskId": taskId])
        }
        return await t.cancel()
    }

    // MARK: Queries

    public func list(kind: WorkloadKind? = nil, state: String? = nil) -> [InstanceInfo] {
        known.values.filter { (kind == nil || $0.kind == kind) && (state == nil || $0.state == state) }
            .sorted { $0.created < $1.created }
    }

    public func get(_ id: String) -> InstanceInfo? { known[id] }

    /// The log directory of an instance (by instance id) or task (by taskId or instance id).
    public func logDirectory(_ id: String) -> String? {
        if let i = known[id] {
            return i.kind == .task ? "\(logRoot)/\(i.appId)/\(i.taskId ?? id)" : "\(logRoot)/\(i.appId)/\(id)"
        }
        if let t = task(id) { return "\(logRoot)/\(t.appId)/\(id)" }
        return nil
    }

    /// Whether the workload (instance id or taskId) has reached its end.
    public func isFinished(_ id: String) -> Bool {
        let info = known[id] ?? task(id)
        return info.map { $0.state == "STOPPED" || $0.state == "LOST" } ?? true
    }

    public struct Summary: Sendable, Encodable {
        public struct Node: Sendable, Encodable {
            public var id: Int
            public var cpus: String
            public var freeCpus: String
            public var usedCpus: Int
            public var memoryBytes: UInt64
            public var freeMemoryBytes: UInt64
            public var gpus: [Int]
        }
        public var id: String
        public var hostname: String
        public var tags: [String]
        public var mode: String
        public var numaPolicy: String
        public var totalCpus: Int
        public var freeCpus: Int
        public var totalMemoryBytes: UInt64
        public var numaNodes: [Node]
        public var engines: [String: Bool]
        public var instances: [String: Int]
        public var topology: String
    }

    public func summary() async -> Summary {
        let alloc = await broker.allocator
        var engineHealth: [String: Bool] = [:]
        for (name, e) in engines { engineHealth[name] = await e.ping() }
        var counts: [String: Int] = [:]
        for i in known.values { counts[i.state, default: 0] += 1 }
        let nodes = resources.nodes.map { n in
            Summary.Node(id: n.id, cpus: n.cpus.listString, freeCpus: n.cpus.intersection(alloc.freeCPUs).listString,
                         usedCpus: n.cpus.subtracting(alloc.freeCPUs).count, memoryBytes: n.memoryBytes,
                         freeMemoryBytes: alloc.freeMemory[n.id] ?? 0, gpus: n.gpus)
        }
        let t = resources.topology
        return Summary(id: id, hostname: hostname, tags: resources.tags, mode: resources.mode.rawValue,
                       numaPolicy: resources.numaPolicy.rawValue, totalCpus: resources.totalCPUs,
                       freeCpus: alloc.isPinned ? alloc.freeCPUs.count : alloc.freeCPUCount,
                       totalMemoryBytes: resources.totalMemoryBytes, numaNodes: nodes, engines: engineHealth,
                       instances: counts,
                       topology: "\(t.packages.count) packages, \(t.numaNodes.count) NUMA nodes, \(t.cores.count) cores, \(t.usableCPUs.count) CPUs")
    }

    public var storeWritable: Bool { store.isWritable() }

    /// Gauges for /metrics: workloads by state, CPUs and memory per NUMA node.
    public func gauges() async -> [(name: String, help: String, samples: [(labels: [String: String], value: Double)])] {
        let alloc = await broker.allocator
        var byState: [String: Int] = [:]
        for i in known.values { byState["\(i.kind.rawValue)/\(i.state)", default: 0] += 1 }
        let states = byState.sorted { $0.key < $1.key }.map { k, v -> (labels: [String: String], value: Double) in
            let parts = k.split(separator: "/")
            return (["kind": String(parts[0]), "state": String(parts[1])], Double(v))
        }
        var cpus: [(labels: [String: String], value: Double)] = []
        var memory: [(labels: [String: String], value: Double)] = []
        for n in resources.nodes {
            let free = n.cpus.intersection(alloc.freeCPUs).count
            cpus.append((["node": String(n.id), "use": "free"], Double(free)))
            cpus.append((["node": String(n.id), "use": "allocated"], Double(n.cpus.count - free)))
            let freeMem = alloc.freeMemory[n.id] ?? 0
            memory.append((["node": String(n.id), "use": "free"], Double(freeMem)))
            memory.append((["node": String(n.id), "use": "allocated"], Double(n.memoryBytes - freeMem)))
        }
        return [("corral_workloads", "Workloads by kind and state", states),
                ("corral_cpus", "Offered CPUs per NUMA node, free and allocated", cpus),
                ("corral_memory_bytes", "Offered memory per NUMA node, free and allocated", memory)]
    }
    public var brokerState: LocalResourceBroker { broker }

    // MARK: Recovery

    public struct RecoveryReport: Sendable, Encodable {
        public var adopted: [String] = []
        public var lost: [String] = []
        public var finished: [String] = []
        public var reaped: [String] = []
    }

    /// Reconciles the state database with what the engines run (see the type's documentation).
    public func recover() async throws(ExecutorError) -> RecoveryReport {
        var report = RecoveryReport()
        let rows = try store.load(liveOnly: false)
        for r in rows { known[r.info.instanceId] = r.info }
        var running: [String: DiscoveredWorkload] = [:]
        for (_, e) in engines {
            for d in (try? await e.discover()) ?? [] { running[d.handle.instanceID] = d }
        }
        for row in rows where !row.terminal {
            let info = row.info
            guard let allocation = info.allocation, let handle = info.handle, let engine = engines[info.engine] else {
                // It never got as far as the engine: nothing runs, nothing is held.
                var lost = info
                lost.state = "LOST"
                lost.lastError = "the executor stopped before it started"
                record(lost, spec: nil)
                report.lost.append(info.instanceId)
                continue
            }
            let found = running.removeValue(forKey: info.instanceId)
            let output = sink(appId: info.appId, instanceId: info.instanceId)
            if info.kind == .application, let specData = row.spec,
               let spec = try? JSONDecoder().decode(InstanceSpec.self, from: specData) {
                let s = InstanceSupervisor(adopting: spec, instanceId: info.instanceId, allocation: allocation, ports: info.ports,
                                           handle: found?.handle ?? handle, engine: engine, broker: broker,
                                           observer: Recorder(self, spec: nil), output: output, executorHost: hostname)
                if let found, found.running, (try? await broker.adopt(allocation, ports: Array(info.ports.values))) != nil {
                    instances[info.instanceId] = s
                    try? await engine.reattach(found.handle, output: output)
                    Task { await s.resume() }
                    report.adopted.append(info.instanceId)
                } else {
                    if let found { try? await engine.remove(found.handle) }
                    await s.markLost("gone while the executor was down")
                    report.lost.append(info.instanceId)
                }
            } else if info.kind == .task, let specData = row.spec,
                      let spec = try? JSONDecoder().decode(TaskSpec.self, from: specData) {
                let t = TaskSupervisor(adopting: spec, instanceId: info.instanceId, allocation: allocation,
                                       handle: found?.handle ?? handle, engine: engine, broker: broker,
                                       observer: Recorder(self, spec: nil), output: output, executorHost: hostname)
                if found != nil, (try? await broker.adopt(allocation, ports: [])) != nil {
                    tasks[info.instanceId] = t
                    taskIDs[spec.taskId] = info.instanceId
                    if found!.running {
                        try? await engine.reattach(found!.handle, output: output)
                        report.adopted.append(info.instanceId)
                    } else {
                        report.finished.append(info.instanceId)
                    }
                    Task { await t.resume() }
                } else {
                    await t.markLost("gone while the executor was down")
                    report.lost.append(info.instanceId)
                }
            }
        }
        // Left over: Corral's labels, unknown to the database. Reaped.
        for (_, d) in running {
            guard let engine = engines[d.handle.engine] else { continue }
            try? await engine.stop(d.handle, grace: .seconds(5))
            try? await engine.remove(d.handle)
            report.reaped.append(d.handle.instanceID)
        }
        return report
    }
}
