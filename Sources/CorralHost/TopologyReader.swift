import CorralCore
import Foundation

/// Reads a machine's topology from sysfs and procfs under a filesystem root,
/// grouping CPUs the way hwloc's Linux backend does so that the result agrees
/// with `lstopo`:
///
/// - CPUs are the online ones (`cpu/online`, or each `cpuN/online`).
/// - A core is the CPU's thread siblings (`core_cpus_list`, `thread_siblings_list`
///   or their bitmap forms) that share its package and `core_id`. When siblings
///   carry different `core_id`s (AMD compute units list both cores of a module
///   as siblings), each CPU is its own core, as hwloc decides.
/// - Packages come from `physical_package_id`, or from the package CPU lists
///   when the id is missing.
/// - NUMA nodes come from `node/nodeN/cpulist` (or `cpumap`); with no node
///   directory at all, the machine is one node 0 holding /proc/meminfo's memory.
///   A node listing CPUs an earlier node already has is dropped (broken firmware
///   tables), as hwloc drops it.
/// - "Allowed" CPUs are the process's cpuset cgroup's (v1, legacy cpuset fs,
///   v2), as hwloc's allowed set: what the executor can grant. The process's
///   own scheduling affinity (`Cpus_allowed_list` in /proc/self/status) is
///   not a limit: a child may be pinned anywhere in the cpuset, and an
///   executor kept on the OS cores by systemd's `CPUAffinity=` (as its unit
///   asks) must still offer the other cores. `corral doctor` reports that
///   affinity. Memory nodes are narrowed by `Mems_allowed_list` (the cpuset's
///   memory nodes) and the cgroup.
/// - NVIDIA GPUs come from /proc/driver/nvidia/gpus/BUS/information, with their
///   NUMA node from /sys/bus/pci/devices/BUS/numa_node (-1 means unknown).
public struct TopologyReader: Sendable {
    public let root: FileSystemRoot

    public init(root: FileSystemRoot) { self.root = root }
    public init(fsroot: String) { self.root = FileSystemRoot(fsroot) }

    static let cpuDir = "/sys/devices/system/cpu"
    static let nodeDir = "/sys/devices/system/node"

    public func read() throws(HostError) -> Topology {
        let present = presentCPUs()
        guard !present.isEmpty else {
            throw HostError(.topologyUnreadable, "no CPUs found under \(root.resolve(Self.cpuDir))",
                            context: ["fsroot": root.path])
        }
        let online = onlineCPUs(present: present)
        let (allowedCPUs, allowedMems) = allowedSets()

        // Per-CPU raw facts.
        struct Raw { var package: Int?; var coreID: Int?; var siblings: CPUSet; var packageCPUs: CPUSet? }
        var raw: [Int: Raw] = [:]
        for id in online {
            let t = "\(Self.cpuDir)/cpu\(id)/topology"
            let pkg = root.readInt("\(t)/physical_package_id").flatMap { $0 < 0 ? nil : $0 }
            let coreID = root.readInt("\(t)/core_id").flatMap { $0 < 0 ? nil : $0 }
            let siblings = readSet(list: ["\(t)/core_cpus_list", "\(t)/thread_siblings_list"],
                                   mask: ["\(t)/core_cpus", "\(t)/thread_siblings"]) ?? [id]
            let pkgCPUs = readSet(list: ["\(t)/package_cpus_list", "\(t)/core_siblings_list"],
                                  mask: ["\(t)/package_cpus", "\(t)/core_siblings"])
            raw[id] = Raw(package: pkg, coreID: coreID, siblings: siblings.intersection(online).union([id]),
                          packageCPUs: pkgCPUs?.intersection(online))
        }

        // Packages: physical id, else the index of the package CPU set.
        var packageOf: [Int: Int] = [:]
        let pkgSets = Array(Set(online.compactMap { raw[$0]!.package == nil ? raw[$0]!.packageCPUs : nil }))
            .sorted { ($0.first ?? 0) < ($1.first ?? 0) }
        for id in online {
            let r = raw[id]!
            if let p = r.package {
                packageOf[id] = p
            } else if let set = r.packageCPUs, let idx = pkgSets.firstIndex(of: set) {
                packageOf[id] = idx
            } else {
                packageOf[id] = 0
            }
        }

        // Cores: siblings sharing package and core_id (hwloc's rule, see above).
        var coreSetOf: [Int: CPUSet] = [:]
        for id in online {
            let r = raw[id]!
            var set = CPUSet([id])
            for s in r.siblings where s != id {
                guard let other = raw[s], packageOf[s] == packageOf[id] else { continue }
                if let a = r.coreID, let b = other.coreID, a != b { continue }
                set.insert(s)
            }
            coreSetOf[id] = set
        }
        // Make the relation symmetric: a CPU whose sibling view disagrees keeps
        // only the CPUs that also name it.
        for id in online {
            coreSetOf[id] = CPUSet(coreSetOf[id]!.filter { coreSetOf[$0]!.contains(id) })
        }
        let distinctCores = Array(Set(coreSetOf.values)).sorted { $0.first! < $1.first! }
        var coreIndexOf: [Int: Int] = [:]
        for (i, set) in distinctCores.enumerated() { for c in set { coreIndexOf[c] = i } }

        // L3 groups.
        var l3SetOf: [Int: CPUSet] = [:]
        for id in online {
            let cache = "\(Self.cpuDir)/cpu\(id)/cache"
            for idx in root.numberedEntries(cache, prefix: "index") {
                let dir = "\(cache)/index\(idx)"
                guard root.readInt("\(dir)/level") == 3 else { continue }
                if root.readTrimmed("\(dir)/type") == "Instruction" { continue }
                if let set = readSet(list: ["\(dir)/shared_cpu_list"], mask: ["\(dir)/shared_cpu_map"]) {
                    l3SetOf[id] = set.intersection(online).union([id])
                }
            }
        }
        let distinctL3 = Array(Set(l3SetOf.values)).sorted { $0.first! < $1.first! }
        var l3IndexOf: [Int: Int] = [:]
        for (i, set) in distinctL3.enumerated() { for c in set { l3IndexOf[c] = i } }

        // NUMA nodes.
        var nodes = rehomeCPUOnlyNodes(readNodes(online: online))
        if nodes.isEmpty {
            let mem = meminfoTotal(root.read("/proc/meminfo")) ?? 0
            nodes = [NUMANode(id: 0, cpus: online, memoryBytes: mem)]
        }
        if let mems = allowedMems {
            for i in nodes.indices { nodes[i].memoryAllowed = mems.contains(nodes[i].id) }
        }
        var nodeOf: [Int: Int] = [:]
        for n in nodes { for c in n.cpus { nodeOf[c] = n.id } }

        var cpus: [CPU] = []
        for id in present {
            guard online.contains(id) else {
                cpus.append(CPU(id: id, package: nil, core: nil, numaNode: nil, l3: nil, siblings: [id],
                                online: false, allowed: allowedCPUs?.contains(id) ?? true))
                continue
            }
            cpus.append(CPU(id: id, package: packageOf[id], core: coreIndexOf[id], coreID: raw[id]!.coreID,
                            numaNode: nodeOf[id], l3: l3IndexOf[id], siblings: coreSetOf[id]!,
                            online: true, allowed: allowedCPUs?.contains(id) ?? true))
        }
        let total = meminfoTotal(root.read("/proc/meminfo"))
        return Topology(cpus: cpus, numaNodes: nodes, gpus: readGPUs(), totalMemoryBytes: total)
    }

    // MARK: CPUs

    func presentCPUs() -> CPUSet {
        var set = CPUSet(root.numberedEntries(Self.cpuDir, prefix: "cpu"))
        // `present` can list CPUs without a directory in a dump; trust directories
        // when they exist, the file otherwise.
        if set.isEmpty, let text = root.read("\(Self.cpuDir)/present"), let p = try? CPUSet(list: text) {
            set = p
        }
        return set
    }

    func onlineCPUs(present: CPUSet) -> CPUSet {
        if let text = root.read("\(Self.cpuDir)/online"), let set = try? CPUSet(list: text) {
            return set.intersection(present)
        }
        // Older kernels: each cpuN/online (cpu0 often has none: it cannot go offline).
        return CPUSet(present.filter { root.readInt("\(Self.cpuDir)/cpu\($0)/online") ?? 1 == 1 })
    }

    func readSet(list: [String], mask: [String]) -> CPUSet? {
        for p in list {
            if let t = root.read(p), let s = try? CPUSet(list: t) { return s }
        }
        for p in mask {
            if let t = root.read(p), let s = try? CPUSet(hexMask: t) { return s }
        }
        return nil
    }

    // MARK: NUMA

    func readNodes(online: CPUSet) -> [NUMANode] {
        var ids = root.numberedEntries(Self.nodeDir, prefix: "node")
        if let text = root.read("\(Self.nodeDir)/online"), let on = try? CPUSet(list: text) {
            ids = ids.filter { on.contains($0) }
        }
        // A node whose CPUs were already given to an earlier node means the
        // firmware's NUMA table is wrong (a BIOS listing every CPU in every
        // node): that node is dropped, as hwloc drops it.
        var claimed = CPUSet()
        return ids.compactMap { id in
            let dir = "\(Self.nodeDir)/node\(id)"
            let cpus = readSet(list: ["\(dir)/cpulist"], mask: ["\(dir)/cpumap"]) ?? []
            guard cpus.isDisjoint(with: claimed) else { return nil }
            claimed.formUnion(cpus)
            let mem = nodeMemTotal(root.read("\(dir)/meminfo")) ?? 0
            let distances = root.readTrimmed("\(dir)/distance").map {
                $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }
            }
            return NUMANode(id: id, cpus: cpus.intersection(online), memoryBytes: mem, distances: distances)
        }
    }

    /// Machines whose CPUs sit in nodes without memory and whose memory sits
    /// in nodes without CPUs (HMAT: the kernel links them through each memory
    /// node's `accessN/initiators`). As hwloc does, the CPU-only nodes are
    /// hidden and their CPUs belong to the memory node that names them as
    /// initiators: of CPU initiators (`access1`) when the kernel gives them,
    /// else of any (`access0`); of several, the one with the fewest
    /// initiators (the most local), then the lowest id.
    func rehomeCPUOnlyNodes(_ nodes: [NUMANode]) -> [NUMANode] {
        let cpuOnly = Set(nodes.filter { !$0.cpus.isEmpty && $0.memoryBytes == 0 }.map(\.id))
        guard !cpuOnly.isEmpty else { return nodes }
        var home: [Int: (node: Int, initiators: Int)] = [:]
        for m in nodes where m.cpus.isEmpty && m.memoryBytes > 0 {
            let dir = "\(Self.nodeDir)/node\(m.id)"
            var initiators = root.numberedEntries("\(dir)/access1/initiators", prefix: "node")
            if initiators.isEmpty { initiators = root.numberedEntries("\(dir)/access0/initiators", prefix: "node") }
            for i in initiators where cpuOnly.contains(i) {
                if let h = home[i], (h.initiators, h.node) <= (initiators.count, m.id) { continue }
                home[i] = (m.id, initiators.count)
            }
        }
        guard !home.isEmpty else { return nodes }
        var out = nodes
        for (cpuNode, h) in home {
            guard let from = out.firstIndex(where: { $0.id == cpuNode }), let to = out.firstIndex(where: { $0.id == h.node }) else { continue }
            out[to].cpus.formUnion(out[from].cpus)
            out[from].cpus = []
        }
        // The emptied CPU-only nodes hold nothing any more.
        return out.filter { !($0.cpus.isEmpty && $0.memoryBytes == 0 && home[$0.id] != nil) }
    }

    /// "Node 0 MemTotal:  8388608 kB" -> bytes.
    func nodeMemTotal(_ text: String?) -> UInt64? {
        guard let text else { return nil }
        for line in text.split(separator: "\n") where line.contains("MemTotal:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if let i = parts.firstIndex(of: "MemTotal:"), i + 1 < parts.count, let kb = UInt64(parts[i + 1]) {
                return kb * 1024
            }
        }
        return nil
    }

    /// /proc/meminfo "MemTotal:  16318412 kB" -> bytes.
    func meminfoTotal(_ text: String?) -> UInt64? { nodeMemTotal(text) }

    // MARK: Allowed CPUs and memory nodes

    func allowedSets() -> (cpus: CPUSet?, mems: CPUSet?) {
        var cpus: CPUSet? = nil
        var mems: CPUSet? = nil
        func narrow(_ current: inout CPUSet?, _ new: CPUSet?) {
            guard let new else { return }
            current = current.map { $0.intersection(new) } ?? new
        }
        narrow(&mems, ProcReader.statusField(process: "self", "Mems_allowed_list", root: root).flatMap { try? CPUSet(list: $0) })
        if let cg = cpusetCgroup() {
            narrow(&cpus, cg.cpus)
            narrow(&mems, cg.mems)
        }
        return (cpus, mems)
    }

    /// The CPUs and memory nodes of this process's cpuset cgroup, found the way
    /// hwloc finds them: the cgroup path from /proc/self/cpuset (or
    /// /proc/self/cgroup), the mount point from /proc/mounts.
    func cpusetCgroup() -> (cpus: CPUSet?, mems: CPUSet?)? {
        guard let mounts = root.read("/proc/mounts") else { return nil }
        var path = root.readTrimmed("/proc/self/cpuset")
        var unifiedPath: String? = nil
        if let cgroup = root.read("/proc/self/cgroup") {
            for line in cgroup.split(separator: "\n") {
                let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard f.count == 3 else { continue }
                if f[1].split(separator: ",").contains("cpuset") { path = path ?? String(f[2]) }
                if f[0] == "0" && f[1].isEmpty { unifiedPath = String(f[2]) }
            }
        }
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 4 else { continue }
            let mountPoint = String(f[1]), fsType = f[2], options = f[3].split(separator: ",")
            var files: (cpus: [String], mems: [String])? = nil
            var cgPath = path
            if fsType == "cpuset" {
                files = (["cpus"], ["mems"])
            } else if fsType == "cgroup" && options.contains("cpuset") {
                // As hwloc reads cgroup v1: `cpuset.cpus` and `cpuset.mems` (`cpus` and
                // `mems` when mounted with `noprefix`). The effective_* files differ
                // only by offline CPUs and nodes, which are taken out anyway.
                files = options.contains("noprefix") ? (["cpus"], ["mems"]) : (["cpuset.cpus"], ["cpuset.mems"])
            } else if fsType == "cgroup2" && (mountPoint == "/sys/fs/cgroup" || path == nil) {
                files = (["cpuset.cpus.effective"], ["cpuset.mems.effective"])
                cgPath = unifiedPath ?? path
            }
            guard let files, let cgPath else { continue }
            let dir = mountPoint + (cgPath == "/" ? "" : cgPath)
            let c = files.cpus.lazy.compactMap { root.read("\(dir)/\($0)") }.first.flatMap { try? CPUSet(list: $0) }
            let m = files.mems.lazy.compactMap { root.read("\(dir)/\($0)") }.first.flatMap { try? CPUSet(list: $0) }
            if c != nil || m != nil {
                // An empty effective set means "not restricted here" on cgroup v2.
                return (c.flatMap { $0.isEmpty ? nil : $0 }, m.flatMap { $0.isEmpty ? nil : $0 })
            }
        }
        return nil
    }

    // MARK: GPUs

    func readGPUs() -> [GPU] {
        let dir = "/proc/driver/nvidia/gpus"
        let buses = root.list(dir).sorted()
        var gpus: [GPU] = []
        for bus in buses {
            guard let info = root.read("\(dir)/\(bus)/information") else { continue }
            var fields: [String: String] = [:]
            for line in info.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let key = line[..<colon].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                fields[key] = value
            }
            let pciBus = (fields["Bus Location"] ?? bus).lowercased()
            let node = root.readInt("/sys/bus/pci/devices/\(pciBus)/numa_node").flatMap { $0 < 0 ? nil : $0 }
            gpus.append(GPU(index: gpus.count, pciBus: pciBus, numaNode: node,
                            model: fields["Model"] ?? "unknown", uuid: fields["GPU UUID"],
                            minor: fields["Device Minor"].flatMap { Int($0) }))
        }
        return gpus
    }
}
