extension Topology {
    /// A regular machine built from counts, numbered the way Linux numbers
    /// Intel and AMD servers: first threads of every core, then second threads
    /// (so core `c`'s siblings are `c` and `c + cores`). Used by tests and
    /// benchmarks; every NUMA node gets `memoryPerNode` bytes.
    public static func synthetic(
        sockets: Int, nodesPerSocket: Int = 1, coresPerNode: Int, threadsPerCore: Int = 1,
        coresPerL3: Int? = nil, memoryPerNode: UInt64 = 64 << 30, gpusPerNode: Int = 0
    ) -> Topology {
        precondition(sockets > 0 && nodesPerSocket > 0 && coresPerNode > 0 && threadsPerCore > 0)
        let nodes = sockets * nodesPerSocket
        let totalCores = nodes * coresPerNode
        let l3Size = coresPerL3 ?? coresPerNode
        var cpus: [CPU] = []
        var nodeCPUs = [CPUSet](repeating: [], count: nodes)
        for core in 0..<totalCores {
            let node = core / coresPerNode
            let socket = node / nodesPerSocket
            let siblings = CPUSet((0..<threadsPerCore).map { core + $0 * totalCores })
            let l3 = node * ((coresPerNode + l3Size - 1) / l3Size) + (core % coresPerNode) / l3Size
            for t in 0..<threadsPerCore {
                let id = core + t * totalCores
                cpus.append(CPU(id: id, package: socket, core: core, coreID: core % (coresPerNode * nodesPerSocket),
                                numaNode: node, l3: l3, siblings: siblings))
                nodeCPUs[node].insert(id)
            }
        }
        let numa = (0..<nodes).map { NUMANode(id: $0, cpus: nodeCPUs[$0], memoryBytes: memoryPerNode) }
        var gpus: [GPU] = []
        for node in 0..<nodes {
            for g in 0..<gpusPerNode {
                let index = gpus.count
                gpus.append(GPU(index: index, pciBus: syntheticPCIAddress(node * 16 + g), numaNode: node,
                                model: "Synthetic GPU", minor: index))
            }
        }
        return Topology(cpus: cpus, numaNodes: numa, gpus: gpus)
    }
}

/// A PCI address like `0000:3b:00.0` for a synthetic bus number. (A free
/// function: as a String initializer it would be picked by `map(String.init)`.)
func syntheticPCIAddress(_ bus: Int) -> String {
    let hex = String(bus, radix: 16)
    return "0000:" + (hex.count < 2 ? "0" + hex : hex) + ":00.0"
}
