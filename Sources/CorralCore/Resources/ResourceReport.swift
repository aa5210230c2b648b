/// The JSON shape of `corral config check --json`: what this node would
/// expose. Secrets are never part of it (only which node types have one).
public struct ResourceReport: Sendable, Encodable {
    public struct Node: Sendable, Encodable {
        public var id: Int
        public var cpus: String
        public var cpuCount: Int
        public var memoryBytes: UInt64
        public var gpus: [Int]
    }

    public struct GPUEntry: Sendable, Encodable {
        public var index: Int
        public var pciBus: String
        public var numaNode: Int?
        public var model: String
    }

    public var valid = true
    public var file: String
    public var hostname: String
    public var mode: ResourceMode
    public var numaPolicy: NUMAPolicy
    public var fullPhysicalCores: Bool
    public var numaNodes: [Node]
    public var unattachedCpus: String
    public var osCores: String
    public var totalCpus: Int
    public var totalMemoryBytes: UInt64
    public var physicalCpus: Int
    public var physicalMemoryBytes: UInt64
    public var cpuMultiplier: Int
    public var memoryMultiplier: Int
    public var tags: [String]
    public var gpus: [GPUEntry]
    public var secretsConfigured: [String]
    public var warnings: [ConfigIssue]

    public init(file: String, hostname: String, resources e: EffectiveResources, config: ExecutorConfig,
                warnings: [ConfigIssue]) {
        self.file = file
        self.hostname = hostname
        mode = e.mode
        numaPolicy = e.numaPolicy
        fullPhysicalCores = e.fullPhysicalCores
        numaNodes = e.nodes.map { Node(id: $0.id, cpus: $0.cpus.listString, cpuCount: $0.cpus.count,
                                       memoryBytes: $0.memoryBytes, gpus: $0.gpus) }
        unattachedCpus = e.unattachedCPUs.listString
        osCores = e.osCores.listString
        totalCpus = e.totalCPUs
        totalMemoryBytes = e.totalMemoryBytes
        physicalCpus = e.offeredCPUs.count
        physicalMemoryBytes = e.physicalMemoryBytes
        cpuMultiplier = e.mode == .overprovisioned ? e.cpuMultiplier : 1
        memoryMultiplier = e.mode == .overprovisioned ? e.memoryMultiplier : 1
        tags = e.tags
        gpus = e.gpus.map { GPUEntry(index: $0.index, pciBus: $0.pciBus, numaNode: $0.numaNode, model: $0.model) }
        secretsConfigured = config.clusterAuth.secrets.keys.map(\.rawValue).sorted()
        self.warnings = warnings
    }

    /// The human form.
    public var text: String {
        var out = "\(file): valid\n"
        out += "  node \(hostname), mode \(mode.rawValue)"
        switch mode {
        case .pinned: out += ", numaPolicy \(numaPolicy.rawValue)\(fullPhysicalCores ? ", whole physical cores only" : "")\n"
        case .unpinned: out += " (CPUs and memory counted, not pinned)\n"
        case .overprovisioned:
            out += " (\(physicalCpus) CPUs x \(cpuMultiplier) = \(totalCpus) virtual CPUs, "
            out += "\(DataSize.human(physicalMemoryBytes)) x \(memoryMultiplier) = \(DataSize.human(totalMemoryBytes)) virtual memory)\n"
        }
        if !osCores.isEmpty { out += "  osCores (kept for the OS): \(osCores)\n" }
        for n in numaNodes {
            out += "  NUMA node \(n.id): \(n.cpuCount) CPUs \(n.cpus.isEmpty ? "(none)" : n.cpus), \(DataSize.human(n.memoryBytes)) memory"
            if !n.gpus.isEmpty { out += ", GPUs \(n.gpus.map(String.init).joined(separator: ","))" }
            out += "\n"
        }
        if !unattachedCpus.isEmpty { out += "  CPUs in no NUMA node (unpinned use only): \(unattachedCpus)\n" }
        out += "  total: \(totalCpus) CPUs, \(DataSize.human(totalMemoryBytes)) memory, \(gpus.count) GPUs\n"
        out += "  tags: \(tags.joined(separator: ", "))\n"
        out += "  cluster secrets: \(secretsConfigured.isEmpty ? "none (standalone)" : secretsConfigured.joined(separator: ", "))\n"
        for w in warnings { out += "  \(w)\n" }
        return out
    }
}
