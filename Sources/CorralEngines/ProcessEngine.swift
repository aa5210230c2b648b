import CorralCore
import CorralHost
import Dispatch
import Foundation

/// Runs native commands pinned to their allocation, with no container runtime.
///
/// Each workload is started as `corral-runner -- COMMAND...` by a child that,
/// between fork and exec, starts a new session, joins the workload's cgroup
/// (cpuset, memory limit) when cgroups are writable, sets CPU affinity and a
/// bind memory policy to its NUMA node(s), the open-files limit, user, group
/// and working directory: the command is pinned from its first instruction.
/// The runner stays as its parent and records its exit status in a file, so
/// a result survives an executor restart.
///
/// Output goes through a named pipe in the workload's state directory that the
/// workload holds open for reading and writing: while the executor is down its
/// writes wait in the pipe instead of failing, and a restarted executor
/// reopens the pipe and goes on reading.
///
/// State lives in `stateDir/<instanceID>/` (mode 0700): `handle.json` (written
/// before the spawn), `pid` (the runner's pid and start time, after it),
/// `status`, `output.fifo`.
public final class ProcessEngine: Engine {
    public let kind = EngineKind.process
    public let stateDir: String
    public let runnerPath: String
    public let cgroups: Cgroups
    /// False when the executor describes a machine other than this one
    /// (`--fsroot` with a recorded topology): allocations are booked as on that
    /// machine, but no affinity, memory policy or cpuset is applied (its CPUs
    /// and nodes may not exist here).
    public let appliesPinning: Bool
    let watcher: ExitWatcher
    let readers = OutputReader()

    public init(stateDir: String, runnerPath: String? = nil, cgroups: Cgroups = .detect(),
                watcher: ExitWatcher = .shared, appliesPinning: Bool = true) throws(EngineError) {
        self.stateDir = stateDir
        self.appliesPinning = appliesPinning
        self.cgroups = cgroups
        self.watcher = watcher
        guard let runner = runnerPath ?? ProcessEngine.findRunner() else {
            throw EngineError(.unavailable, "corral-runner was not found beside the corral executable or in PATH;"
                              + " set CORRAL_RUNNER to its path")
        }
        self.runnerPath = runner
        do {
            try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        } catch {
            throw EngineError(.unavailable, "cannot create the process state directory \(stateDir): \(error.localizedDescription)")
        }
    }

    /// `CORRAL_RUNNER`, then beside this executable (or test bundle), then PATH.
    public static func findRunner() -> String? {
        if let env = ProcessInfo.processInfo.environment["CORRAL_RUNNER"], access(env, X_OK) == 0 { return env }
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((exe as NSString).deletingLastPathComponent + "/corral-runner")
        }
        let arg0 = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        candidates.append(arg0.appendingPathComponent("corral-runner").path)
        candidates.append(arg0.deletingLastPathComponent().appendingPathComponent("corral-runner").path)
        for c in candidates where access(c, X_OK) == 0 { return c }
        return try? NativeSpawn.resolve("corral-runner", path: ProcessInfo.processInfo.environment["PATH"])
    }

    func dir(_ instanceID: String) -> String { "\(stateDir)/\(instanceID)" }

    /// What an instance id may look like: it names a directory and a cgroup.
    static func validID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 128 && id != "." && id != ".."
            && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }

    public func ping() async -> Bool { access(runnerPath, X_OK) == 0 }

    // MARK: Start

    public func start(_ launch: Launch, output: any LogSink) async throws(EngineError) -> WorkloadHandle {
        guard case .process(let command, let workingDir) = launch.executable, let program = command.first else {
            throw EngineError(.startFailed, "the process engine runs executables of type PROCESS with a non-empty command")
        }
        guard Self.validID(launch.instanceID) else {
            throw EngineError(.startFailed, "instance id \"\(launch.instanceID)\" may hold only letters, digits, '-', '_' and '.'")
        }
        var warnings: [String] = []
        let path: String
        let inheritedPATH = getenv("PATH").map { String(cString: $0) }
        do {
            path = try NativeSpawn.resolve(program, path: launch.env["PATH"] ?? inheritedPATH)
        } catch {
            throw EngineError(.startFailed, error.message, context: ["program": program])
        }
        if let wd = workingDir {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: wd, isDirectory: &isDir), isDir.boolValue else {
                throw EngineError(.startFailed, "working directory \(wd) does not exist", context: ["workingDir": wd])
            }
        }
        let nofile = try openFilesLimit(launch.maxOpenFiles, warnings: &warnings)
        let (uid, gid) = try resolveUser(launch.user)

        let d = dir(launch.instanceID)
        if mkdir(d, 0o700) != 0 {
            // Left over from an earlier workload of the same id (or the state directory is gone): start afresh.
            do {
                if errno == EEXIST { try FileManager.default.removeItem(atPath: d) }
                try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw EngineError(.startFailed, "cannot prepare \(d): \(error.localizedDescription)")
            }
        }

        var configEnv: [String: String] = [:]
        if !launch.configs.isEmpty {
            do throws(EngineError) {
                configEnv[ConfigSpec.processDirVariable] = try writeConfigs(launch.configs, under: d, uid: uid, gid: gid)
            } catch {
                try? FileManager.default.removeItem(atPath: d)
                throw error
            }
        }

        // Every step below is undone in this one place if a later one fails.
        var group: Cgroups.Group? = nil
        var fds: [Int32] = []
        func undo() {
            for fd in fds { close(fd) }
            if let group { cgroups.remove(group) }
            try? FileManager.default.removeItem(atPath: d)
        }

        var a = launch.allocation
        if !appliesPinning { a.pinned = false }
        var confinement = appliesPinning ? "CPU affinity and memory policy only (\(cgroups.summary))" : "not pinned (recorded topology)"
        if cgroups.isAvailable {
            do {
                group = try cgroups.create(name: launch.instanceID, cpus: a.pinned ? a.cpus : nil,
                                           mems: a.pinned ? CPUSet(a.numaNodes) : nil,
                                           memoryLimit: a.memoryBytes > 0 ? a.memoryBytes : nil)
                confinement = cgroups.summary
            } catch {
                warnings.append("no cgroup: \(error.message); pinned by CPU affinity and memory policy only")
            }
        }

        let statusPath = "\(d)/status", fifoPath = "\(d)/output.fifo"
        let statusFD = open(statusPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard statusFD >= 0, mkfifo(fifoPath, 0o600) == 0 else {
            if statusFD >= 0 { close(statusFD) }
            undo()
            throw EngineError(.startFailed, "cannot create \(statusPath) or \(fifoPath): \(String(cString: strerror(errno)))")
        }
        fds.append(statusFD)
        // Reader first (non-blocking), then the workload's read-write end.
        let readFD = open(fifoPath, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        let writeFD = readFD >= 0 ? open(fifoPath, O_RDWR | O_CLOEXEC) : -1
        guard readFD >= 0, writeFD >= 0 else {
            if readFD >= 0 { close(readFD) }
            undo()
            throw EngineError(.startFailed, "cannot open \(fifoPath): \(String(cString: strerror(errno)))")
        }
        fds.append(writeFD)
        _ = fcntl(writeFD, 1031 /* F_SETPIPE_SZ */, 1 << 20)  // room for output while the executor is away

        var env = launch.env.merging(configEnv) { _, ours in ours }
        if env["PATH"] == nil { env["PATH"] = inheritedPATH ?? "/usr/local/bin:/usr/bin:/bin" }
        var spec = SpawnSpec(executable: runnerPath,
                             arguments: ["corral-runner", "--status-fd", "3", "--instance", launch.instanceID, "--", path] + Array(command.dropFirst()) + launch.args,
                             environment: env)
        spec.workingDirectory = workingDir
        if a.pinned {
            spec.cpus = a.cpus
            spec.memoryNodes = CPUSet(a.numaNodes)
            spec.memoryPolicy = .bind
        }
        spec.maxOpenFiles = nofile
        spec.uid = uid
        spec.gid = gid
        spec.cgroupProcs = group?.procsFiles ?? []
        spec.stdout = writeFD
        spec.stderr = writeFD
        spec.extraFD = statusFD
        spec.ignoreStopSignals = true
        // Recorded before the spawn, without a pid: an executor killed between
        // the spawn and the final record still finds the runner (by its
        // `--instance` argument) on the next start, so nothing is orphaned.
        var record = Record(handle: WorkloadHandle(engine: kind, id: "", instanceID: launch.instanceID,
                                                   confinement: confinement, warnings: warnings),
                            appID: launch.appID, kind: launch.kind, specHash: launch.specHash, cgroup: group)
        do {
            try save(record)
        } catch {
            close(readFD)
            undo()
            throw EngineError(.startFailed, "cannot record the workload in \(d): \(error); not started")
        }
        let pid: pid_t
        do {
            pid = try NativeSpawn.spawn(spec)
        } catch {
            close(readFD)
            undo()
            throw EngineError(.startFailed, error.message, context: error.context)
        }
        for fd in fds { close(fd) }
        fds = []
        record.handle.id = String(pid)
        record.handle.pid = pid
        record.handle.startTime = ProcReader.startTime(pid: pid)
        // The pid beside the record (a few bytes, not the record again): with
        // the start time it names the runner for good.
        do {
            try AtomicFile.write(Data("\(pid) \(record.handle.startTime ?? 0)\n".utf8), to: "\(d)/pid")
        } catch {
            record.handle.warnings.append("could not record the runner's pid: \(error)")
        }
        let handle = record.handle
        readers.start(instanceID: launch.instanceID, fd: readFD, sink: output)
        return handle
    }

    /// What is persisted per workload, for discovery after a restart.
    struct Record: Codable {
        var handle: WorkloadHandle
        var appID: String
        var kind: WorkloadKind
        var specHash: String
        var cgroup: Cgroups.Group?
    }

    /// Writes `handle.json` whole or not at all (a temporary file renamed over
    /// it), without an fsync: it must survive the executor being killed, which
    /// the page cache does; a power loss ends the workloads too. (Foundation's
    /// `.atomic` write fsyncs, about 0.5 ms per start on this disk, twice.)
    func save(_ record: Record) throws {
        let final = "\(dir(record.handle.instanceID))/handle.json"
        try AtomicFile.write(try JSONEncoder().encode(record), to: final)
    }

    /// The record of a workload: `handle.json` (written before the spawn)
    /// with the runner's pid and start time from `pid` (written after it).
    func record(_ instanceID: String) -> Record? {
        guard let data = FileManager.default.contents(atPath: "\(dir(instanceID))/handle.json"),
              var r = try? JSONDecoder().decode(Record.self, from: data) else { return nil }
        if r.handle.pid == nil, let text = try? String(contentsOfFile: "\(dir(instanceID))/pid", encoding: .utf8) {
            let parts = text.split(whereSeparator: \.isWhitespace)
            if parts.count == 2, let pid = Int32(parts[0]), let start = UInt64(parts[1]) {
                r.handle.pid = pid
                r.handle.id = String(pid)
                r.handle.startTime = start == 0 ? nil : start
            }
        }
        return r
    }

    /// The open-files limit a child can get: the request, or the hard limit
    /// with a warning when this process may not raise it (no CAP_SYS_RESOURCE).
    func openFilesLimit(_ wanted: Int, warnings: inout [String]) throws(EngineError) -> Int {
        let hard = HostLimits.openFilesHardLimit()
        if UInt64(wanted) <= hard || HostLimits.canRaiseResourceLimits() { return wanted }
        warnings.append("maxOpenFiles \(wanted) is above this host's hard limit \(hard) and the executor may not raise it"
                        + " (no CAP_SYS_RESOURCE): the workload gets \(hard)")
        return Int(hard)
    }

    /// Writes a native workload's config files below `<dir>/configs` (files
    /// 0444, directories 0755, owned by the workload's user when it has one;
    /// the instance directory then lets that user through, 0711, its own
    /// files staying 0600). Returns the directory for `CORRAL_CONFIGS_DIR`.
    func writeConfigs(_ configs: [ConfigSpec], under d: String, uid: UInt32?, gid: UInt32?) throws(EngineError) -> String {
        let root = "\(d)/configs"
        let fm = FileManager.default
        for c in configs {
            let data: Data
            do throws(WorkloadFileError) { data = try c.contents() } catch {
                throw EngineError(.startFailed, error.description, context: ["localFilename": c.localFilename])
            }
            let path = "\(root)/\(c.relativePath)"
            let parent = (path as NSString).deletingLastPathComponent
            do {
                try fm.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                guard fm.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o444]) else {
                    throw EngineError(.startFailed, "config file \(c.localFilename): cannot write \(path)")
                }
            } catch let e as EngineError {
                throw e
            } catch {
                throw EngineError(.startFailed, "config file \(c.localFilename): cannot write \(path): \(error.localizedDescription)")
            }
        }
        if uid != nil || gid != nil {
            let owner = (uid ?? getuid(), gid ?? getgid())
            var paths = [root]
            if let sub = fm.enumerator(atPath: root) { for case let p as String in sub { paths.append("\(root)/\(p)") } }
            for p in paths where chown(p, owner.0, owner.1) != 0 {
                throw EngineError(.startFailed, "cannot give \(p) to uid \(owner.0): \(String(cString: strerror(errno)))")
            }
            chmod(d, 0o711)
        }
        return root
    }

    func resolveUser(_ user: UserSpec?) throws(EngineError) -> (UInt32?, UInt32?) {
        guard let user else { return (nil, nil) }
        var uid: UInt32? = UInt32(user.user)
        var gid: UInt32? = user.group.flatMap { UInt32($0) }
        if uid == nil {
            guard let pw = getpwnam(user.user) else {
                throw EngineError(.startFailed, "user \"\(user.user)\" does not exist on this host", context: ["user": user.user])
            }
            uid = pw.pointee.pw_uid
            if user.group == nil { gid = pw.pointee.pw_gid }
        }
        if let g = user.group, gid == nil {
            guard let gr = getgrnam(g) else {
                throw EngineError(.startFailed, "group \"\(g)\" does not exist on this host", context: ["group": g])
            }
            gid = gr.pointee.gr_gid
        }
        return (uid, gid)
    }

    // MARK: Exit, stop, remove

    public func waitForExit(_ handle: WorkloadHandle) async -> WorkloadExit {
        guard let pid = handle.pid else { return .vanished(reason: "no process id recorded") }
        if let start = handle.startTime, !ProcReader.isAlive(pid: pid, startTime: start) {
            // Already gone (perhaps while the executor was down): the status file tells.
            return exitStatus(handle)
        }
        await watcher.waitForExit(pid: pid)
        return exitStatus(handle)
    }

    /// Reads the runner's status line.
    func exitStatus(_ handle: WorkloadHandle) -> WorkloadExit {
        let text = (try? String(contentsOfFile: "\(dir(handle.instanceID))/status", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let parts = text.split(separator: " ")
        if parts.count == 2, let v = Int32(parts[1]) {
            switch parts[0] {
            case "exited": return .exited(code: v)
            case "signaled": return .signaled(signal: v)
            case "exec-failed": return .startFailed(reason: String(cString: strerror(v)))
            default: break
            }
        }
        return .vanished(reason: "the process ended without a recorded status (its runner was killed)")
    }

    public func isAlive(_ handle: WorkloadHandle) async -> Bool? { isRunning(handle) }

    public func isRunning(_ handle: WorkloadHandle) -> Bool {
        guard let pid = handle.pid, let start = handle.startTime else { return false }
        return ProcReader.isAlive(pid: pid, startTime: start)
    }

    public func signal(_ handle: WorkloadHandle, _ signal: Int32) async throws(EngineError) {
        guard let pid = handle.pid, isRunning(handle) else {
            throw EngineError(.notFound, "process \(handle.pid.map(String.init) ?? "?") of \(handle.instanceID) is not running")
        }
        // The runner leads the group and ignores the stop signals: the command gets it.
        guard kill(-pid, signal) == 0 else {
            throw EngineError(.failed, "signal \(signal) to process group \(pid): \(String(cString: strerror(errno)))")
        }
    }

    public func stop(_ handle: WorkloadHandle, grace: Duration) async throws(EngineError) {
        guard let pid = handle.pid, isRunning(handle) else { return }
        // The runner leads the session's process group: one signal reaches the command and its children.
        _ = kill(-pid, SIGTERM)
        let deadline = ContinuousClock.now.advanced(by: grace)
        while isRunning(handle), ContinuousClock.now < deadline {
            // The runner ignores SIGTERM and exits right after the command; poll briefly.
            try? await Task.sleep(for: .milliseconds(20))
        }
        if isRunning(handle) {
            // Kill the command and everything it started, but not the runner,
            // so that it still records how the command ended.
            for p in ProcReader.processGroupMembers(pid) where p != pid { _ = kill(p, SIGKILL) }
            killCgroup(handle, sparing: pid)
            let last = ContinuousClock.now.advanced(by: .seconds(2))
            while isRunning(handle), ContinuousClock.now < last {
                try? await Task.sleep(for: .milliseconds(10))
            }
            if isRunning(handle) { _ = kill(-pid, SIGKILL) }
        }
        await watcher.waitForExit(pid: pid)
    }

    /// Kills anything left in the workload's cgroup (children that escaped the process group).
    func killCgroup(_ handle: WorkloadHandle, sparing: Int32? = nil) {
        guard let g = record(handle.instanceID)?.cgroup else { return }
        for p in cgroups.pids(g) where p != sparing { _ = kill(p, SIGKILL) }
    }

    public func remove(_ handle: WorkloadHandle) async throws(EngineError) {
        if isRunning(handle) { try await stop(handle, grace: .seconds(0)) }
        readers.stop(instanceID: handle.instanceID)
        if let g = record(handle.instanceID)?.cgroup {
            killCgroup(handle)
            cgroups.remove(g)
        }
        try? FileManager.default.removeItem(atPath: dir(handle.instanceID))
    }

    // MARK: Exec, discovery, reattach

    /// Runs `command` beside the workload: same CPUs and memory nodes, its own process group.
    public func exec(_ handle: WorkloadHandle, command: [String], timeout: Duration) async throws(EngineError) -> ExecResult {
        guard let program = command.first else { throw EngineError(.failed, "empty command") }
        let path: String
        do {
            path = try NativeSpawn.resolve(program, path: ProcessInfo.processInfo.environment["PATH"])
        } catch {
            throw EngineError(.failed, error.message)
        }
        let pipeFDs: [Int32]
        do {
            let p = try NativeSpawn.pipe()
            pipeFDs = [p.read, p.write]
        } catch {
            throw EngineError(.failed, error.message)
        }
        var spec = SpawnSpec(executable: path, arguments: command,
                             environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
        if let pid = handle.pid, let cpus = ProcReader.statusField(pid: pid, "Cpus_allowed_list"),
           let set = try? CPUSet(list: cpus) {
            spec.cpus = set
        }
        spec.stdout = pipeFDs[1]
        spec.stderr = pipeFDs[1]
        let child: pid_t
        do {
            child = try NativeSpawn.spawn(spec)
        } catch {
            close(pipeFDs[0]); close(pipeFDs[1])
            throw EngineError(.failed, error.message)
        }
        close(pipeFDs[1])
        let readFD = pipeFDs[0]
        let timedOut = TimeoutFlag()
        let killer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled {
                timedOut.set()
                _ = kill(-child, SIGKILL)
            }
        }
        // Output (bounded) is read off the pool while the command runs.
        let output = await Task.detached { () -> [UInt8] in
            var out: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(readFD, &buf, buf.count)
                if n <= 0 { break }
                if out.count < 64 * 1024 { out += buf[0..<n] }
            }
            close(readFD)
            return out
        }.value
        let status = await watcher.waitForExit(pid: child)
        killer.cancel()
        if timedOut.isSet {
            throw EngineError(.timeout, "command timed out after \(timeout)", context: ["command": command.joined(separator: " ")])
        }
        guard let status else { throw EngineError(.failed, "lost track of the command's exit status") }
        return ExecResult(exitCode: ExitWatcher.exitCode(status), output: String(decoding: output, as: UTF8.self))
    }

    public func discover() async throws(EngineError) -> [DiscoveredWorkload] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: stateDir)) ?? []
        var unfinished: [String: pid_t]? = nil
        return names.sorted().compactMap { id in
            guard var r = record(id) else { return nil }
            if r.handle.pid == nil {
                // A start cut short: the runner may exist without its record.
                if unfinished == nil { unfinished = Self.runnersByInstance() }
                if let pid = unfinished?[id], let start = ProcReader.startTime(pid: pid) {
                    r.handle.pid = pid
                    r.handle.id = String(pid)
                    r.handle.startTime = start
                }
            }
            return DiscoveredWorkload(handle: r.handle, appID: r.appID, kind: r.kind, specHash: r.specHash,
                                      running: isRunning(r.handle))
        }
    }

    /// Live runners by the instance named in their `--instance` argument.
    static func runnersByInstance() -> [String: pid_t] {
        var found: [String: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let args = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard let first = args.first, first.hasSuffix("corral-runner"),
                  let i = args.firstIndex(of: "--instance"), i + 1 < args.count,
                  let end = args.firstIndex(of: "--"), i < end else { continue }
            found[args[i + 1]] = pid
        }
        return found
    }

    public func reattach(_ handle: WorkloadHandle, output: any LogSink) async throws(EngineError) {
        let fifo = "\(dir(handle.instanceID))/output.fifo"
        let fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw EngineError(.notFound, "cannot reopen \(fifo): \(String(cString: strerror(errno)))")
        }
        readers.start(instanceID: handle.instanceID, fd: fd, sink: output)
    }
}

final class TimeoutFlag: @unchecked Sendable {
    // @unchecked: the flag is only touched under the lock.
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
