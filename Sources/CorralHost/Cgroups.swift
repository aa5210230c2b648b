import CorralCore
import Foundation

/// The cgroup hierarchies Corral can put workloads in: cgroup v1's cpuset and
/// memory controllers (as on hybrid hosts), or a v2 hierarchy that offers
/// both. Each workload gets `corral/<name>` with its CPUs, memory nodes and
/// memory limit, created before the process starts and joined before exec.
public struct Cgroups: Sendable {
    public enum Layout: Sendable, Equatable {
        case v1(cpuset: String, memory: String?)
        case v2(root: String)
        case unavailable(reason: String)
    }

    public let layout: Layout
    public let parentName: String

    public init(layout: Layout, parentName: String = "corral") {
        self.layout = layout
        self.parentName = parentName
    }

    /// Finds the hierarchies from /proc/mounts and checks they are writable.
    public static func detect(root: FileSystemRoot = FileSystemRoot(), parentName: String = "corral") -> Cgroups {
        guard let mounts = root.read("/proc/mounts") else {
            return Cgroups(layout: .unavailable(reason: "/proc/mounts is unreadable"), parentName: parentName)
        }
        var cpuset: String?, memory: String?, unified: String?
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 4 else { continue }
            let mnt = String(f[1]), type = f[2], opts = f[3].split(separator: ",")
            if type == "cgroup" {
                if opts.contains("cpuset") { cpuset = mnt }
                if opts.contains("memory") { memory = mnt }
            } else if type == "cpuset" {
                cpuset = cpuset ?? mnt
            } else if type == "cgroup2" {
                let controllers = root.readTrimmed("\(mnt)/cgroup.controllers")?.split(separator: " ") ?? []
                if controllers.contains("cpuset") && controllers.contains("memory") { unified = mnt }
            }
        }
        if let cpuset, access(root.resolve(cpuset), W_OK) == 0 {
            return Cgroups(layout: .v1(cpuset: root.resolve(cpuset), memory: memory.map { root.resolve($0) }
                .flatMap { access($0, W_OK) == 0 ? $0 : nil }), parentName: parentName)
        }
        if let unified, access(root.resolve(unified), W_OK) == 0 {
            return Cgroups(layout: .v2(root: root.resolve(unified)), parentName: parentName)
        }
        let why = cpuset == nil && unified == nil
            ? "no cpuset cgroup controller is mounted"
            : "the cpuset cgroup hierarchy is not writable by this process"
        return Cgroups(layout: .unavailable(reason: why), parentName: parentName)
    }

    public var isAvailable: Bool {
        if case .unavailable = layout { return false }
        return true
    }

    public var summary: String {
        switch layout {
        case .v1(_, let memory): memory == nil ? "cgroup v1 (cpuset; memory not writable)" : "cgroup v1 (cpuset, memory)"
        case .v2: "cgroup v2"
        case .unavailable(let reason): "none (\(reason)): CPU affinity and memory policy only"
        }
    }

    /// A workload's cgroup directories.
    public struct Group: Sendable, Hashable, Codable {
        public var name: String
        public var directories: [String]
        /// The files a process writes "0" to in order to join.
        public var procsFiles: [String] { directories.map { $0 + "/cgroup.procs" } }
        public var memoryLimitFile: String?
        public var cpusFile: String?
        public var memsFile: String?
    }

    func write(_ value: String, to path: String) throws(HostError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw HostError(.cgroupFailed, "cannot open \(path) for writing: \(String(cString: strerror(errno)))",
                            context: ["path": path])
        }
        defer { close(fd) }
        let n = value.withCString { Foundation.write(fd, $0, strlen($0)) }
        guard n == value.utf8.count else {
            throw HostError(.cgroupFailed, "cannot write \"\(value)\" to \(path): \(String(cString: strerror(errno)))",
                            context: ["path": path])
        }
    }

    /// Parent groups already made ready by this process.
    private static let preparedParents = PreparedSet()
    static var prepared: PreparedSet { preparedParents }

    func makeDirectory(_ path: String) throws(HostError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw HostError(.cgroupFailed, "cannot create \(path): \(String(cString: strerror(errno)))", context: ["path": path])
        }
    }

    func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Creates (or reuses) `corral/<name>` with the workload's limits.
    public func create(name: String, cpus: CPUSet?, mems: CPUSet?, memoryLimit: UInt64?) throws(HostError) -> Group {
        switch layout {
        case .unavailable(let reason):
            throw HostError(.cgroupFailed, "cgroups are not available: \(reason)")
        case .v1(let cpusetMount, let memoryMount):
            // The parent needs CPUs and memory nodes before children can have any.
            let parent = "\(cpusetMount)/\(parentName)"
            // Checked once per process: the parent keeps its CPUs and nodes.
            if !Self.prepared.contains(parent) {
                try makeDirectory(parent)
                if read("\(parent)/cpuset.cpus")?.isEmpty ?? true {
                    try write(read("\(cpusetMount)/cpuset.effective_cpus") ?? read("\(cpusetMount)/cpuset.cpus") ?? "",
                              to: "\(parent)/cpuset.cpus")
                }
                if read("\(parent)/cpuset.mems")?.isEmpty ?? true {
                    try write(read("\(cpusetMount)/cpuset.effective_mems") ?? read("\(cpusetMount)/cpuset.mems") ?? "",
                              to: "\(parent)/cpuset.mems")
                }
                Self.prepared.insert(parent)
            }
            let dir = "\(parent)/\(name)"
            try makeDirectory(dir)
            // A workload without a cpuset (unpinned) gets the parent's.
            let cpuList = (cpus?.listString).flatMap { $0.isEmpty ? nil : $0 } ?? read("\(parent)/cpuset.cpus") ?? ""
            let memList = (mems?.listString).flatMap { $0.isEmpty ? nil : $0 } ?? read("\(parent)/cpuset.mems") ?? ""
            try write(cpuList, to: "\(dir)/cpuset.cpus")
            try write(memList, to: "\(dir)/cpuset.mems")
            var group = Group(name: name, directories: [dir], memoryLimitFile: nil,
                              cpusFile: "\(dir)/cpuset.cpus", memsFile: "\(dir)/cpuset.mems")
            if let memoryMount {
                let mparent = "\(memoryMount)/\(parentName)"
                try makeDirectory(mparent)
                let mdir = "\(mparent)/\(name)"
                try makeDirectory(mdir)
                if let memoryLimit, memoryLimit > 0 { try write(String(memoryLimit), to: "\(mdir)/memory.limit_in_bytes") }
                group.directories.append(mdir)
                group.memoryLimitFile = "\(mdir)/memory.limit_in_bytes"
            }
            return group
        case .v2(let root):
            let parent = "\(root)/\(parentName)"
            try makeDirectory(parent)
            try write("+cpuset +memory", to: "\(root)/cgroup.subtree_control")
            try write("+cpuset +memory", to: "\(parent)/cgroup.subtree_control")
            let dir = "\(parent)/\(name)"
            try makeDirectory(dir)
            if let cpus, !cpus.isEmpty { try write(cpus.listString, to: "\(dir)/cpuset.cpus") }
            if let mems, !mems.isEmpty { try write(mems.listString, to: "\(dir)/cpuset.mems") }
            if let memoryLimit, memoryLimit > 0 { try write(String(memoryLimit), to: "\(dir)/memory.max") }
            return Group(name: name, directories: [dir], memoryLimitFile: "\(dir)/memory.max",
                         cpusFile: "\(dir)/cpuset.cpus", memsFile: "\(dir)/cpuset.mems")
        }
    }

    /// The group of `name` if its directories exist (after a restart).
    public func existing(name: String) -> Group? {
        switch layout {
        case .unavailable: return nil
        case .v1(let cpusetMount, let memoryMount):
            let dir = "\(cpusetMount)/\(parentName)/\(name)"
            guard FileManager.default.fileExists(atPath: dir) else { return nil }
            var g = Group(name: name, directories: [dir], memoryLimitFile: nil,
                          cpusFile: "\(dir)/cpuset.cpus", memsFile: "\(dir)/cpuset.mems")
            if let memoryMount {
                let mdir = "\(memoryMount)/\(parentName)/\(name)"
                if FileManager.default.fileExists(atPath: mdir) {
                    g.directories.append(mdir)
                    g.memoryLimitFile = "\(mdir)/memory.limit_in_bytes"
                }
            }
            return g
        case .v2(let root):
            let dir = "\(root)/\(parentName)/\(name)"
            guard FileManager.default.fileExists(atPath: dir) else { return nil }
            return Group(name: name, directories: [dir], memoryLimitFile: "\(dir)/memory.max",
                         cpusFile: "\(dir)/cpuset.cpus", memsFile: "\(dir)/cpuset.mems")
        }
    }

    /// Names of the workload groups that exist now.
    public func names() -> [String] {
        let dir: String
        switch layout {
        case .unavailable: return []
        case .v1(let cpuset, _): dir = "\(cpuset)/\(parentName)"
        case .v2(let root): dir = "\(root)/\(parentName)"
        }
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(dir)/\($0)", isDirectory: &isDir) && isDir.boolValue
        }.sorted()
    }

    /// Removes the group once its processes are gone (retrying briefly: the
    /// kernel empties a cgroup a moment after its last process is reaped).
    public func remove(_ group: Group) {
        for dir in group.directories.reversed() {
            for attempt in 0..<50 {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                if attempt < 49 { usleep(10_000) }
            }
        }
    }

    /// Processes in the group now.
    public func pids(_ group: Group) -> [Int32] {
        guard let first = group.directories.first, let text = read("\(first)/cgroup.procs") else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }
}

/// A set of paths shared by every `Cgroups` value of the process.
final class PreparedSet: @unchecked Sendable {
    // @unchecked: `paths` is guarded by `lock`.
    private let lock = NSLock()
    private var paths: Set<String> = []
    func contains(_ p: String) -> Bool { lock.withLock { paths.contains(p) } }
    func insert(_ p: String) { _ = lock.withLock { paths.insert(p) } }
}
