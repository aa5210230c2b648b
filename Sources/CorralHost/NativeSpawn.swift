import CCorralShim
import CorralCore
import Foundation

/// How to start a native process: the program, its environment, and the
/// pinning and limits applied in the child before exec.
public struct SpawnSpec: Sendable {
    public enum MemoryPolicy: Int32, Sendable {
        /// Allocate only from the given nodes (MPOL_BIND).
        case bind = 2
        /// Prefer the given node, fall back elsewhere (MPOL_PREFERRED).
        case preferred = 1
    }

    /// Absolute path of the program.
    public var executable: String
    /// argv, including argv[0].
    public var arguments: [String]
    public var environment: [String: String]
    public var workingDirectory: String?
    public var cpus: CPUSet?
    public var memoryNodes: CPUSet?
    public var memoryPolicy: MemoryPolicy = .bind
    public var maxOpenFiles: Int?
    public var maxProcesses: Int?
    public var uid: UInt32?
    public var gid: UInt32?
    /// `cgroup.procs` files the child joins before anything else.
    public var cgroupProcs: [String] = []
    public var stdin: Int32 = -1
    public var stdout: Int32 = -1
    public var stderr: Int32 = -1
    /// Becomes descriptor 3 in the child.
    public var extraFD: Int32 = -1
    /// Ignore SIGTERM, SIGINT, SIGHUP and SIGQUIT from exec on (for the runner).
    public var ignoreStopSignals = false

    public init(executable: String, arguments: [String], environment: [String: String] = [:]) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }
}

public enum NativeSpawn {
    static func stageName(_ stage: Int32) -> String {
        switch UInt32(stage) {
        case CORRAL_STAGE_SETSID.rawValue: "starting a new session"
        case CORRAL_STAGE_CGROUP.rawValue: "joining the cgroup"
        case CORRAL_STAGE_AFFINITY.rawValue: "setting CPU affinity"
        case CORRAL_STAGE_MEMPOLICY.rawValue: "setting the NUMA memory policy"
        case CORRAL_STAGE_NOFILE.rawValue: "setting the open-files limit"
        case CORRAL_STAGE_NPROC.rawValue: "setting the process limit"
        case CORRAL_STAGE_FDS.rawValue: "setting up standard streams"
        case CORRAL_STAGE_CHDIR.rawValue: "changing to the working directory"
        case CORRAL_STAGE_SETGID.rawValue: "switching group"
        case CORRAL_STAGE_SETUID.rawValue: "switching user"
        case CORRAL_STAGE_EXEC.rawValue: "executing the program"
        case CORRAL_STAGE_FORK.rawValue: "forking"
        default: "preparing the child"
        }
    }

    /// Words of a kernel bitmap (cpu_set_t, nodemask_t), at least `minBits` long.
    static func bitmap(_ set: CPUSet, minBits: Int) -> [UInt] {
        let bits = max(minBits, (set.last ?? 0) + 1)
        var words = [UInt](repeating: 0, count: (bits + 63) / 64)
        for id in set { words[id / 64] |= 1 << UInt(id % 64) }
        return words
    }

    /// Starts the process; returns its pid once it has exec'd.
    public static func spawn(_ spec: SpawnSpec) throws(HostError) -> pid_t {
        let argv = spec.arguments.map { strdup($0) } + [nil]
        let envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let cgroups = spec.cgroupProcs.map { UnsafePointer(strdup($0)) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
            cgroups.forEach { free(UnsafeMutablePointer(mutating: $0)) }
        }
        let cpuMask = spec.cpus.map { bitmap($0, minBits: 1024) }
        let memMask = spec.memoryNodes.map { bitmap($0, minBits: 64) }
        var pid: pid_t = 0
        var stage: Int32 = 0
        var error: Int32 = 0
        let rc: Int32 = argv.withUnsafeBufferPointer { argvBuf in
            envp.withUnsafeBufferPointer { envBuf in
                cgroups.withUnsafeBufferPointer { cgBuf in
                    (cpuMask ?? []).withUnsafeBufferPointer { cpuBuf in
                        (memMask ?? []).withUnsafeBufferPointer { memBuf in
                            spec.executable.withCString { path in
                                withOptionalCString(spec.workingDirectory) { cwd in
                                    var attr = corral_spawn_attr()
                                    attr.path = path
                                    attr.argv = UnsafePointer(argvBuf.baseAddress)
                                    attr.envp = UnsafePointer(envBuf.baseAddress)
                                    attr.cwd = cwd
                                    attr.cpu_mask = cpuMask == nil ? nil : cpuBuf.baseAddress
                                    attr.cpu_mask_bytes = Int32((cpuMask?.count ?? 0) * MemoryLayout<UInt>.size)
                                    attr.mem_policy = memMask == nil ? -1 : spec.memoryPolicy.rawValue
                                    attr.mem_mask = memMask == nil ? nil : memBuf.baseAddress
                                    // The kernel reads maxnode - 1 bits.
                                    attr.mem_maxnode = UInt((memMask?.count ?? 0) * 64 + 1)
                                    attr.nofile = Int64(spec.maxOpenFiles ?? -1)
                                    attr.nproc = Int64(spec.maxProcesses ?? -1)
                                    attr.uid = spec.uid.map { Int32(bitPattern: $0) } ?? -1
                                    attr.gid = spec.gid.map { Int32(bitPattern: $0) } ?? -1
                                    attr.cgroup_procs = cgBuf.baseAddress
                                    attr.cgroup_count = Int32(spec.cgroupProcs.count)
                                    attr.stdin_fd = spec.stdin
                                    attr.stdout_fd = spec.stdout
                                    attr.stderr_fd = spec.stderr
                                    attr.extra_fd = spec.extraFD
                                    attr.ignore_stop_signals = spec.ignoreStopSignals ? 1 : 0
                                    return corral_spawn(&attr, &pid, &stage, &error)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard rc == 0 else {
            let reason = String(cString: strerror(error))
            throw HostError(.spawnFailed, "cannot start \(spec.executable): \(stageName(stage)) failed: \(reason)",
                            context: ["program": spec.executable, "step": stageName(stage), "errno": String(error)])
        }
        return pid
    }

    /// A pipe whose ends are close-on-exec from the start (pipe2): set in a
    /// second step, a child spawned by another thread in between would keep
    /// an end open and the reader would never see end-of-file.
    public static func pipe(flags: Int32 = 0) throws(HostError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard corral_pipe_cloexec(&fds, flags) == 0 else {
            throw HostError(.spawnFailed, "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        return (fds[0], fds[1])
    }

    /// The absolute path of `command` (as given if it contains a slash, else
    /// searched in PATH), checked to be an executable file.
    public static func resolve(_ command: String, path: String?) throws(HostError) -> String {
        func executable(_ p: String) -> Bool {
            var st = stat()
            return stat(p, &st) == 0 && (st.st_mode & S_IFMT) != S_IFDIR && access(p, X_OK) == 0
        }
        if command.contains("/") {
            guard executable(command) else {
                throw HostError(.spawnFailed, "\(command) is not an executable file", context: ["program": command])
            }
            return command
        }
        let dirs = (path ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":")
        for d in dirs where executable("\(d)/\(command)") { return "\(d)/\(command)" }
        throw HostError(.spawnFailed, "\(command) was not found in PATH (\(dirs.joined(separator: ":")))",
                        context: ["program": command])
    }
}

private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}
