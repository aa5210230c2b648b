/// How an executor hands out CPUs.
public enum ResourceMode: String, Sendable, Codable, CaseIterable {
    /// Each workload gets its own CPUs (cpuset) and memory from the same NUMA node(s).
    case pinned
    /// `disableNUMAPinning`: CPUs and memory are counted, not pinned.
    case unpinned
    /// `overProvisioning`: counted against multiplied (virtual) capacity, not pinned.
    case overprovisioned
}

/// What one NUMA node offers to workloads.
public struct NodeOffer: Sendable, Hashable {
    public var id: Int
    /// Usable CPUs of the node minus osCores.
    public var cpus: CPUSet
    /// The node's memory x exposedMemPercentage (0 when the node's memory is not allowed).
    public var memoryBytes: UInt64
    /// Indices of the GPUs attached to this node.
    public var gpus: [Int]
}

/// What this node offers, derived from the machine and `resources`: the
/// allocator's whole world. Pure: the same inputs always give the same offer.
public struct EffectiveResources: Sendable {
    public var mode: ResourceMode
    public var numaPolicy: NUMAPolicy
    public var fullPhysicalCores: Bool
    public var topology: Topology
    public var nodes: [NodeOffer]
    /// Offered CPUs the kernel attaches to no online NUMA node: counted in
    /// unpinned modes, never pinned (their memory locality is unknown).
    public var unattachedCPUs: CPUSet
    /// osCores that exist on this machine.
    public var osCores: CPUSet
    /// GPUs offered (none unless enableNvidiaGpu), and those with no known NUMA node.
    public var gpus: [GPU]
    public var floatingGPUs: [Int]
    public var cpuMultiplier: Int
    public var memoryMultiplier: Int
    public var tags: [String]

    /// Every CPU offered to workloads.
    public var offeredCPUs: CPUSet {
        nodes.reduce(unattachedCPUs) { $0.union($1.cpus) }
    }

    public var physicalMemoryBytes: UInt64 { nodes.reduce(0) { $0 + $1.memoryBytes } }

    /// CPUs the allocator can hand out: pinned CPUs in NUMA nodes, or the
    /// (multiplied) count of every offered CPU in unpinned modes.
    public var totalCPUs: Int {
        switch mode {
        case .pinned: nodes.reduce(0) { $0 + $1.cpus.count }
        case .unpinned: offeredCPUs.count
        case .overprovisioned: offeredCPUs.count * cpuMultiplier
        }
    }

    public var totalMemoryBytes: UInt64 {
        mode == .overprovisioned ? physicalMemoryBytes * UInt64(memoryMultiplier) : physicalMemoryBytes
    }

    public func node(_ id: Int) -> NodeOffer? { nodes.first { $0.id == id } }

    /// `bytes * pct / 100` without losing bytes or overflowing.
    static func percent(_ bytes: UInt64, _ pct: Int) -> UInt64 {
        let product = bytes.multipliedFullWidth(by: UInt64(pct))
        return UInt64(100).dividingFullWidth(product).quotient
    }

    /// Derives the offer. `file` names the config in issues; errors (osCores
    /// naming CPUs the machine lacks, nothing left to offer) come back as
    /// issues with severity error, together with explanatory warnings.
    public static func compute(topology: Topology, resources: ResourcesConfig, hostname: String,
                               file: String = "config") -> (resources: EffectiveResources, issues: [ConfigIssue]) {
        var issues: [ConfigIssue] = []
        func warn(_ path: String, _ message: String) {
            issues.append(ConfigIssue(.warning, file: file, location: nil, path: path, message: message))
        }
        let all = topology.allCPUs
        let missing = resources.osCores.subtracting(all)
        if !missing.isEmpty {
            issues.append(ConfigIssue(.error, file: file, location: nil, path: "resources.osCores",
                                      value: resources.osCores.listString,
                                      message: "CPU \(missing.listString) does not exist on this machine",
                                      allowed: "CPUs of this machine: \(all.listString)"))
        }
        let osCores = resources.osCores.intersection(all)
        let usable = topology.usableCPUs
        let disallowed = topology.onlineCPUs.subtracting(usable)
        if !disallowed.isEmpty {
            warn("", "CPUs \(disallowed.listString) are outside this process's cpuset and are not offered")
        }
        let offline = all.subtracting(topology.onlineCPUs)
        if !offline.isEmpty { warn("", "CPUs \(offline.listString) are offline and are not offered") }
        let offlineOS = osCores.subtracting(usable)
        if !offlineOS.isEmpty {
            warn("resources.osCores", "osCores \(offlineOS.listString) are offline or not allowed; nothing to reserve there")
        }

        let mode: ResourceMode = resources.overProvisioning.enabled ? .overprovisioned
            : (resources.disableNUMAPinning ? .unpinned : .pinned)

        let offeredGPUs = resources.enableNvidiaGpu ? topology.gpus : []
        if resources.enableNvidiaGpu && topology.gpus.isEmpty {
            warn("resources.enableNvidiaGpu", "GPUs are enabled but no NVIDIA GPU was found under /proc/driver/nvidia/gpus")
        }
        let nodeIDs = Set(topology.numaNodes.map(\.id))
        let floating = offeredGPUs.filter { g in g.numaNode.map { !nodeIDs.contains($0) } ?? true }.map(\.index)
        if !floating.isEmpty {
            warn("resources.enableNvidiaGpu", "GPUs \(floating.map(String.init).joined(separator: ",")) report no NUMA node; they are given to workloads on any node")
        }

        var nodes: [NodeOffer] = []
        var attached = CPUSet()
        for n in topology.numaNodes {
            let cpus = n.cpus.intersection(usable).subtracting(osCores)
            attached.formUnion(n.cpus)
            let mem = n.memoryAllowed ? percent(n.memoryBytes, resources.exposedMemPercentage) : 0
            if !n.memoryAllowed && !n.cpus.isEmpty {
                warn("", "NUMA node \(n.id)'s memory is outside this process's cpuset: its CPUs get no local memory")
            }
            let gpus = offeredGPUs.filter { $0.numaNode == n.id }.map(\.index)
            nodes.append(NodeOffer(id: n.id, cpus: cpus, memoryBytes: mem, gpus: gpus))
        }
        let unattached = usable.subtracting(attached).subtracting(osCores)
        if !unattached.isEmpty {
            warn("", "CPUs \(unattached.listString) belong to no online NUMA node: counted when unpinned, never pinned")
        }
        var tags = resources.tags
        if !tags.contains(hostname) { tags.insert(hostname, at: 0) }

        let eff = EffectiveResources(
            mode: mode, numaPolicy: resources.numaPolicy, fullPhysicalCores: resources.fullPhysicalCores,
            topology: topology, nodes: nodes, unattachedCPUs: unattached, osCores: osCores, gpus: offeredGPUs,
            floatingGPUs: floating, cpuMultiplier: resources.overProvisioning.cpuMultiplier,
            memoryMultiplier: resources.overProvisioning.memoryMultiplier, tags: tags)
        if eff.totalCPUs == 0 {
            issues.append(ConfigIssue(.error, file: file, location: nil, path: "resources.osCores",
                                      value: resources.osCores.listString,
                                      message: "no CPU is left to offer to workloads",
                                      allowed: "leave at least one usable CPU out of osCores"))
        }
        if mode != .pinned && resources.fullPhysicalCores {
            warn("resources.fullPhysicalCores", "has no effect when pinning is off")
        }
        return (eff, issues)
    }
}
