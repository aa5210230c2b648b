import CorralCore
import CorralEngines
import CorralHost
import CorralRuntime
import Foundation
import Logging

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
    public let engines: [EngineKind: any Engine]
    let logRoot: String
    let metrics: Metrics
    let logger: Logger
    /// Runs the supervisors' long-lived work; part of the executor's ServiceGroup.
    public nonisolated let workloads = WorkloadTasks()
    /// State writes that failed since start (each is logged and counted).
    public private(set) var stateWriteFailures = 0
    private var instances: [String: InstanceSupervisor] = [:]
    private var tasks: [String: TaskSupervisor] = [:]
    /// Latest info of every workload this executor knows (live and finished).
    private var known: [String: InstanceInfo] = [:]
    private var taskIDs: [String: String] = [:]  // taskId -> instanceId of the live task
    /// The specs of the workloads this run knows (for the cluster's view of them).
    private var instanceSpecs: [String: InstanceSpec] = [:]
    private var taskSpecs: [String: TaskSpec] = [:]
    /// What `resources.metadata`' providers publish (node data, /apis/v1/executor).
    public private(set) var metadata: [String: String] = [:]
    /// ACTIVE, or blacklisted by the cluster (kept across restarts).
    public private(set) var clusterState: ExecutorNodeData.State = .ACTIVE
    private var subscribers: [Int: AsyncStream<ExecutorChange>.Continuation] = [:]
    private var nextSubscriber = 0

    public init(config: ExecutorConfig, resources: EffectiveResources, hostname: String, stateDir: String,
                engines: [EngineKind: any Engine], withheld: CPUSet = CPUSet(), portRange: ClosedRange<Int> = 31_000...31_999,
                metrics: Metrics = Metrics(), logger: Logger = Logger(label: "corral.executor")) throws(ExecutorError) {
        self.config = config
        self.metrics = metrics
        self.logger = logger
        self.resources = resources
        self.hostname = hostname
        self.engines = engines
        store = try StateStore(directory: stateDir)
        broker = LocalResourceBroker(resources: resources, withheld: withheld, portRange: portRange)
        logRoot = config.logging.instanceLogs?.logPath ?? "\(stateDir)/logs"
        if let saved = store.meta("cluster-state"), let state = ExecutorNodeData.State(rawValue: saved) {
            clusterState = state
        }
        if let existing = store.meta("executor-id") {
            id = existing
        } else {
            id = "EX-" + UUID().uuidString.prefix(8).lowercased()
            try store.setMeta("executor-id", id)
        }
    }

    /// Where a workload's logs live: `logPath/<appId>/<instanceId>` for
    /// instances, `logPath/<sourceAppName>/<taskId>` for tasks (as Drove lays them out).
    func logDirectory(appId: String, kind: WorkloadKind, instanceId: String, taskId: String?) -> String {
        "\(logRoot)/\(appId)/\(kind == .task ? taskId ?? instanceId : instanceId)"
    }

    /// Where a workload's output goes (`output.log` in its log directory),
    /// rotated as the `drove` appender says.
    func sink(appId: String, kind: WorkloadKind, instanceId: String, taskId: String?) -> any LogSink {
        let appender = config.logging.instanceLogs ?? InstanceLogAppender()
        return InstanceLog(directory: logDirectory(appId: appId, kind: kind, instanceId: instanceId, taskId: taskId),
                           rotation: appender.rotation,
                           suffix: appender.archivedLogFileSuffix, timeZone: appender.common.timeZone.timeZone,
                           metrics: metrics)
    }

    func engine(for executable: Executable) throws(ExecutorError) -> any Engine {
        let kind = executable.engineKind
        guard let e = engines[kind] else {
            throw ExecutorError(.engineUnavailable, kind == .docker
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
        for s in subscribers.values { s.yield(.workload(info)) }
        if previous != info.state { count(info) }
        // The spec is written once, with the first row.
        do {
            try store.save(info, terminal: info.state.isTerminal, spec: spec)
        } catch {
            stateWriteFailures += 1
            metrics.increment(.stateWriteFailures)
            logger.error("state write failed: the database does not have this change",
                         metadata: ["instanceId": "\(info.instanceId)", "state": "\(info.state)", "error": "\(error.message)"])
        }
        if info.state.isTerminal {
            instances[info.instanceId] = nil
            tasks[info.instanceId] = nil
            if info.kind == .task { taskIDs = taskIDs.filter { $0.value != info.instanceId } }
        }
    }

    /// Counts a new state: starts, failures, failed checks.
    private func count(_ info: InstanceInfo) {
        let kind = info.kind.rawValue
        switch info.state {
        case .instance(.STARTING), .task(.STARTING):
            metrics.increment(.starts, [("kind", kind)])
        case .instance(.UNHEALTHY), .instance(.READINESS_CHECK_FAILED):
            metrics.increment(.checkFailures, [("state", info.state.name)])
        case let s where s.isFailure:
            metrics.increment(.failures, [("kind", kind), ("state", s.name)])
        default:
            break
        }
    }

    // MARK: Instances

    // MARK: Cluster

    /// Every change from now on: each workload state, and the cluster state.
    /// `coalescing`: only the newest change waits while the subscriber is
    /// busy (enough to know that something changed).
    public func changes(coalescing: Bool = false) -> AsyncStream<ExecutorChange> {
        let (stream, sink) = AsyncStream.makeStream(of: ExecutorChange.self,
                                                    bufferingPolicy: coalescing ? .bufferingNewest(1) : .unbounded)
        nextSubscriber += 1
        let id = nextSubscriber
        subscribers[id] = sink
        sink.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: Int) { subscribers[id] = nil }

    /// Blacklists (or returns to ACTIVE): a blacklisted executor starts
    /// nothing new; what runs keeps running.
    public func setClusterState(_ state: ExecutorNodeData.State) {
        guard state != clusterState else { return }
        clusterState = state
        do { try store.setMeta("cluster-state", state.rawValue) } catch {
            logger.error("cannot keep the cluster state across restarts", metadata: ["error": "\(error.message)"])
        }
        logger.notice("cluster state is now \(state.rawValue)")
        for s in subscribers.values { s.yield(.clusterState(state)) }
    }

    /// New metadata from the providers; subscribers hear of it when it differs.
    public func setMetadata(_ values: [String: String]) {
        guard values != metadata else { return }
        metadata = values
        for s in subscribers.values { s.yield(.metadata) }
    }

    private func requireActive(_ what: String) throws(ExecutorError) {
        guard clusterState.takesNewWork else {
            throw ExecutorError(.blacklisted, "this executor is \(clusterState.rawValue): it starts no new \(what)",
                                context: ["executorState": clusterState.rawValue])
        }
    }

    /// The executor as Drove's controllers read it from ZooKeeper.
    public func nodeData(port: Int, transport: String = "HTTP", executorId: String) async -> ExecutorNodeData {
        let alloc = await broker.allocator
        let live = known.values.filter { !$0.state.isTerminal }.sorted { $0.created < $1.created }
        let all = live.filter { $0.kind == .application }.map {
            DroveInstanceInfo($0, spec: instanceSpecs[$0.instanceId], executorId: executorId, hostname: hostname, resources: resources)
        }
        let instances = all.filter { !isLocalService($0.instanceId) }
        let services = all.filter { isLocalService($0.instanceId) }.map(DroveLocalServiceInstanceInfo.init)
        let tasks = live.filter { $0.kind == .task }.map {
            DroveTaskInfo($0, spec: taskSpecs[$0.instanceId], executorId: executorId, hostname: hostname, resources: resources)
        }
        var gpus: [String: [Int]] = [:], l3: [String: [String]] = [:], cores: [String: [String]] = [:]
        let physical = resources.topology.cores
        for n in resources.nodes {
            if !n.gpus.isEmpty { gpus[String(n.id)] = n.gpus }
            let coreSets = physical.map { $0.cpus.intersection(n.cpus) }.filter { !$0.isEmpty }
            if !coreSets.isEmpty { cores[String(n.id)] = coreSets.map(\.listString) }
            let groups = resources.topology.l3Groups.sorted { $0.key < $1.key }.map { $0.value.intersection(n.cpus) }.filter { !$0.isEmpty }
            if !groups.isEmpty { l3[String(n.id)] = groups.map(\.listString) }
        }
        var workloadGPUs: [String: [Int]] = [:]
        for w in live { if let g = w.allocation?.gpus, !g.isEmpty { workloadGPUs[w.instanceId] = g } }
        var tags = resources.tags
        if !tags.contains(hostname) { tags.insert(hostname, at: 0) }
        return ExecutorNodeData(
            hostname: hostname, port: port, transportType: transport, updated: Int64(Date().timeIntervalSince1970 * 1000),
            state: DroveResources.snapshot(executorId: executorId, resources: resources, allocator: alloc),
            instances: instances, tasks: tasks, serviceInstances: services, tags: tags, metadata: metadata,
            executorState: clusterState,
            corral: .init(gpus: gpus, l3Groups: l3, numaPolicy: resources.numaPolicy.rawValue, mode: resources.mode.rawValue,
                          coreGroups: cores, fullPhysicalCores: resources.fullPhysicalCores, workloadGPUs: workloadGPUs.isEmpty ? nil : workloadGPUs))
    }

    /// The resource snapshot alone (for state reports).
    public func resourceSnapshot(executorId: String) async -> DroveResources.Snapshot {
        DroveResources.snapshot(executorId: executorId, resources: resources, allocator: await broker.allocator)
    }

    public func instanceSpec(_ id: String) -> InstanceSpec? { instanceSpecs[id] }

    /// `corral run`'s desk, when this executor serves its socket (jobs the
    /// leader places here go through it too).
    public private(set) var runDesk: RunDesk?
    public func serveRuns(_ desk: RunDesk) { runDesk = desk }

    /// Whether the instance (or task instance) `id` is being started or runs
    /// here: a controller's START for it again is the same message retried.
    public func isLive(_ id: String) -> Bool {
        instances[id] != nil || tasks[id] != nil || known[id].map { !$0.state.isTerminal } ?? false
    }

    /// Whether the instance was started as a Drove local service instance.
    public func isLocalService(_ id: String) -> Bool {
        instanceSpecs[id]?.tags.contains(DroveSpecTranslator.localServiceTag) ?? false
    }
    public func taskSpec(_ id: String) -> TaskSpec? { taskSpecs[id] }

    /// Reserves and starts an instance; returns once it is provisioned (or
    /// refused). With `exact`, the instance gets exactly those resources or is
    /// refused (a controller's placement).
    public func startInstance(_ spec: InstanceSpec, exact: Allocation? = nil) async throws(ExecutorError) -> InstanceInfo {
        try requireActive("instances")
        var spec = spec
        if spec.user == nil { spec.user = config.options.defaultUserSpec }
        let instanceId = spec.instanceId ?? "AI-" + UUID().uuidString.lowercased()
        guard known[instanceId].map({ $0.state.isTerminal }) ?? true else {
            throw ExecutorError(.conflict, "instance \(instanceId) already exists", context: ["instanceId": instanceId])
        }
        let engine = try engine(for: spec.executable)
        let chosen: any ResourceBroker = exact.map { ExactResourceBroker(base: broker, allocation: $0) } ?? broker
        instanceSpecs[instanceId] = spec
        let s = InstanceSupervisor(spec: spec, instanceId: instanceId, engine: engine, broker: chosen,
                                   observer: Recorder(self, spec: StateStore.redacted(spec)),
                                   output: sink(appId: spec.appId, kind: .application, instanceId: instanceId, taskId: nil),
                                   executorHost: hostname)
        instances[instanceId] = s
        if let e = await s.provision() {
            instances[instanceId] = nil
            throw ExecutorError(.doesNotFit, e.message, context: ["instanceId": instanceId])
        }
        workloads.submit { await s.run() }
        return await s.info
    }

    public func stopInstance(_ id: String) async throws(ExecutorError) -> InstanceInfo {
        guard let s = instances[id] else {
            if let k = known[id] { return k }
            throw ExecutorError(.notFound, "no instance \(id)", context: ["instanceId": id])
        }
        workloads.submit { await s.stop() }
        return await s.info
    }

    // MARK: Tasks

    /// Starts a task; `watcher` also gets its output as it comes (a `corral run` client).
    public func startTask(_ spec: TaskSpec, instanceId given: String? = nil, exact: Allocation? = nil,
                          watcher: (any LogSink)? = nil) async throws(ExecutorError) -> InstanceInfo {
        try requireActive("tasks")
        var spec = spec
        // A `corral run` job runs as its caller, never as the default user.
        if spec.user == nil, spec.job == nil { spec.user = config.options.defaultUserSpec }
        if let live = taskIDs[spec.taskId] {
            throw ExecutorError(.conflict, "task \(spec.taskId) is already running (instance \(live))",
                                context: ["taskId": spec.taskId])
        }
        let engine = try engine(for: spec.executable)
        let instanceId = given ?? "TI-" + UUID().uuidString.lowercased()
        guard known[instanceId].map({ $0.state.isTerminal }) ?? true else {
            throw ExecutorError(.conflict, "task instance \(instanceId) already exists", context: ["instanceId": instanceId])
        }
        let chosen: any ResourceBroker = exact.map { ExactResourceBroker(base: broker, allocation: $0) } ?? broker
        taskSpecs[instanceId] = spec
        let log = sink(appId: spec.sourceAppName, kind: .task, instanceId: instanceId, taskId: spec.taskId)
        let t = TaskSupervisor(spec: spec, instanceId: instanceId, engine: engine, broker: chosen,
                               observer: Recorder(self, spec: StateStore.redacted(spec)),
                               output: watcher.map { TeeSink(log: log, watcher: $0) } ?? log,
                               executorHost: hostname)
        tasks[instanceId] = t
        taskIDs[spec.taskId] = instanceId
        if let e = await t.provision() {
            tasks[instanceId] = nil
            taskIDs[spec.taskId] = nil
            throw ExecutorError(.doesNotFit, e.message, context: ["taskId": spec.taskId])
        }
        workloads.submit { await t.run() }
        return await t.info
    }

    /// The supervisor of a live task instance.
    public func taskSupervisor(_ instanceId: String) -> TaskSupervisor? { tasks[instanceId] }

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
        // A corral run job's stop: its grace, then both cleanup hooks (RunJob.stopBound).
        return await t.cancel(grace: taskSpecs[instanceId]?.job?.stopBound ?? .seconds(5))
    }

    // MARK: Queries

    public func list(kind: WorkloadKind? = nil, state: WorkloadState? = nil) -> [InstanceInfo] {
        known.values.filter { (kind == nil || $0.kind == kind) && (state == nil || $0.state == state) }
            .sorted { $0.created < $1.created }
    }

    public func get(_ id: String) -> InstanceInfo? { known[id] }

    /// The log directory of an instance (by instance id) or task (by taskId or instance id).
    public func logDirectory(_ id: String) -> String? {
        guard let i = known[id] ?? task(id) else { return nil }
        return logDirectory(appId: i.appId, kind: i.kind, instanceId: i.instanceId, taskId: i.taskId)
    }

    /// The log directory of a workload of `appId` (its source app for a task), as Drove's filestream API names it.
    public func logDirectory(appId: String, id: String) -> String? {
        guard let i = known[id] ?? task(id), i.appId == appId else { return nil }
        return logDirectory(appId: i.appId, kind: i.kind, instanceId: i.instanceId, taskId: i.taskId)
    }

    /// Whether the workload (instance id or taskId) has reached its end.
    public func isFinished(_ id: String) -> Bool {
        let info = known[id] ?? task(id)
        return info?.state.isTerminal ?? true
    }

    public struct Summary: Sendable, Codable {
        public struct Node: Sendable, Codable {
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
        /// ACTIVE, BLACKLIST_REQUESTED or BLACKLISTED.
        public var executorState: String = ExecutorNodeData.State.ACTIVE.rawValue
        /// Cluster membership, when the executor is in a cluster.
        public var cluster: ClusterStatus? = nil
        /// What the metadata providers publish.
        public var metadata: [String: String] = [:]
    }

    public func summary() async -> Summary {
        let alloc = await broker.allocator
        var engineHealth: [String: Bool] = [:]
        for (kind, e) in engines { engineHealth[kind.rawValue] = await e.ping() }
        var counts: [String: Int] = [:]
        for i in known.values { counts[i.state.name, default: 0] += 1 }
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
                       topology: "\(t.packages.count) packages, \(t.numaNodes.count) NUMA nodes, \(t.cores.count) cores, \(t.usableCPUs.count) CPUs",
                       executorState: clusterState.rawValue, metadata: metadata)
    }

    public var storeWritable: Bool { store.isWritable() }

    /// Sets the /metrics gauges from the books: workloads by kind and state
    /// (every state, zero included), CPUs and memory per NUMA node.
    public func recordGauges(into metrics: Metrics) async {
        let alloc = await broker.allocator
        var byState: [WorkloadState: Int] = [:]
        for i in known.values { byState[i.state, default: 0] += 1 }
        let every = InstanceState.allCases.map(\.workloadState) + TaskState.allCases.map(\.workloadState)
        for s in every {
            metrics.set(.workloads, [("kind", s.kind.rawValue), ("state", s.name)], Double(byState[s] ?? 0))
        }
        for n in resources.nodes {
            let free = n.cpus.intersection(alloc.freeCPUs).count
            metrics.set(.cpus, [("node", String(n.id)), ("use", "free")], Double(free))
            metrics.set(.cpus, [("node", String(n.id)), ("use", "allocated")], Double(n.cpus.count - free))
            let freeMem = alloc.freeMemory[n.id] ?? 0
            metrics.set(.memory, [("node", String(n.id)), ("use", "free")], Double(freeMem))
            metrics.set(.memory, [("node", String(n.id)), ("use", "allocated")], Double(n.memoryBytes - freeMem))
        }
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
    /// A `corral run` job found after a restart has lost its client (the
    /// connection died with the old executor): nobody waits for it, so it
    /// is stopped as a cancelled job is: SIGTERM to the runner (grace period,
    /// cleanup hooks), then, past its stop bound, killed.
    private func stopOrphaned(_ job: RunJob, handle: WorkloadHandle, engine: any Engine, taskId: String) {
        logger.warning("corral run job \(taskId) lost its client in the restart: stopping it", metadata: ["taskId": "\(taskId)"])
        workloads.submit {
            try? await engine.signal(handle, SIGTERM)
            // The executor stopping (the sleep cancelled) leaves it to the next start.
            guard (try? await Task.sleep(for: job.stopBound)) != nil else { return }
            if await engine.isAlive(handle) == true { try? await engine.stop(handle, grace: .zero) }
        }
    }

    public func recover() async throws(ExecutorError) -> RecoveryReport {
        var report = RecoveryReport()
        let rows = try store.load(liveOnly: false)
        for r in rows { known[r.info.instanceId] = r.info }
        var running: [String: DiscoveredWorkload] = [:]
        for (_, e) in engines {
            do {
                for d in try await e.discover() { running[d.handle.instanceID] = d }
            } catch {
                logger.warning("cannot ask the \(e.kind) engine what runs: its workloads are not adopted now",
                               metadata: ["error": "\(error.message)"])
            }
        }
        for row in rows where !row.terminal {
            let info = row.info
            guard let allocation = info.allocation, let handle = info.handle, let engine = engines[info.engine] else {
                // It never got as far as the engine: nothing runs, nothing is held.
                record(info.lostAfterRestart("the executor stopped before it started"), spec: nil)
                report.lost.append(info.instanceId)
                continue
            }
            let found = running.removeValue(forKey: info.instanceId)
            let output = sink(appId: info.appId, kind: info.kind, instanceId: info.instanceId, taskId: info.taskId)
            if info.kind == .application, let specData = row.spec,
               let spec = try? JSONDecoder().decode(InstanceSpec.self, from: specData) {
                instanceSpecs[info.instanceId] = spec
                let s = InstanceSupervisor(adopting: spec, instanceId: info.instanceId, allocation: allocation, ports: info.ports,
                                           handle: found?.handle ?? handle, engine: engine, broker: broker,
                                           observer: Recorder(self, spec: nil), output: output, executorHost: hostname)
                if let found, found.running, (try? await broker.adopt(allocation, ports: Array(info.ports.values))) != nil {
                    instances[info.instanceId] = s
                    try? await engine.reattach(found.handle, output: output)
                    workloads.submit { await s.resume() }
                    report.adopted.append(info.instanceId)
                } else {
                    if let found { try? await engine.remove(found.handle) }
                    await s.markLost("gone while the executor was down")
                    report.lost.append(info.instanceId)
                }
            } else if info.kind == .task, let specData = row.spec,
                      let spec = try? JSONDecoder().decode(TaskSpec.self, from: specData) {
                taskSpecs[info.instanceId] = spec
                let t = TaskSupervisor(adopting: spec, instanceId: info.instanceId, allocation: allocation,
                                       handle: found?.handle ?? handle, engine: engine, broker: broker,
                                       observer: Recorder(self, spec: nil), output: output, executorHost: hostname)
                if found != nil, (try? await broker.adopt(allocation, ports: [])) != nil {
                    tasks[info.instanceId] = t
                    taskIDs[spec.taskId] = info.instanceId
                    if found!.running {
                        try? await engine.reattach(found!.handle, output: output)
                        report.adopted.append(info.instanceId)
                        // A --cluster job's client is on another node, which keeps relaying it.
                        if let job = spec.job, job.origin == nil { stopOrphaned(job, handle: found!.handle, engine: engine, taskId: spec.taskId) }
                    } else {
                        report.finished.append(info.instanceId)
                    }
                    workloads.submit { await t.resume() }
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
