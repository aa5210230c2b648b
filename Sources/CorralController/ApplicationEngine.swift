import CorralCore
import CorralExecutor
import Foundation
import Logging
import ZooKeeperClient

/// The leader's application engine: holds every app, its instances and the
/// executors' books; accepts operations (validated against Drove's table of
/// states), persists each one before acting, drives it to its goal with many
/// apps at once (one driver task per app, no global lock), and keeps each
/// app at its expected count of HEALTHY instances.
///
/// What is known of instances comes from the executors (their node data,
/// through the roster's watch, and their state reports); the controller's own
/// record of each instance (`/<ns>/instances/<appId>/<id>`) is written
/// before an instance is started, so a new leader knows what is in flight.
public actor ApplicationEngine {
    struct App {
        var record: ApplicationRecord
        var version: Int32
        var spec: DroveApplicationSpec
        /// The spec with env values opened (what instances are started with).
        var openSpec: JSONValue
        /// Set when a sealed value of the spec cannot be opened with the cluster key.
        var unrecoverable: String?
        var driver: Task<Void, Never>?
        var cancelRequested = false
    }

    /// An instance the controller started and the executor has not yet shown.
    struct Pending {
        var appId: String
        var executorId: String
        var allocation: Allocation
        var since: ContinuousClock.Instant
        /// Why the start got no answer, when it got none: said if the executor never shows it.
        var unanswered: String?
    }

    let store: ClusterStore
    let messenger: ExecutorMessenger
    let sealer: SecretBox?
    let options: ControllerOptions
    let logger: Logger
    let leadership: Leadership
    var apps: [String: App] = [:]
    var instances: [String: [String: DroveInstanceInfo]] = [:]
    var old: [String: [DroveInstanceInfo]] = [:]
    var executors: [String: ExecutorNodeData] = [:]
    var scheduler = ClusterScheduler()
    var pending: [String: Pending] = [:]
    /// Instances the controller asked to stop.
    var stopping: Set<String> = []
    /// Instances of each app that ended without being asked to since the last HEALTHY one: starts back off.
    var failures: [String: Int] = [:]
    var leading = false
    var loaded = false
    var changeWaiters: [CheckedContinuation<Void, Never>] = []
    var tasks: [String: TaskEntry] = [:]
    /// Executors that hold instances but have no node, since when.
    var missingSince: [String: ContinuousClock.Instant] = [:]
    /// What the cluster has seen happen (Drove's events).
    let events: ClusterEvents
    /// Maintenance mode (persisted at `/<ns>/cluster/maintenance`).
    var clusterState = ClusterStateData(state: .NORMAL, updated: 0)
    /// Executor states asked for (blacklist, unblacklist), until the executor's node data shows them.
    var requestedStates: [String: ExecutorNodeData.State] = [:]
    /// Local services (Drove's LOCAL_SERVICE): their records, instances, and ended instances.
    var services: [String: Service] = [:]
    var serviceInstances: [String: [String: DroveLocalServiceInstanceInfo]] = [:]
    var oldServiceInstances: [String: [DroveLocalServiceInstanceInfo]] = [:]
    /// Local service instances asked to stop.
    var serviceStopping: Set<String> = []
    /// Until when a service does not start instances on an executor again (`serviceId/executorId`) after a start failed.
    var serviceRetryAt: [String: ContinuousClock.Instant] = [:]
    /// How long an instance may be absent from its executor's node data after its start was accepted.
    static let startGrace = Duration.seconds(15)

    public init(store: ClusterStore, messenger: ExecutorMessenger, sealer: SecretBox?, options: ControllerOptions,
                leadership: Leadership, events: ClusterEvents = ClusterEvents(), logger: Logger) {
        self.events = events
        self.store = store
        self.messenger = messenger
        self.sealer = sealer
        self.options = options
        self.leadership = leadership
        self.logger = logger
        scheduler = ClusterScheduler(strategy: options.placementStrategy, spreadKey: options.spreadKey)
    }

    // MARK: Leadership

    /// Becomes the leader: loads every app and its instance records, then
    /// resumes the operations that were in flight.
    func takeOver() async {
        leading = true
        do {
            try await store.prepare()
            let (records, unreadable) = try await store.loadApplications()
            for name in unreadable { logger.error("an application record cannot be read; it is left as it is", metadata: ["appId": "\(name)"]) }
            apps = [:]
            instances = [:]
            for (record, version) in records {
                guard let app = makeApp(record, version: version) else { continue }
                apps[record.appId] = app
                var byId: [String: DroveInstanceInfo] = [:]
                for i in (try? await store.loadInstances(record.appId)) ?? [] { byId[i.instanceId] = i }
                instances[record.appId] = byId
            }
            await loadTasks()
            await loadServices()
            clusterState = try await store.clusterState() ?? ClusterStateData(state: .NORMAL, updated: 0)
            // Every workload recorded as not ended is booked and given the start
            // grace until its executor's node data shows it. The node data at hand
            // may predate it (the old leader started it a moment ago, or saw it
            // move past PENDING): without the booking its CPUs would look free
            // here while its executor holds them, and without the grace a
            // snapshot that does not show it yet would end it.
            let now = ContinuousClock.now
            for (key, t) in tasks where !(TaskState(rawValue: t.record.info.state)?.isTerminal ?? true) {
                if let a = Self.allocation(resources: t.record.info.resources, id: Self.taskBooking(key)) {
                    pending[Self.taskBooking(key)] = Pending(appId: "task:" + t.record.info.sourceAppName, executorId: t.record.info.executorId,
                                                             allocation: a, since: now)
                }
            }
            for (appId, byId) in instances {
                for (id, info) in byId where !Self.isTerminal(info) {
                    if let a = Self.allocation(info) { pending[id] = Pending(appId: appId, executorId: info.executorId, allocation: a, since: now) }
                }
            }
            for (sid, byId) in serviceInstances {
                for (id, info) in byId where !Self.isTerminal(state: info.state) {
                    if let a = Self.allocation(resources: info.resources, id: id) {
                        pending[id] = Pending(appId: Self.serviceBooking(sid), executorId: info.executorId, allocation: a, since: now)
                    }
                }
            }
            loaded = true
            events.record(.LEADERSHIP_ACQUIRED, ["HOSTNAME": .string(options.hostname ?? Self.localHostname)])
            if inMaintenance { logger.notice("the cluster is in maintenance mode: operations are refused, nothing is declared lost or replaced") }
            for e in executors.values { observe(e) }
            logger.notice("leading", metadata: ["applications": "\(apps.count)",
                                                "resumed": "\(apps.values.filter { $0.record.corral.operation != nil }.count)"])
            for id in apps.keys where apps[id]?.record.corral.operation != nil { startDriver(id) }
        } catch let e as ZooKeeperError where e.code == .noAuth {
            logger.error("ZooKeeper refuses this controller's identity: its CONTROLLER secret is not the one the cluster's state was written with (docs/secrets.md); retrying",
                         metadata: ["path": "\(e.path ?? "?")"])
            loaded = false
        } catch {
            logger.error("cannot load the cluster's state; retrying", metadata: ["error": "\(error)"])
            loaded = false
        }
    }

    func stepDown() {
        if leading && loaded { events.record(.LEADERSHIP_LOST, ["HOSTNAME": .string(options.hostname ?? Self.localHostname)]) }
        leading = false
        loaded = false
        for (id, app) in apps { app.driver?.cancel(); apps[id]?.driver = nil }
        pending = [:]
        notifyChange()
    }

    func makeApp(_ record: ApplicationRecord, version: Int32) -> App? {
        let (open, problem) = opened(record.spec) { Self.envContext(record.appId, $0) }
        let r = ConfigReader(file: "application \(record.appId)", environment: [:])
        r.stringsAreTyped = true
        let data = open.data()
        guard let (node, _) = Optional(JSONTree.parse(data)), let node,
              let spec = DroveApplicationSpec.read(node, r, "", json: data, allowedMountDirs: ["/"]) else {
            logger.error("a stored application spec no longer reads", metadata: ["appId": "\(record.appId)", "error": "\(r.issues.first?.message ?? "?")"])
            return nil
        }
        if let problem { logger.error("application is unrecoverable until its spec is redeployed", metadata: ["appId": "\(record.appId)", "reason": "\(problem)"]) }
        return App(record: record, version: version, spec: spec, openSpec: open, unrecoverable: problem)
    }

    /// A stored spec with its sealed env values and INLINE configs' data
    /// opened, each with `context(key)` (`configKey(localFilename)` for
    /// configs); what could not be opened, if anything.
    func opened(_ spec: JSONValue, context: (String) -> String) -> (JSONValue, problem: String?) {
        var open = spec
        var problem: String?
        if case .object(let env)? = spec["env"] {
            var opened: [String: JSONValue] = [:]
            for (k, v) in env {
                guard case .string(let s) = v, SecretBox.isSealed(s) else { opened[k] = v; continue }
                guard let sealer else { problem = "env \(k) is sealed but this controller has no cluster key (clusterAuth CONTROLLER secret)"; continue }
                do { opened[k] = .string(try sealer.open(s, context: context(k))) } catch {
                    problem = "env \(k) cannot be opened with this cluster's key (was the CONTROLLER secret changed?)"
                }
            }
            open["env"] = .object(opened)
        }
        if case .array(let configs)? = spec["configs"] {
            var opened: [JSONValue] = []
            for c in configs {
                guard case .string(let s)? = c["data"], SecretBox.isSealed(s), let path = c["localFilename"]?.string else { opened.append(c); continue }
                var o = c
                if let sealer, let plain = try? sealer.open(s, context: context(Self.configKey(path))) {
                    o["data"] = .string(plain)
                } else {
                    problem = "config \(path) cannot be opened with this cluster's key (was the CONTROLLER secret changed?)"
                }
                opened.append(o)
            }
            open["configs"] = .array(opened)
        }
        return (open, problem)
    }

    static func envContext(_ appId: String, _ key: String) -> String { "application \(appId) env \(key)" }

    /// What an INLINE config's sealed data is bound to, in the env contexts'
    /// key space (no variable name holds a '/').
    static func configKey(_ localFilename: String) -> String { "configs" + localFilename }

    /// A spec as stored: its non-empty env values and INLINE configs' data
    /// sealed with the cluster key, each bound to `context(variable)` or
    /// `context(configKey(localFilename))` (apps and tasks alike).
    func sealed(_ spec: JSONValue, context: (String) -> String) throws(SecretError) -> JSONValue {
        guard let sealer else { return spec }
        var out = spec
        if case .object(let env)? = spec["env"] {
            var sealedEnv: [String: JSONValue] = [:]
            for (k, v) in env {
                if case .string(let s) = v, !s.isEmpty { sealedEnv[k] = .string(try sealer.seal(s, context: context(k))) } else { sealedEnv[k] = v }
            }
            out["env"] = .object(sealedEnv)
        }
        if case .array(let configs)? = spec["configs"] {
            var sealedConfigs: [JSONValue] = []
            for c in configs {
                var o = c
                if case .string(let s)? = c["data"], !s.isEmpty, let path = c["localFilename"]?.string {
                    o["data"] = .string(try sealer.seal(s, context: context(Self.configKey(path))))
                }
                sealedConfigs.append(o)
            }
            out["configs"] = .array(sealedConfigs)
        }
        return out
    }

    // MARK: Observation

    func executorUpdated(_ d: ExecutorNodeData) {
        let id = d.state.executorId
        if executors[id] == nil && loaded { events.record(.EXECUTOR_ADDED, executorMetadata(d)) }
        if requestedStates[id] == d.executorState { requestedStates[id] = nil }
        executors[id] = d
        missingSince[id] = nil
        if loaded { observe(d) }
    }

    /// An executor's node is gone. If the executor still answers (its
    /// ZooKeeper session ended in an outage, not the executor), its instances
    /// are kept and it has `staleExecutorAge` to register again; if it does
    /// not answer, it is lost now.
    func executorRemoved(_ id: String, reason: String) {
        let last = executors.removeValue(forKey: id)
        scheduler.remove(id)
        guard loaded, let last else { return }
        events.record(.EXECUTOR_REMOVED, executorMetadata(last))
        missingSince[id] = ContinuousClock.now
        Task { await self.probe(id, last, reason: reason) }
    }

    func probe(_ id: String, _ last: ExecutorNodeData, reason: String) async {
        if await messenger.answers(last) {
            if executors[id] == nil {
                logger.notice("an executor left ZooKeeper but still answers: its instances are kept while it registers again",
                              metadata: ["executor": "\(last.hostname):\(last.port)"])
            }
            return
        }
        guard executors[id] == nil else { return }
        // In maintenance an executor may restart: it is not lost (the monitor decides once maintenance ends).
        guard !inMaintenance else { return }
        executorLost(id, reason: reason)
        // Replacements start now, not at the monitor's next round.
        await monitor()
    }

    /// Marks everything on an executor LOST (replacements follow).
    func executorLost(_ id: String, reason: String) {
        missingSince[id] = nil
        guard loaded else { return }
        for (appId, byId) in instances {
            for (iid, info) in byId where info.executorId == id && !Self.isTerminal(info) {
                // Not the app's failure: its replacements start without the crash back-off.
                finish(appId: appId, iid, state: .LOST, error: "executor \(info.localInfo.hostname) lost: \(reason)", appsFault: false)
            }
        }
        for (sid, byId) in serviceInstances {
            for (iid, info) in byId where info.executorId == id && !Self.isTerminal(state: info.state) {
                finishServiceInstance(sid, iid, state: .LOST, error: "executor \(info.localInfo.hostname) lost: \(reason)")
            }
        }
        for (iid, p) in pending where p.executorId == id { pending[iid] = nil }
        for (key, t) in tasks where t.record.info.executorId == id && !(TaskState(rawValue: t.record.info.state)?.isTerminal ?? false) {
            endTask(key, state: .LOST, result: .init(status: "LOST", exitCode: -1), error: "executor \(t.record.info.hostname) lost: \(reason)")
        }
        notifyChange()
    }

    /// Takes in an executor's node data: instance states, and its books for the scheduler.
    func observe(_ d: ExecutorNodeData) {
        let eid = d.state.executorId
        let seen = Set(d.instances.map(\.instanceId))
        for info in d.instances {
            guard apps[info.appId] != nil else { continue }
            pending[info.instanceId] = nil
            update(info)
        }
        // Instances this controller placed there that the executor no longer
        // shows, unless it reported on them after this snapshot was taken.
        let now = ContinuousClock.now
        for (appId, byId) in instances {
            for (iid, info) in byId where info.executorId == eid && !seen.contains(iid) && !Self.isTerminal(info) {
                if let p = pending[iid], now - p.since < Self.startGrace { continue }
                if info.updated >= d.updated { continue }
                pending[iid] = nil
                let stopped = stopping.contains(iid) || InstanceState(rawValue: info.state)?.isStopping == true
                finish(appId: appId, iid, state: stopped ? .STOPPED : .LOST,
                       error: stopped ? (info.errorMessage ?? "") : "the executor no longer runs it")
            }
        }
        observeServiceInstances(d)
        var shownTasks = Set<String>()
        for t in d.tasks {
            shownTasks.insert(Self.taskKey(t.sourceAppName, t.taskId))
            observeTask(t)
        }
        sweepTasks(on: eid, shown: shownTasks)
        scheduler.upsert(model(of: d))
        notifyChange()
    }

    /// An executor's state report for one instance (pushed on every transition).
    func report(_ info: DroveInstanceInfo) {
        guard loaded, apps[info.appId] != nil else { return }
        // Only instances this controller knows (a late report of an ended one changes nothing).
        guard instances[info.appId]?[info.instanceId] != nil else { return }
        if let s = InstanceState(rawValue: info.state), s.isTerminal {
            finish(appId: info.appId, info.instanceId, state: s, error: info.errorMessage ?? "", from: info)
        } else {
            update(info)
        }
        notifyChange()
    }

    func update(_ info: DroveInstanceInfo) {
        let old = instances[info.appId]?[info.instanceId]
        if let old, Self.isTerminal(old) { return }
        // An instance that has ended stays ended: a snapshot taken before its
        // end (still showing it STOPPING) must not bring it back, to end twice.
        if old == nil, let at = self.old[info.appId]?.firstIndex(where: { $0.instanceId == info.instanceId }) {
            // Except one this controller gave up as LOST on no word from its
            // executor (never shown after its start, or its executor away)
            // that the executor now shows alive: it runs, so it counts again
            // (left out, it would hold its cores unknown, and the next leader
            // would find one instance too many).
            guard self.old[info.appId]?[at].state == InstanceState.LOST.rawValue,
                  let s = InstanceState(rawValue: info.state), !s.isTerminal, !s.isStopping, !s.isFailure else { return }
            self.old[info.appId]?.remove(at: at)
            logger.notice("an instance given up as lost runs on its executor: it counts again",
                          metadata: ["appId": "\(info.appId)", "instanceId": "\(info.instanceId)", "state": "\(info.state)"])
        }
        var merged = info
        if let old { merged.created = min(old.created, info.created) }
        instances[info.appId, default: [:]][info.instanceId] = merged
        if merged.state == InstanceState.HEALTHY.rawValue { failures[info.appId] = nil }
        if old?.state != merged.state || old?.localInfo != merged.localInfo {
            persist(merged)
        }
        if old?.state != merged.state { recordInstanceEvent(merged) }
    }

    /// An instance has ended: it moves to the old ones and its booking is
    /// freed. `appsFault`: whether it counts towards the app's start back-off
    /// (an instance that died or failed does; one whose executor was lost does not).
    func finish(appId: String, _ iid: String, state: InstanceState, error: String, from info: DroveInstanceInfo? = nil,
                appsFault: Bool = true) {
        guard let known = instances[appId]?[iid], var last = info ?? Optional(known) else { return }
        if appsFault, state.isFailure || state == .LOST || (state == .STOPPED && !stopping.contains(iid)) {
            failures[appId, default: 0] += 1
        }
        last.state = state.rawValue
        if !error.isEmpty { last.errorMessage = error }
        last.updated = Self.nowMillis()
        instances[appId]?[iid] = nil
        stopping.remove(iid)
        pending[iid] = nil
        scheduler.release(iid, on: last.executorId, appId: appId)
        var list = old[appId, default: []]
        list.insert(last, at: 0)
        if list.count > max(options.maxStaleInstancesCount, 1) { list.removeLast(list.count - max(options.maxStaleInstancesCount, 1)) }
        old[appId] = list
        recordInstanceEvent(last)
        if state == .LOST { logger.warning("instance lost", metadata: ["appId": "\(appId)", "instanceId": "\(iid)", "reason": "\(error)"]) }
        let store = self.store, leadership = self.leadership
        Task {
            guard let fence = await leadership.fence() else { return }
            try? await store.remove(appId: appId, instanceId: iid, fence: fence)
        }
    }

    func persist(_ info: DroveInstanceInfo) {
        let store = self.store, leadership = self.leadership
        Task {
            guard let fence = await leadership.fence() else { return }
            try? await store.put(info, fence: fence)
        }
    }

    func notifyChange() {
        let w = changeWaiters
        changeWaiters = []
        for c in w { c.resume() }
    }

    /// Waits for the next change of any instance or executor (at most `limit`).
    func waitForChange(limit: Duration = .seconds(1)) async {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            await self?.notifyChange()
        }
        await withCheckedContinuation { changeWaiters.append($0) }
        timer.cancel()
    }

    // MARK: The scheduler's view of an executor

    func model(of d: ExecutorNodeData) -> ExecutorModel {
        var nodes: [ExecutorModel.NodeLayout] = []
        for (key, cores) in d.state.layout.cores {
            guard let id = Int(key) else { continue }
            let groups = (d.corral?.coreGroups?[key] ?? []).compactMap { try? CPUSet(list: $0) }
            let l3 = (d.corral?.l3Groups[key] ?? []).compactMap { try? CPUSet(list: $0) }
            nodes.append(.init(id: id, cpus: CPUSet(cores), memoryBytes: (d.state.layout.memory[key] ?? 0) << 20,
                               coreGroups: groups, l3Groups: l3, gpus: d.corral?.gpus[key] ?? []))
        }
        let policy = d.corral.flatMap { NUMAPolicy(rawValue: $0.numaPolicy) } ?? .require
        var m = ExecutorModel(id: d.state.executorId, hostname: d.hostname, tags: Set(d.tags), metadata: d.metadata,
                              takesNewWork: effectiveState(d).takesNewWork, nodes: nodes, numaPolicy: policy,
                              fullPhysicalCores: d.corral?.fullPhysicalCores ?? false)
        let held = d.corral?.workloadGPUs ?? [:]
        for info in d.instances {
            if var a = Self.allocation(info) {
                a.gpus = held[info.instanceId] ?? []
                try? m.book(exactly: a, appId: info.appId)
            }
        }
        for si in d.serviceInstances {
            if let a = Self.allocation(resources: si.resources, id: si.instanceId) { try? m.book(exactly: a, appId: Self.serviceBooking(si.serviceId)) }
        }
        for (iid, p) in pending where p.executorId == d.state.executorId && !m.holds(iid) {
            try? m.book(exactly: p.allocation, appId: p.appId)
        }
        var used = CPUSet(), usedMemory: [Int: UInt64] = [:]
        for (key, cores) in d.state.cpus.usedCores { if Int(key) != nil { used.formUnion(CPUSet(cores)) } }
        for (key, mb) in d.state.memory.usedMemory { if let n = Int(key) { usedMemory[n] = mb << 20 } }
        for a in m.allocator.allocations.values {
            for (n, b) in a.memoryByNode { usedMemory[n] = (usedMemory[n] ?? 0) > b ? usedMemory[n]! - b : 0 }
        }
        // What else holds GPUs (tasks, and workloads this controller does not know).
        m.setReportedUse(cpus: used, memoryByNode: usedMemory, gpus: held.values.flatMap { $0 })
        return m
    }

    /// An instance's allocation as the controller books it.
    static func allocation(_ info: DroveInstanceInfo) -> Allocation? { allocation(resources: info.resources, id: info.instanceId) }

    static func allocation(resources: [DroveResources.Allocation], id: String) -> Allocation? {
        var cpus = CPUSet(), nodes = Set<Int>(), memory: [Int: UInt64] = [:]
        for r in resources {
            for (k, ids) in r.cores ?? [:] { if let n = Int(k) { nodes.insert(n); cpus.formUnion(CPUSet(ids)) } }
            for (k, mb) in r.memoryInMB ?? [:] { if let n = Int(k) { memory[n] = mb << 20 } }
        }
        guard !cpus.isEmpty else { return nil }
        return Allocation(id: id, cpus: cpus, cpuCount: cpus.count, requestedCPUs: cpus.count,
                          numaNodes: nodes.sorted(), memoryBytes: memory.values.reduce(0, +), memoryByNode: memory,
                          gpus: [], pinned: true)
    }

    static func isTerminal(_ i: DroveInstanceInfo) -> Bool { isTerminal(state: i.state) }
    static func isTerminal(state: String) -> Bool { InstanceState(rawValue: state)?.isTerminal ?? false }
    static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

extension ApplicationEngine {
    /// A leader whose first load failed (ZooKeeper trouble) loads again.
    func retakeIfNeeded() async {
        if leading && !loaded { await takeOver() }
    }
}
