import CorralCore

/// The baseline: Drove's placement. The first NUMA node (by id) with enough
/// free CPUs and memory, and the lowest free CPU ids on it.
struct FirstFitBaseline {
    struct Held {
        var node: Int
        var cpus: CPUSet
        var memory: UInt64
    }

    var nodes: [NodeOffer]
    var freeCPUs: CPUSet
    var freeMemory: [UInt64]
    var held: [String: Held] = [:]

    init(resources: EffectiveResources) {
        nodes = resources.nodes
        freeCPUs = resources.nodes.reduce(CPUSet()) { $0.union($1.cpus) }
        freeMemory = resources.nodes.map(\.memoryBytes)
    }

    mutating func reserve(cpus n: Int, memory: UInt64, id: String) -> Bool {
        for (i, node) in nodes.enumerated() {
            let free = node.cpus.intersection(freeCPUs)
            guard free.count >= n, freeMemory[i] >= memory else { continue }
            let take = free.prefix(n)
            freeCPUs.subtract(take)
            freeMemory[i] -= memory
            held[id] = Held(node: i, cpus: take, memory: memory)
            return true
        }
        return false
    }

    mutating func release(_ id: String) {
        guard let h = held.removeValue(forKey: id) else { return }
        freeCPUs.formUnion(h.cpus)
        freeMemory[h.node] += h.memory
    }
}
