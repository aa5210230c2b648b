/// Chooses an executor and its exact CPUs for each instance. Pure: a value
/// over ``ExecutorModel``s; the controller keeps one per leader term and
/// feeds it what executors publish.
///
/// Score (`pack`, the default): among the executors the placement policy
/// admits, the one whose largest free NUMA-node hole is the smallest that
/// holds the request wins (ties: lowest id); inside it the executor's own
/// allocator rule picks the node and CPUs (one NUMA node, whole cores, the
/// fullest node that fits). Small requests fill used executors and nodes and
/// leave whole ones for large requests. The executors are kept ordered by
/// that hole, so finding the first that can hold a request is a binary search.
/// `spread`: fewest instances of the same app first (with a `spreadKey`,
/// fewest in the executor's group first: executors whose metadata holds the
/// same value for that key, e.g. a rack; then fewest on the executor), then
/// as `pack` (fewest free CPUs that hold it, then the lowest id).
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
    /// The executor metadata key `spread` groups executors by (nil: each executor alone).
    public var spreadKey: String?
    public private(set) var executors: [String: ExecutorModel] = [:]
    /// Executor ids by ``ExecutorModel/packKey``, ascending (ties by id): the pack order.
    var order: [(free: Int, id: String)] = []

    public init(strategy: Strategy = .pack, spreadKey: String? = nil) {
        self.strategy = strategy
        self.spreadKey = spreadKey
    }

    public subscript(id: String) -> ExecutorModel? { executors[id] }
    public var count: Int { executors.count }

    public mutating func upsert(_ e: ExecutorModel) {
        remove(e.id)
        executors[e.id] = e
        insertOrder(e)
    }

    public mutating func remove(_ id: String) {
        guard let old = executors.removeValue(forKey: id) else { return }
        if let i = orderIndex(free: old.packKey, id: id) { order.remove(at: i) }
    }

    /// Places one instance under `id` and books it.
    public mutating func place(_ r: Request, id: String) throws(Refusal) -> Placement {
        guard !executors.isEmpty else { throw Refusal(.noExecutor, "no executor is registered") }
        let policy = r.policy.effective
        var admitted = 0, roomless: [String] = []
        // One NUMA node must hold it unless the request may span nodes.
        let oneNode = r.resources.numaPolicy != .prefer
        func attempt(_ eid: String) -> Placement? {
            let before: Int, hostname: String
            do {
                guard let e = executors[eid], e.takesNewWork else { return nil }
                let c = PlacementPolicy.Candidate(hostname: e.hostname, tags: e.tags, metadata: e.metadata,
                                                  instancesOfApp: e.instancesByApp[r.appId] ?? 0)
                guard policy.admits(c) else { return nil }
                admitted += 1
                before = e.packKey
                hostname = e.hostname
                if oneNode && e.allocator.resources.numaPolicy == .require
                    && !e.allocator.couldHoldOnOneNode(cpus: r.resources.cpus, memoryBytes: r.resources.memoryBytes) {
                    if roomless.count < 3 { roomless.append(hostname) }
                    return nil
                }
            }
            // Booked in place (no copy of the executor's books), then moved in the pack order.
            guard let a = try? executors[eid]!.book(r.resources, id: id, appId: r.appId) else {
                if roomless.count < 3 { roomless.append(hostname) }
                return nil
            }
            reorder(eid, from: before)
            return Placement(executorId: eid, hostname: hostname, allocation: a)
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
            let live = executors.values.filter(\.takesNewWork)
            func group(_ e: ExecutorModel) -> String { spreadKey.flatMap { e.metadata[$0] }.map { "=" + $0 } ?? "#" + e.id }
            var inGroup: [String: Int] = [:]
            if spreadKey != nil { for e in live { inGroup[group(e), default: 0] += e.instancesByApp[r.appId] ?? 0 } }
            let ranked = live
                .map { (g: inGroup[group($0)] ?? 0, n: $0.instancesByApp[r.appId] ?? 0, free: $0.freeCPUCount, id: $0.id) }
                .filter { $0.free >= r.resources.cpus }
                .sorted { ($0.g, $0.n, $0.free, $0.id) < ($1.g, $1.n, $1.free, $1.id) }
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

    /// Places one instance on one given executor (a local service's instance
    /// on each executor), with the executor allocator's own rule; `policy`
    /// is applied as written (no NO_TAG is added).
    public mutating func place(_ r: Request, id: String, on executorId: String) throws(Refusal) -> Placement {
        guard let e = executors[executorId] else { throw Refusal(.noExecutor, "executor \(executorId) is not registered") }
        guard e.takesNewWork else { throw Refusal(.noneAdmitted, "executor \(e.hostname) takes no new work") }
        let c = PlacementPolicy.Candidate(hostname: e.hostname, tags: e.tags, metadata: e.metadata, instancesOfApp: e.instancesByApp[r.appId] ?? 0)
        guard r.policy.admits(c) else { throw Refusal(.noneAdmitted, "the placement policy does not admit \(e.hostname)") }
        let before = e.packKey
        let a: Allocation
        do { a = try executors[executorId]!.book(r.resources, id: id, appId: r.appId) } catch {
            throw Refusal(.noRoom, "\(e.hostname) has no room for \(r.resources.summary): \(error.message)")
        }
        reorder(executorId, from: before)
        return Placement(executorId: executorId, hostname: e.hostname, allocation: a)
    }

    /// Books an allocation made elsewhere (an instance an executor reports).
    public mutating func book(exactly a: Allocation, on executorId: String, appId: String) throws(AllocationError) {
        guard let before = executors[executorId]?.packKey else { throw AllocationError(.unknownAllocation, "executor \(executorId) is not known") }
        try executors[executorId]!.book(exactly: a, appId: appId)
        reorder(executorId, from: before)
    }

    /// Frees a booking (a failed start, a stopped instance).
    public mutating func release(_ id: String, on executorId: String, appId: String) {
        guard let before = executors[executorId]?.packKey else { return }
        executors[executorId]!.unbook(id, appId: appId)
        reorder(executorId, from: before)
    }

    /// Moves an executor in the pack order after its free count changed.
    mutating func reorder(_ id: String, from before: Int) {
        guard let e = executors[id], e.packKey != before else { return }
        if let i = orderIndex(free: before, id: id) { order.remove(at: i) }
        insertOrder(e)
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
        let free = e.packKey
        var i = firstIndex(withFree: free)
        while i < order.count, order[i].free == free, order[i].id < e.id { i += 1 }
        order.insert((free, e.id), at: i)
    }
}
