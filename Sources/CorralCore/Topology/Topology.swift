/// One logical CPU (a hardware thread) as the kernel numbers it.
public struct CPU: Sendable, Hashable, Codable {
    /// Linux CPU number.
    public var id: Int
    /// Physical package (socket) id, `physical_package_id`.
    public var package: Int?
    /// Index of the physical core this CPU belongs to, in ``Topology/cores``.
    public var core: Int?
    /// The kernel's `core_id` (unique only inside a package, die or cluster).
    public var coreID: Int?
    /// NUMA node whose memory is local to this CPU.
    public var numaNode: Int?
    /// Index of the L3 (last level) cache group, in ``Topology/l3Groups``.
    public var l3: Int?
    /// The CPUs of the same physical core, this one included.
    public var siblings: CPUSet
    public var online: Bool
    /// Inside the executor's own cpuset (hwloc's "allowed").
    public var allowed: Bool

    public init(id: Int, package: Int?, core: Int?, coreID: Int? = nil, numaNode: Int?, l3: Int?,
                siblings: CPUSet, online: Bool = true, allowed: Bool = true) {
        self.id = id
        self.package = package
        self.core = core
        self.coreID = coreID
        self.numaNode = numaNode
        self.l3 = l3
        self.siblings = siblings
        self.online = online
        self.allowed = allowed
    }

    /// Online and inside the executor's cpuset.
    public var usable: Bool { online && allowed }
}

/// A NUMA node: a memory bank and the CPUs local to it.
public struct NUMANode: Sendable, Hashable, Codable {
    public var id: Int
    /// Online CPUs local to this node (may be empty: memory-only nodes).
    public var cpus: CPUSet
    public var memoryBytes: UInt64
    /// Inside the executor's `Mems_allowed`.
    public var memoryAllowed: Bool
    /// SLIT distances to the other nodes, in node id order, when known.
    public var distances: [Int]?

    public init(id: Int, cpus: CPUSet, memoryBytes: UInt64, memoryAllowed: Bool = true, distances: [Int]? = nil) {
        self.id = id
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.memoryAllowed = memoryAllowed
        self.distances = distances
    }
}

/// An NVIDIA GPU found under /proc/driver/nvidia/gpus.
public struct GPU: Sendable, Hashable, Codable {
    /// Position in PCI bus order (the order nvidia-smi and CUDA_DEVICE_ORDER=PCI_BUS_ID use).
    public var index: Int
    public var pciBus: String
    public var numaNode: Int?
    public var model: String
    public var uuid: String?
    public var minor: Int?

    public init(index: Int, pciBus: String, numaNode: Int?, model: String, uuid: String? = nil, minor: Int? = nil) {
        self.index = index
        self.pciBus = pciBus
        self.numaNode = numaNode
        self.model = model
        self.uuid = uuid
        self.minor = minor
    }
}

/// A physical core: the hardware threads that share one core's execution units.
public struct Core: Sendable, Hashable {
    public var index: Int
    public var package: Int?
    public var numaNode: Int?
    public var l3: Int?
    public var cpus: CPUSet
}

/// What a machine has: CPUs, NUMA nodes, GPUs. Built by the host layer from a
/// filesystem root, or synthesised for tests and benchmarks.
public struct Topology: Sendable, Hashable, Codable {
    /// Every CPU the kernel lists (online or not), ascending by id.
    public var cpus: [CPU]
    /// Online NUMA nodes, ascending by id.
    public var numaNodes: [NUMANode]
    public var gpus: [GPU]
    /// Physical memory of the whole machine.
    public var totalMemoryBytes: UInt64

    public init(cpus: [CPU], numaNodes: [NUMANode], gpus: [GPU] = [], totalMemoryBytes: UInt64? = nil) {
        self.cpus = cpus.sorted { $0.id < $1.id }
        self.numaNodes = numaNodes.sorted { $0.id < $1.id }
        self.gpus = gpus
        self.totalMemoryBytes = totalMemoryBytes ?? numaNodes.reduce(0) { $0 + $1.memoryBytes }
    }

    public func cpu(_ id: Int) -> CPU? {
        // cpus is sorted and usually dense: try the direct index first.
        if id >= 0, id < cpus.count, cpus[id].id == id { return cpus[id] }
        return cpus.first { $0.id == id }
    }

    public func node(_ id: Int) -> NUMANode? { numaNodes.first { $0.id == id } }

    /// Every CPU id the kernel lists.
    public var allCPUs: CPUSet { CPUSet(cpus.map(\.id)) }
    public var onlineCPUs: CPUSet { CPUSet(cpus.filter(\.online).map(\.id)) }
    /// Online and allowed: what the executor could ever hand out.
    public var usableCPUs: CPUSet { CPUSet(cpus.filter(\.usable).map(\.id)) }

    /// Physical cores of online CPUs, ordered by index.
    public var cores: [Core] {
        var byIndex: [Int: Core] = [:]
        for c in cpus where c.online {
            guard let idx = c.core else { continue }
            if byIndex[idx] == nil {
                byIndex[idx] = Core(index: idx, package: c.package, numaNode: c.numaNode, l3: c.l3, cpus: [])
            }
            byIndex[idx]!.cpus.insert(c.id)
        }
        return byIndex.keys.sorted().map { byIndex[$0]! }
    }

    /// Package ids, ascending.
    public var packages: [Int] { Array(Set(cpus.compactMap(\.package))).sorted() }

    /// Online CPUs of one package.
    public func cpus(inPackage p: Int) -> CPUSet { CPUSet(cpus.filter { $0.online && $0.package == p }.map(\.id)) }

    /// L3 groups by index: the online CPUs sharing each last-level cache.
    public var l3Groups: [Int: CPUSet] {
        var out: [Int: CPUSet] = [:]
        for c in cpus where c.online {
            if let l = c.l3 { out[l, default: []].insert(c.id) }
        }
        return out
    }
}
