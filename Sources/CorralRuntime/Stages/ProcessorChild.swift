import CorralCore
import CorralHost
import Foundation

/// How a job ended on a processor.
public enum JobOutcome: Sendable {
    /// The processor answered with this output.
    case output(Data?)
    /// The processor answered with this `err_msg`: it works, the job did not.
    case failed(String)
    /// No answer will come: the processor died or does not take requests.
    case lost(String)
}

/// One external processor: a child started by the executor itself, pinned
/// to its cpuset and memory preference before exec (so any binary is pinned),
/// in its own cgroup when cgroups are writable, speaking damocles' protocol:
/// first line `<stage> processor ready`, then `{"id":N,"task":{...}}` requests
/// and `{"id":N,"err_msg":null|"...","output":{...}|null}` responses in any
/// order, one JSON document per line. Other lines are logged and skipped;
/// stderr goes to the processor's log file.
public final class ProcessorChild: @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock`; stdin writes by `writeLock`.
    public let entry: ProcessorEntry
    public let logPath: String
    private let lock = NSLock()
    private let writeLock = NSLock()
    private var pending: [UInt64: @Sendable (JobOutcome) -> Void] = [:]
    private var nextID: UInt64 = 1
    private var stdinFD: Int32 = -1
    /// Opens when the child says it is ready or its output ends.
    private let settled = Latch()
    private var isReady = false
    private var exited = false
    public private(set) var pid: pid_t = 0
    private var group: Cgroups.Group?
    private let cgroups: Cgroups
    /// Called once when the child's output ends (it died or was killed).
    private let onExit: @Sendable (ProcessorChild, Int32?) -> Void

    public init(entry: ProcessorEntry, logPath: String, cgroups: Cgroups,
                onExit: @escaping @Sendable (ProcessorChild, Int32?) -> Void) {
        self.entry = entry
        self.logPath = logPath
        self.cgroups = cgroups
        self.onExit = onExit
    }

    public var confinement: String { group == nil ? "affinity + memory policy" : "cgroup \(group!.name) + affinity + memory policy" }

    /// The default program when `bin` is absent: damocles runs itself; Corral has
    /// no stage code of its own, so `bin` is required (checked at load).
    public static func command(for e: ProcessorEntry) -> [String]? {
        guard let bin = e.bin else { return nil }
        return [bin] + (e.args ?? ["processor", e.stage])
    }

    /// Starts the child and waits for its ready line (at most `stable_wait`).
    public func start(environment: [String: String]) async throws(HostError) {
        guard let command = Self.command(for: entry) else {
            throw HostError(.spawnFailed, "\(entry.path) has no bin: Corral has no built-in stage code")
        }
        let path = try NativeSpawn.resolve(command[0], path: environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"])
        // inherit_envs = false: the child gets only its envs, as damocles' env_clear() does.
        var env = entry.inheritEnvs ? environment : [:]
        for (k, v) in entry.envs { env[k] = v }
        let (inRead, inWrite) = try NativeSpawn.pipe()
        let outPipe: (read: Int32, write: Int32)
        do {
            outPipe = try NativeSpawn.pipe()
        } catch {
            close(inRead); close(inWrite)
            throw error
        }
        let inPipe = [inRead, inWrite]
        try? FileManager.default.createDirectory(atPath: (logPath as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        var spec = SpawnSpec(executable: path, arguments: command, environment: env)
        spec.cpus = entry.cpuset
        if let node = entry.numaPreferred {
            spec.memoryNodes = CPUSet([node])
            spec.memoryPolicy = .preferred
        }
        if cgroups.isAvailable {
            let name = "\(entry.groupName)/\(entry.stage)-\(entry.index)"
            group = try? cgroups.create(name: name, cpus: entry.cpuset, mems: entry.numaPreferred.map { CPUSet([$0]) },
                                        memoryLimit: nil)
        }
        spec.cgroupProcs = group?.procsFiles ?? []
        spec.stdin = inPipe[0]
        spec.stdout = outPipe.write
        spec.stderr = logFD >= 0 ? logFD : outPipe.write
        let child: pid_t
        do {
            child = try NativeSpawn.spawn(spec)
        } catch {
            for fd in inPipe + [outPipe.read, outPipe.write] { close(fd) }
            if logFD >= 0 { close(logFD) }
            if let group { cgroups.remove(group) }
            throw error
        }
        close(inPipe[0]); close(outPipe.write)
        if logFD >= 0 { close(logFD) }
        lock.withLock {
            pid = child
            stdinFD = inPipe[1]
        }
        let readFD = outPipe.read
        let thread = Thread { [self] in readLoop(readFD) }
        thread.name = "corral-processor-\(entry.name)"
        thread.start()

        // Opened by the ready line or by the end of the output, whichever comes first.
        _ = await settled.wait(timeout: entry.stableWait.duration)
        let ready = lock.withLock { isReady }
        guard ready else {
            let wasExited = lock.withLock { exited }
            kill()
            throw HostError(.spawnFailed, wasExited
                ? "\(entry.name) exited before printing \"\(entry.stage) processor ready\" (see \(logPath))"
                : "\(entry.name) did not print \"\(entry.stage) processor ready\" within stable_wait \(entry.stableWait)")
        }
    }

    /// Sends a task. Its id when it was handed to the processor: then `done`
    /// runs exactly once, with the answer or a failure. Nil when the processor
    /// is gone: nothing was sent and `done` is never called.
    public func send(_ task: Data, done: @escaping @Sendable (JobOutcome) -> Void) -> UInt64? {
        send([(task, done)])?.first
    }

    /// Sends several requests in one write (one line each). Their ids, or nil
    /// when the processor is gone: then none of them is pending any more
    /// (those whose `done` already ran were failed by the exit).
    public func send(_ requests: [(task: Data, done: @Sendable (JobOutcome) -> Void)]) -> [UInt64]? {
        guard !requests.isEmpty else { return [] }
        let (first, fd): (UInt64, Int32) = lock.withLock {
            guard !exited, stdinFD >= 0 else { return (0, -1) }
            let first = nextID
            for r in requests {
                pending[nextID] = r.done
                nextID += 1
            }
            return (first, stdinFD)
        }
        guard fd >= 0 else { return nil }
        var lines: [UInt8] = []
        lines.reserveCapacity(requests.reduce(0) { $0 + $1.task.count + 32 })
        for (k, r) in requests.enumerated() {
            lines += Array("{\"id\":\(first + UInt64(k)),\"task\":".utf8)
            lines += r.task
            lines += [UInt8(ascii: "}"), 10]
        }
        let ok: Bool = writeLock.withLock {
            lines.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = write(fd, raw.baseAddress! + off, raw.count - off)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return false }
                    off += n
                }
                return true
            }
        }
        let ids = (0..<UInt64(requests.count)).map { first + $0 }
        // Not written: the processor is gone. Unless its exit already failed a
        // request (then its `done` has run), take them back unsent.
        if !ok {
            lock.withLock { for id in ids { pending.removeValue(forKey: id) } }
            return nil
        }
        return ids
    }

    /// Forgets a request (its answer, if it comes, is dropped).
    public func abandon(_ id: UInt64) { lock.withLock { _ = pending.removeValue(forKey: id) } }

    public var inFlight: Int { lock.withLock { pending.count } }

    /// Kills the child and everything it started.
    public func kill() {
        let p = lock.withLock { pid }
        if p > 0 { _ = Glibc.kill(p, SIGKILL) }
        killGroup()
    }

    private func killGroup() {
        guard let group else { return }
        for p in cgroups.pids(group) { _ = Glibc.kill(p, SIGKILL) }
    }

    private func readLoop(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var line: [UInt8] = []
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        defer { if log >= 0 { close(log) } }
        let readyLine = "\(entry.stage) processor ready"
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var start = 0
            for i in 0..<n where buffer[i] == 10 {
                line.append(contentsOf: buffer[start..<i])
                handle(line, readyLine: readyLine, log: log)
                line.removeAll(keepingCapacity: true)
                start = i + 1
            }
            line.append(contentsOf: buffer[start..<n])
        }
        close(fd)
        // Output ended: the child is gone (or closed stdout, which is as good as gone).
        // A processor whose stdout is closed is of no use: make sure it is gone, then reap it.
        var raw: Int32 = 0
        var status: Int32? = nil
        if pid > 0 {
            _ = Glibc.kill(pid, SIGKILL)
            while true {
                let r = waitpid(pid, &raw, 0)
                if r == pid { status = raw; break }
                if r < 0 && errno == EINTR { continue }
                break
            }
        }
        let (failed, stdin) = lock.withLock { () -> ([@Sendable (JobOutcome) -> Void], Int32) in
            exited = true
            let f = Array(pending.values)
            pending = [:]
            let s = stdinFD
            stdinFD = -1
            return (f, s)
        }
        if stdin >= 0 { close(stdin) }
        settled.open()
        let how = status.map { "exit status \(ExitWatcher.exitCode($0))" } ?? "unknown status"
        for f in failed { f(.lost("\(entry.name) died while running the job (\(how))")) }
        killGroup()
        if let group { cgroups.remove(group) }
        onExit(self, status)
    }

    private func handle(_ bytes: [UInt8], readyLine: String, log: Int32) {
        func text() -> String { String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
        if !lock.withLock({ isReady }) {
            let t = text()
            if t == readyLine {
                lock.withLock { isReady = true }
                settled.open()
            } else {
                logLine(log, "before ready: \(t)")
            }
            return
        }
        // Responses are scanned in place (JSONScan): no Foundation objects, and
        // `output` is passed on as the processor wrote it. A String is made only
        // for lines that are logged.
        guard let members = JSONScan.topLevelMembers(bytes), let idRange = members["id"],
              let id = JSONScan.unsigned(bytes[idRange]) else {
            logLine(log, "not a response, skipped: \(text())")
            return
        }
        guard let callback = lock.withLock({ pending.removeValue(forKey: id) }) else {
            logLine(log, "response to an unknown or abandoned request \(id), dropped")
            return
        }
        func raw(_ key: String) -> ArraySlice<UInt8>? {
            guard let r = members[key] else { return nil }
            let v = bytes[r]
            return v.elementsEqual("null".utf8) ? nil : v
        }
        if let err = raw("err_msg") {
            // Rare: decoded properly (escapes and all); a non-string is shown as written.
            let message = (try? JSONSerialization.jsonObject(with: Data(err), options: [.fragmentsAllowed])) as? String
            callback(.failed(message ?? String(decoding: err, as: UTF8.self)))
        } else if let output = raw("output") {
            callback(.output(Data(output)))
        } else {
            callback(.output(nil))
        }
    }

    private func logLine(_ fd: Int32, _ s: String) {
        guard fd >= 0 else { return }
        let bytes = Array("corral: \(s)\n".utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }
}
