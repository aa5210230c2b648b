/// One executor as the controller's scheduler sees it: where it is, what it
/// is tagged with, and its books (an ``Allocator`` over its topology, with
/// what it reports used and what the controller has booked on it since).
/// The same allocator the executor runs chooses the exact CPUs, so what the
/// controller sends is what the executor would have picked itself.
public struct ExecutorModel: Sendable {
    /// One NUMA node's offer as an executor publishes it.
    public struct NodeLayout: Sendable, Hashable {
        public var id: Int
        /// CPUs offered to workloads.
        public var cpus: CPUSet
        public var memoryBytes: UInt64
        /// Hardware threads of each physical core (empty: every CPU is a core of its own).
        public var coreGroups: [CPUSet]
        /// CPUs sharing each L3 cache (empty: the node is one group).
        public var l3Groups: [CPUSet]
        public var gpus: [Int]
        public init(id: Int, cpus: CPUSet, memoryBytes: UInt64, coreGroups: [CPUSet] = [], l3Groups: [CPUSet] = [], gpus: [Int] = []) {
            self.id = id
            self.cpus = cpus
            self.memoryBytes = memoryBytes
            self.coreGroups = coreGroups
            self.l3Groups = l3Groups
            self.gpus = gpus
        }
    }

    public var id: String
    public var hostname: String
    public var tags: Set<String>
    public var metadata: [String: String]
    /// ACTIVE: new instances may be placed here.
    public var takesNewWork: Bool
    public private(set) var allocator: Allocator
    /// Instances per appId on this executor, reported and booked.
    public var instancesByApp: [String: Int] = [:]

    /// The id of the allocation that stands for what the executor reports in use.
    public static let reportedUseID = "executor:reported-use"

    public init(id: String, hostname: String, tags: Set<String>, metadata: [String: String], takesNewWork: Bool,
                resources: EffectiveResources) {
        self.id = id
        self.hostname = hostname
        self.tags = tags
        self.metadata = metadata
        self.takesNewWork = takesNewWork
        allocator = Allocator(resources: resources)
    }

    /// A pinned executor from its published layout.
    public init(id: String, hostname: String, tags: Set<String>, metadata: [String: String], takesNewWork: Bool,
                nodes: [NodeLayout], numaPolicy: NUMAPolicy = .require, fullPhysicalCores: Bool = false) {
        let topology = Self.topology(nodes)
        var config = ResourcesConfig()
        config.numaPolicy = numaPolicy
        config.fullPhysicalCores = fullPhysicalCores
        config.enableNvidiaGpu = !topology.gpus.isEmpty
        let resources = EffectiveResources.compute(topology: topology, resources: config, hostname: hostname).resources
        self.init(id: id, hostname: hostname, tags: tags, metadata: metadata, takesNewWork: takesNewWork, resources: resources)
    }

    /// A topology with just what the layout tells: nodes, cores, L3 groups, GPUs.
    public static func topology(_ nodes: [NodeLayout]) -> Topology {
        var cpus: [CPU] = [], numa: [NUMANode] = [], gpus: [GPU] = []
        var coreIndex = 0, l3Index = 0
        for n in nodes.sorted(by: { $0.id < $1.id }) {
            let groups = n.coreGroups.isEmpty ? n.cpus.map { CPUSet([$0]) } : n.coreGroups.map { $0.intersection(n.cpus) }.filter { !$0.isEmpty }
            let l3 = n.l3Groups.isEmpty ? [n.cpus] : n.l3Groups
            var l3Of: [Int: Int] = [:]
            for (i, g) in l3.enumerated() { for c in g { l3Of[c] = l3Index + i } }
            var placed = CPUSet()
            for g in groups {
                for c in g where !placed.contains(c) {
                    cpus.append(CPU(id: c, package: n.id, core: coreIndex, coreID: coreIndex, numaNode: n.id, l3: l3Of[c] ?? l3Index, siblings: g))
                    placed.insert(c)
                }
                coreIndex += 1
            }
            l3Index += l3.count
            numa.append(NUMANode(id: n.id, cpus: n.cpus, memoryBytes: n.memoryBytes))
            for g in n.gpus { gpus.append(GPU(index: g, pciBus: "", numaNode: n.id, model: "GPU")) }
        }
        return Topology(cpus: cpus.sorted { $0.id < $1.id }, numaNodes: numa, gpus: gpus)
    }

    public var freeCPUCount: Int { allocator.isPinned ? allocator.freeCPUs.count : allocator.freeCPUCount }

    /// The scheduler's pack key: the largest request this executor can take
    /// now (its largest free NUMA-node hole when requests must fit one node,
    /// else all it has free).
    public var packKey: Int {
        allocator.isPinned && allocator.resources.numaPolicy == .require ? allocator.largestNodeHole : freeCPUCount
    }

    /// Records what the executor says is in use (replacing the last report).
    public mutating func setReportedUse(cpus: CPUSet, memoryByNode: [Int: UInt64], gpus: [Int] = []) {
        _ = try? allocator.release(Self.reportedUseID)
        let owned = allocator.allocations.values.reduce(CPUSet()) { $0.union($1.cpus) }
        let free = cpus.subtracting(owned)
        var memory: [Int: UInt64] = [:]
        for (node, bytes) in memoryByNode { memory[node] = min(bytes, allocator.freeMemory[node] ?? 0) }
        let a = Allocation(id: Self.reportedUseID, cpus: allocator.isPinned ? free : CPUSet(), cpuCount: free.count,
                           requestedCPUs: free.count, numaNodes: memory.keys.sorted(),
                           memoryBytes: memory.values.reduce(0, +), memoryByNode: allocator.isPinned ? memory : [:],
                           gpus: gpus.filter { allocator.freeGPUs.contains($0) }, pinned: allocator.isPinned)
        try? allocator.adopt(a)
    }

    /// Books a placement under `id` (an instance id); the allocator's own checks keep it from double-booking.
    public mutating func book(_ request: AllocationRequest, id: String, appId: String) throws(AllocationError) -> Allocation {
        let a = try allocator.reserve(request, id: id)
        instancesByApp[appId, default: 0] += 1
        return a
    }

    /// Books exactly `allocation` (one the executor reports, or one chosen elsewhere).
    public mutating func book(exactly allocation: Allocation, appId: String) throws(AllocationError) {
        try allocator.adopt(allocation)
        instancesByApp[appId, default: 0] += 1
    }

    /// Frees a booking; unknown ids change nothing.
    public mutating func unbook(_ id: String, appId: String) {
        if (try? allocator.release(id)) != nil {
            instancesByApp[appId, default: 1] -= 1
            if instancesByApp[appId] == 0 { instancesByApp[appId] = nil }
        }
    }

    public func holds(_ id: String) -> Bool { allocator.allocations[id] != nil }
}
