/// The human view of a topology: packages, NUMA nodes with memory, L3 groups,
/// cores with their threads, then GPUs. CPUs outside the executor's cpuset are
/// marked, offline CPUs listed at the end.
public enum TopologyTree {
    public static func render(_ t: Topology) -> String {
        var out = ""
        let usable = t.usableCPUs
        out += "Machine: \(t.packages.count) package(s), \(t.numaNodes.count) NUMA node(s), "
        out += "\(t.cores.count) core(s), \(t.onlineCPUs.count) CPU(s) online, \(usable.count) usable, "
        out += "\(DataSize.human(t.totalMemoryBytes)) memory\n"
        let cores = t.cores
        for pkg in t.packages {
            let pkgCPUs = t.cpus(inPackage: pkg)
            out += "  Package \(pkg)  cpus \(pkgCPUs.listString)\n"
            // NUMA nodes whose CPUs sit in this package (a node may span packages: shown under each).
            let nodes = t.numaNodes.filter { !$0.cpus.intersection(pkgCPUs).isEmpty }
            let groups: [(String, CPUSet)] = nodes.isEmpty
                ? [("(no NUMA node)", pkgCPUs)]
                : nodes.map { n in
                    let mem = DataSize.human(n.memoryBytes) + (n.memoryAllowed ? "" : ", not allowed")
                    return ("NUMA node \(n.id)  \(mem)  cpus \(n.cpus.listString)", n.cpus.intersection(pkgCPUs))
                }
            for (label, cpus) in groups {
                out += "    \(label)\n"
                let inScope = cores.filter { !$0.cpus.isDisjoint(with: cpus) }
                let l3s = Array(Set(inScope.map { $0.l3 ?? -1 })).sorted()
                for l3 in l3s {
                    let indent: String
                    if l3 >= 0 {
                        out += "      L3 group \(l3)  cpus \((t.l3Groups[l3] ?? []).intersection(cpus).listString)\n"
                        indent = "        "
                    } else {
                        indent = "      "
                    }
                    for core in inScope where (core.l3 ?? -1) == l3 {
                        let threads = core.cpus.intersection(cpus).map { usable.contains($0) ? "\($0)" : "\($0) (not allowed)" }
                        out += "\(indent)Core \(core.index): \(threads.joined(separator: ", "))\n"
                    }
                }
            }
        }
        let nodesWithoutCPUs = t.numaNodes.filter { $0.cpus.isEmpty }
        for n in nodesWithoutCPUs {
            out += "  NUMA node \(n.id)  \(DataSize.human(n.memoryBytes))  (memory only)\n"
        }
        let offline = t.allCPUs.subtracting(t.onlineCPUs)
        if !offline.isEmpty { out += "  Offline CPUs: \(offline.listString)\n" }
        if t.gpus.isEmpty {
            out += "  GPUs: none\n"
        } else {
            for g in t.gpus {
                out += "  GPU \(g.index): \(g.model)  bus \(g.pciBus)  NUMA node \(g.numaNode.map(String.init) ?? "unknown")\n"
            }
        }
        return out
    }
}
