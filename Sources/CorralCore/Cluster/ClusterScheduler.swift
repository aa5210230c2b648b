/// Chooses an executor and its exact CPUs for each instance. Pure: a value
/// over ``ExecutorModel``s; the controller keeps one per leader term and
/// feeds it what executors publish.
///
/// Score (`pack`, the default): among the executors the placement policy
/// admits, the one with the fewest free CPUs that can hold the request wins
/// (ties: lowest id); inside it the executor's own allocator rule picks the
/// node and CPUs (one NUMA node, whole cores, fullest node that fits). Small
/// requests fill used executors and leave empty ones whole for large ones.
/// `spread`: fewest instances of the same app first, then as `pack`.
public struct ClusterScheduler: Sendable {
    public enum Strategy: String, Sendable, CaseIterable { case pack, spread }

    public struct Request: Sendable, Hashable {
        public var appId: String
        public var resources: AllocationRequest
        public var policy: PlacementPolicy
        public init(appId: String, resources: AllocationRequest, policy: PlacementPolicy) {
            self.appId = appId
            self.resources = resources
            self.policy = policy
        }
    }

    public struct Placement: Sendable, Hashable {
        public var executorId: String
        public var hostname: String
        public var allocation: Allocation
    }

    public enum RefusalCode: String, Sendable { case noExecutor = "no_executor", noneAdmitted = "none_admitted", noRoom = "no_room" }
    public typealias Refusal = CodedError<RefusalCode>

    public var strategy: Strategy
    public private(set) var executors: [String: ExecutorModel] = [:]
    /// Executor ids by free CPUs, ascending (ties by id): the pack order.
    var order: [(free: Int, id: String)] = []

    public init(strategy: Strategy = .pack) { self.strategy = strategy }

    public subscript(id: String) -> ExecutorModel? { executors[id] }
    public var count: Int { executors.count }

    public mutating func upsert(_ e: ExecutorModel) {
        remove(e.id)
        executors[e.id] = e
        insertOrder(e)
    }

    public mutating func remove(_ id: String) {
        guard let old = executors.removeValue(forKey: id) else { return }
        if let i = orderIndex(free: old.freeCPUCount, id: id) { order.remove(at: i) }
    }

    /// Places one instance under `id` and books it.
    public mutating func place(_ r: Request, id: String) throws(Refusal) -> Placement {
        guard !executors.isEmpty else { throw Refusal(.noExecutor, "no executor is registered") }
        let policy = r.policy.effective
        var admitted = 0, roomless: [String] = []
        func attempt(_ eid: String) -> Placement? {
            guard var e = executors[eid], e.takesNewWork else { return nil }
            let c = PlacementPolicy.Candidate(hostname: e.hostname, tags: e.tags, metadata: e.metadata,
                                              instancesOfApp: e.instancesByApp[r.appId] ?? 0)
            guard policy.admits(c) else { return nil }
            admitted += 1
            guard let a = try? e.book(r.resources, id: id, appId: r.appId) else {
                if roomless.count < 3 { roomless.append(e.hostname) }
                return nil
            }
            upsert(e)
            return Placement(executorId: eid, hostname: e.hostname, allocation: a)
        }
        switch strategy {
        case .pack:
            var i = firstIndex(withFree: r.resources.cpus)
            while i < order.count {
                let eid = order[i].id
                if let p = attempt(eid) { return p }
                i += 1
            }
        case .spread:
            let ranked = executors.values.filter(\.takesNewWork)
                .map { (n: $0.instancesByApp[r.appId] ?? 0, free: $0.freeCPUCount, id: $0.id) }
                .filter { $0.free >= r.resources.cpus }
                .sorted { ($0.n, $0.free, $0.id) < ($1.n, $1.free, $1.id) }
            for x in ranked { if let p = attempt(x.id) { return p } }
        }
        if admitted == 0 {
            let active = executors.values.filter(\.takesNewWork).count
            let matching = executors.values.filter { e in
                e.takesNewWork && policy.admits(.init(hostname: e.hostname, tags: e.tags, metadata: e.metadata,
                                                      instancesOfApp: e.instancesByApp[r.appId] ?? 0))
            }
            if let largest = matching.max(by: { $0.freeCPUCount < $1.freeCPUCount }) {
                throw Refusal(.noRoom, "no executor the placement policy admits has room for \(r.resources.summary)"
                              + " (the most free: \(largest.freeCPUCount) CPUs on \(largest.hostname); \(matching.count) admitted)")
            }
            throw Refusal(.noneAdmitted, active == 0 ? "no executor is ACTIVE"
                          : "no ACTIVE executor with room for \(r.resources.summary) matches the placement policy (\(active) ACTIVE)")
        }
        throw Refusal(.noRoom, "no executor the placement policy admits has room for \(r.resources.summary) on one NUMA node"
                      + (roomless.isEmpty ? "" : " (tried \(roomless.joined(separator: ", "))…)"))
    }

    /// Books an allocation made elsewhere (an instance an executor reports).
    public mutating func book(exactly a: Allocation, on executorId: String, appId: String) throws(AllocationError) {
        guard var e = executors[executorId] else { throw AllocationError(.unknownAllocation, "executor \(executorId) is not known") }
        try e.book(exactly: a, appId: appId)
        upsert(e)
    }

    /// Frees a booking (a failed start, a stopped instance).
    public mutating func release(_ id: String, on executorId: String, appId: String) {
        guard var e = executors[executorId] else { return }
        e.unbook(id, appId: appId)
        upsert(e)
    }

    // MARK: The pack order

    func firstIndex(withFree n: Int) -> Int {
        var lo = 0, hi = order.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if order[mid].free < n { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    func orderIndex(free: Int, id: String) -> Int? {
        var i = firstIndex(withFree: free)
        while i < order.count, order[i].free == free {
            if order[i].id == id { return i }
            i += 1
        }
        return nil
    }

    mutating func insertOrder(_ e: ExecutorModel) {
        let free = e.freeCPUCount
        var i = firstIndex(withFree: free)
        while i < order.count, order[i].free == free, order[i].id < e.id { i += 1 }
        order.insert((free, e.id), at: i)
    }
}
