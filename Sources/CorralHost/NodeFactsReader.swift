import CorralCore
import Foundation

/// Reads what `corral doctor` judges off a machine, every file through a
/// ``FileSystemRoot`` (so a fixture directory stands for a node). The
/// process-wide facts that have no file (this process's hard limits) and the
/// filesystems' free space are read only on the real root.
public struct NodeFactsReader: Sendable {
    public let root: FileSystemRoot

    public init(root: FileSystemRoot) { self.root = root }

    /// The daemons whose affinity the doctor checks, by their `comm` name.
    static let engineNames: Set<String> = ["dockerd", "containerd", "podman"]

    /// `paths`: role ("state directory", "instance logs", ...) to the directory Corral writes.
    public func read(paths: [(role: String, path: String)], selfName: String = "this process") -> NodeFacts {
        var f = NodeFacts(cgroups: cgroupLayout(), selfName: selfName)
        f.pid1Affinity = affinity("1")
        f.selfAffinity = affinity("self")
        f.kernelCommandLine = root.readTrimmed("/proc/cmdline")
        f.numaBalancing = root.readInt("/proc/sys/kernel/numa_balancing")
        f.zoneReclaimMode = root.readInt("/proc/sys/vm/zone_reclaim_mode")
        f.transparentHugepages = root.readTrimmed("/sys/kernel/mm/transparent_hugepage/enabled").flatMap(Self.bracketed)
        f.smtActive = root.readInt("/sys/devices/system/cpu/smt/active").map { $0 == 1 }
        f.presentCPUs = root.readTrimmed("/sys/devices/system/cpu/present").flatMap { try? CPUSet(list: $0) }
        for cpu in root.numberedEntries("/sys/devices/system/cpu", prefix: "cpu") {
            if let g = root.readTrimmed("/sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_governor") { f.governors[cpu] = g }
        }
        f.irqs = irqs()
        f.nrOpen = root.readInt("/proc/sys/fs/nr_open")
        for d in daemons() {
            if Self.engineNames.contains(d.name) { f.engineDaemons.append(d) }
            if d.name == "irqbalance" { f.irqbalance = d }
        }
        f.irqbalanceBanned = irqbalanceBanned()
        f.nvidiaToolkit = ["/usr/bin", "/usr/local/bin", "/usr/sbin"].flatMap { dir in
            ["nvidia-ctk", "nvidia-container-runtime", "nvidia-container-cli"].map { "\(dir)/\($0)" }
        }.first { root.exists($0) }
        if root.path == "/" {
            f.openFilesHardLimit = HostLimits.openFilesHardLimit()
            f.canRaiseLimits = HostLimits.canRaiseResourceLimits()
        }
        f.storage = paths.compactMap { storage(role: $0.role, path: $0.path) }
        return f
    }

    /// "always [madvise] never" -> "madvise".
    static func bracketed(_ text: String) -> String? {
        guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") else { return nil }
        return String(text[text.index(after: open)..<close])
    }

    /// A process's scheduling affinity (`process`: a pid or `self`).
    func affinity(_ process: String) -> CPUSet? {
        ProcReader.statusField(process: process, "Cpus_allowed_list", root: root).flatMap { try? CPUSet(list: $0) }
    }

    /// Every /proc/irq/N with its affinity, named from /proc/interrupts' last column.
    func irqs() -> [NodeFacts.IRQ] {
        var names: [Int: String] = [:]
        for line in (root.read("/proc/interrupts") ?? "").split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first, first.hasSuffix(":"), let n = Int(first.dropLast()), let last = fields.last else { continue }
            names[n] = String(last)
        }
        return root.list("/proc/irq").compactMap(Int.init).sorted().compactMap { n in
            guard let text = root.readTrimmed("/proc/irq/\(n)/smp_affinity_list"), let set = try? CPUSet(list: text) else { return nil }
            return NodeFacts.IRQ(number: n, name: names[n], affinity: set)
        }
    }

    /// Processes by their `comm`, with their affinity and their cgroup's cpuset.
    func daemons() -> [NodeFacts.Daemon] {
        let wanted = Self.engineNames.union(["irqbalance"])
        return root.list("/proc").compactMap(Int.init).sorted().compactMap { pid in
            guard let name = root.readTrimmed("/proc/\(pid)/comm"), wanted.contains(name) else { return nil }
            return NodeFacts.Daemon(name: name, pid: pid, affinity: affinity(String(pid)), cgroupCPUs: cgroupCPUs(pid))
        }
    }

    /// A process's cgroup v2 cpuset.cpus.effective, or v1's cpuset.cpus.
    func cgroupCPUs(_ pid: Int) -> CPUSet? {
        for line in (root.read("/proc/\(pid)/cgroup") ?? "").split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            let file: String
            if f[0] == "0" && f[1].isEmpty { file = "/sys/fs/cgroup\(f[2])/cpuset.cpus.effective" }
            else if f[1].split(separator: ",").contains("cpuset") { file = "/sys/fs/cgroup/cpuset\(f[2])/cpuset.cpus" }
            else { continue }
            if let text = root.readTrimmed(file.replacingOccurrences(of: "//", with: "/")), !text.isEmpty, let set = try? CPUSet(list: text) { return set }
        }
        return nil
    }

    /// IRQBALANCE_BANNED_CPULIST, or the hex mask IRQBALANCE_BANNED_CPUS, from /etc/default/irqbalance.
    func irqbalanceBanned() -> CPUSet? {
        guard let text = root.read("/etc/default/irqbalance") else { return nil }
        var list: CPUSet?, mask: CPUSet?
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: CharacterSet(charactersIn: " \"'"))
            if key == "IRQBALANCE_BANNED_CPULIST" { list = try? CPUSet(list: value) }
            if key == "IRQBALANCE_BANNED_CPUS" { mask = try? CPUSet(hexMask: value) }
        }
        return list ?? mask
    }

    func cgroupLayout() -> NodeFacts.CgroupLayout {
        let c = Cgroups.detect(root: root)
        switch c.layout {
        case .v1(_, let memory): return .v1(memory: memory != nil)
        case .v2(let dir):
            // Child groups get cpuset and memory only where the parent enables them.
            let enabled = (try? String(contentsOfFile: dir + "/cgroup.subtree_control", encoding: .utf8))?.split(whereSeparator: \.isWhitespace) ?? []
            return .v2(delegated: enabled.contains("cpuset") && enabled.contains("memory"))
        case .unavailable(let reason): return .unavailable(reason)
        }
    }

    /// Free space and inodes of the filesystem holding `path` (its nearest existing directory).
    func storage(role: String, path: String) -> NodeFacts.Storage? {
        let measured = root.nearestExisting(path)
        var s = statvfs()
        guard statvfs(root.resolve(measured), &s) == 0 else { return nil }
        var st = stat(), rootStat = stat()
        let onRoot = stat(root.resolve(measured), &st) == 0 && stat(root.resolve("/"), &rootStat) == 0 && st.st_dev == rootStat.st_dev
        let block = UInt64(s.f_frsize)
        return NodeFacts.Storage(role: role, path: path, measured: measured, freeBytes: UInt64(s.f_bavail) * block,
                                 totalBytes: UInt64(s.f_blocks) * block, freeInodes: UInt64(s.f_favail), totalInodes: UInt64(s.f_files),
                                 onRootFilesystem: onRoot)
    }
}
