import CorralCore

/// Which of a workload's output streams bytes came on.
public enum OutputChannel: Sendable, Hashable {
    case stdout, stderr
}

/// Where a workload's output goes: straight into the instance's log files
/// (never re-logged through a logger).
public protocol LogSink: Sendable {
    func write(_ bytes: [UInt8])
    /// Output whose stream is known (a container's without a terminal). By
    /// default the same as `write(_:)`: log files keep both streams in one.
    func write(_ bytes: [UInt8], from channel: OutputChannel)
    /// The same, from a buffer the caller owns (valid only during the call):
    /// the engines' readers pass their read buffer, so a sink that writes to a
    /// file needs no copy. By default the bytes are copied into an array.
    func write(borrowing bytes: UnsafeRawBufferPointer)
    /// The stream ended (the workload closed its output).
    func finish()
    /// Returns once `finish()` has been called, or after `timeout`.
    func waitUntilFinished(timeout: Duration) async
}

extension LogSink {
    public func waitUntilFinished(timeout: Duration) async {}
    public func write(borrowing bytes: UnsafeRawBufferPointer) { write(Array(bytes)) }
    public func write(_ bytes: [UInt8], from channel: OutputChannel) { write(bytes) }
}

/// Names one running workload for its engine; persisted so that a restarted
/// executor can find it again.
public struct WorkloadHandle: Sendable, Hashable, Codable {
    public var engine: EngineKind
    /// Container id, or the runner's pid for native processes.
    public var id: String
    public var instanceID: String
    public var pid: Int32?
    /// With `pid`, identifies the process for good (pids are reused).
    public var startTime: UInt64?
    /// How the workload is confined, for people: "cgroup v1 (cpuset, memory)" or
    /// "affinity and memory policy only".
    public var confinement: String
    public var warnings: [String]

    public init(engine: EngineKind, id: String, instanceID: String, pid: Int32? = nil, startTime: UInt64? = nil,
                confinement: String, warnings: [String] = []) {
        self.engine = engine
        self.id = id
        self.instanceID = instanceID
        self.pid = pid
        self.startTime = startTime
        self.confinement = confinement
        self.warnings = warnings
    }
}

/// How a workload ended.
public enum WorkloadExit: Sendable, Hashable, Codable {
    case exited(code: Int32)
    case signaled(signal: Int32)
    /// The program could not be started (errno-style reason).
    case startFailed(reason: String)
    /// It is gone and nobody recorded how (killed with its runner, container removed underneath).
    case vanished(reason: String)

    /// The exit code as a shell reports it (128 + signal), when there is one.
    public var code: Int32? {
        switch self {
        case .exited(let c): c
        case .signaled(let s): 128 + s
        default: nil
        }
    }

    public var summary: String {
        switch self {
        case .exited(let c): "exited with code \(c)"
        case .signaled(let s): "killed by signal \(s)"
        case .startFailed(let r): "could not start: \(r)"
        case .vanished(let r): "vanished: \(r)"
        }
    }
}

/// The outcome of a command run for a check.
public struct ExecResult: Sendable, Hashable {
    public var exitCode: Int32
    public var output: String
}

/// A workload found by asking the engine what runs (for recovery).
public struct DiscoveredWorkload: Sendable, Hashable {
    public var handle: WorkloadHandle
    public var appID: String
    public var kind: WorkloadKind
    public var specHash: String
    public var running: Bool
}

public enum EngineErrorCode: String, Sendable, Equatable {
    case unavailable = "engine_unavailable"
    case timeout = "engine_timeout"
    case imageMissing = "image_missing"
    case startFailed = "start_failed"
    case notFound = "not_found"
    case limitTooHigh = "limit_too_high"
    /// The engine refused the container's configuration (create failed, or
    /// it would not honour a setting): trying again cannot help.
    case refused = "engine_refused"
    case failed = "engine_failed"
}

public typealias EngineError = CodedError<EngineErrorCode>

/// Turns "run this on these resources" into a running thing and reports what
/// happens to it. DockerEngine and ProcessEngine implement it; tests run both
/// for real.
public protocol Engine: Sendable {
    var kind: EngineKind { get }

    /// Starts the workload pinned to its allocation; output goes to `output`.
    func start(_ launch: Launch, output: any LogSink) async throws(EngineError) -> WorkloadHandle
    /// Returns when the workload has ended, with how. A cancelled waiter may
    /// return early, with a result that means nothing; it never keeps polling.
    func waitForExit(_ handle: WorkloadHandle) async -> WorkloadExit
    /// Sends one signal to the workload (a container's first process; a
    /// native process's group) and returns: what it does is the workload's.
    func signal(_ handle: WorkloadHandle, _ signal: Int32) async throws(EngineError)
    /// Asks it to stop, then kills it after `grace`.
    func stop(_ handle: WorkloadHandle, grace: Duration) async throws(EngineError)
    /// Frees what the engine kept for it (container, cgroup, state files).
    func remove(_ handle: WorkloadHandle) async throws(EngineError)
    /// Runs a command in (or beside) the workload, for CMD checks.
    func exec(_ handle: WorkloadHandle, command: [String], timeout: Duration) async throws(EngineError) -> ExecResult
    /// What this engine runs for Corral now.
    func discover() async throws(EngineError) -> [DiscoveredWorkload]
    /// Reconnects output of a workload found after a restart.
    func reattach(_ handle: WorkloadHandle, output: any LogSink) async throws(EngineError)
    /// Whether the workload still runs: false when it is gone, nil when the
    /// engine cannot tell (it does not answer). Asked when a check fails, so
    /// that a workload that died is reported LOST, not unhealthy.
    func isAlive(_ handle: WorkloadHandle) async -> Bool?
    /// Whether the engine answers.
    func ping() async -> Bool
}
