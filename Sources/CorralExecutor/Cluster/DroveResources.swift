import CorralCore

/// Drove's resource records as it writes them to ZooKeeper and in messages
/// (`mdl/info/resources/...`): maps keyed by NUMA node id as a JSON string,
/// core ids as numbers, memory in MB.
public enum DroveResources {
    /// The `type` of a resource record.
    public enum Kind: String, Codable, Sendable { case CPU, MEMORY }

    /// `ExecutorResourceSnapshot`: free and used cores and memory per NUMA node, and the physical layout.
    public struct Snapshot: Codable, Sendable, Hashable {
        public var executorId: String
        public var cpus: AvailableCPU
        public var memory: AvailableMemory
        public var layout: PhysicalLayout
    }

    public struct AvailableCPU: Codable, Sendable, Hashable {
        public var type = Kind.CPU.rawValue
        public var freeCores: [String: [Int]]
        public var usedCores: [String: [Int]]
    }

    public struct AvailableMemory: Codable, Sendable, Hashable {
        public var type = Kind.MEMORY.rawValue
        public var freeMemory: [String: UInt64]
        public var usedMemory: [String: UInt64]
    }

    public struct PhysicalLayout: Codable, Sendable, Hashable {
        public var cores: [String: [Int]]
        public var memory: [String: UInt64]
    }

    /// `CPUAllocation` / `MemoryAllocation`, told apart by `type`.
    public struct Allocation: Codable, Sendable, Hashable {
        public var type: String
        public var cores: [String: [Int]]?
        public var memoryInMB: [String: UInt64]?

        public static func cpu(_ cores: [String: [Int]]) -> Allocation { Allocation(type: Kind.CPU.rawValue, cores: cores) }
        public static func memory(_ mb: [String: UInt64]) -> Allocation { Allocation(type: Kind.MEMORY.rawValue, memoryInMB: mb) }
    }

    static func mb(_ bytes: UInt64) -> UInt64 { bytes >> 20 }

    /// The snapshot of an executor's books: offered CPUs and memory per node,
    /// what is free now, the rest used.
    public static func snapshot(executorId: String, resources: EffectiveResources, allocator: Allocator) -> Snapshot {
        var free: [String: [Int]] = [:], used: [String: [Int]] = [:], layout: [String: [Int]] = [:]
        var freeMem: [String: UInt64] = [:], usedMem: [String: UInt64] = [:], layoutMem: [String: UInt64] = [:]
        for n in resources.nodes {
            let key = String(n.id)
            let f = n.cpus.intersection(allocator.freeCPUs)
            free[key] = Array(f).sorted()
            used[key] = Array(n.cpus.subtracting(f)).sorted()
            layout[key] = Array(n.cpus).sorted()
            let fm = allocator.freeMemory[n.id] ?? 0
            freeMem[key] = mb(fm)
            usedMem[key] = mb(n.memoryBytes - min(fm, n.memoryBytes))
            layoutMem[key] = mb(n.memoryBytes)
        }
        return Snapshot(executorId: executorId,
                        cpus: AvailableCPU(freeCores: free, usedCores: used),
                        memory: AvailableMemory(freeMemory: freeMem, usedMemory: usedMem),
                        layout: PhysicalLayout(cores: layout, memory: layoutMem))
    }

    /// An allocation as Drove lists it: cores and memory by NUMA node.
    public static func allocations(_ a: CorralCore.Allocation, resources: EffectiveResources) -> [Allocation] {
        var cores: [String: [Int]] = [:]
        for n in resources.nodes {
            let mine = n.cpus.intersection(a.cpus)
            if !mine.isEmpty { cores[String(n.id)] = Array(mine).sorted() }
        }
        var memory: [String: UInt64] = [:]
        for (node, bytes) in a.memoryByNode { memory[String(node)] = mb(bytes) }
        if memory.isEmpty, let first = a.numaNodes.first ?? resources.nodes.first?.id { memory[String(first)] = mb(a.memoryBytes) }
        return [.cpu(cores), .memory(memory)]
    }
}
