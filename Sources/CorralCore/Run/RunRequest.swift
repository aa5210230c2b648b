/// What `corral run` asks of the executor (the `.request` frame's JSON).
/// It carries no identity: the executor reads that off the socket.
public struct RunRequest: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Codable {
        /// Run `command` as a job.
        case run
        /// Reload the run configuration (root only).
        case reloadConfig
    }

    public var action: Action
    public var command: [String]
    /// Cores, each dedicated (`-c`).
    public var cpus: Int
    /// `-m` as given: a bare number is GB (rounded up, as exorun reads it), or a size such as 512M.
    public var memory: String?
    /// `-i`; nil: the site's `container_image`.
    public var image: String?
    public var gpus: Int
    /// The caller's environment, before the site's filter.
    public var env: [String: String]
    /// Whether the client's output is a terminal.
    public var tty: Bool
    /// `--cluster`: run it wherever the cluster's leader places it.
    public var cluster: Bool

    /// Without `-m` a job gets its cores' share of its node's memory, but the
    /// leader must know the memory to place it.
    public static let clusterNeedsMemory = "--cluster needs -m MEMORY: the leader places the job by its cores and memory, "
        + "before any node's share of memory could be the default"

    /// What is wrong with the request itself, the same wherever it is
    /// checked (the client, the executor whose socket took it, the leader);
    /// nil: nothing. `forTheCluster`: the leader places it, so `-m` is
    /// required. What depends on a node (its cores, images, hooks) is that
    /// node's to check.
    public func problem(forTheCluster: Bool) -> String? {
        guard let program = command.first, !program.isEmpty else {
            return "no command: give one after --, e.g. corral run -c 1 -m 4 -- ./job.sh"
        }
        if let bad = command.first(where: { $0.contains("\0") }) { return "argument \(bad.debugDescription) holds a NUL byte" }
        guard cpus >= 1 else { return "-c \(cpus): at least 1 core" }
        guard gpus >= 0 else { return "--gpus \(gpus): 0 or more" }
        if let memory, case .failure(let e) = RunMemory.parse(memory) { return e.message }
        if forTheCluster, memory == nil { return Self.clusterNeedsMemory }
        return nil
    }

    /// `-m` in bytes; nil when it was not given (or does not parse: see ``problem(forTheCluster:)``).
    public var memoryBytes: UInt64? { memory.flatMap { try? RunMemory.parse($0).get() } }

    public init(action: Action = .run, command: [String] = [], cpus: Int = 1, memory: String? = nil, image: String? = nil,
                gpus: Int = 0, env: [String: String] = [:], tty: Bool = false, cluster: Bool = false) {
        self.action = action
        self.command = command
        self.cpus = cpus
        self.memory = memory
        self.image = image
        self.gpus = gpus
        self.env = env
        self.tty = tty
        self.cluster = cluster
    }
}

/// How a job ended, the `.exit` frame's JSON: the status `corral run` exits
/// with (128+N for a job killed by signal N), and where it ran.
public struct RunOutcome: Sendable, Hashable, Codable {
    public var status: Int32
    public var taskId: String
    public var summary: String

    public init(status: Int32, taskId: String, summary: String) {
        self.status = status
        self.taskId = taskId
        self.summary = summary
    }
}

/// A refusal or failure, the `.error` frame's JSON.
public struct RunFailure: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable {
        /// Bad arguments (cpus, memory, command, ...).
        case invalidRequest = "invalid_request"
        /// The image is not on approved_container_images.
        case imageNotApproved = "image_not_approved"
        /// The run configuration did not load.
        case badConfig = "bad_config"
        /// The caller may not do this (config reload by non-root).
        case forbidden
        /// Not enough free cores, memory or GPUs on this node.
        case doesNotFit = "does_not_fit"
        /// The container could not be started (after the retries).
        case startFailed = "start_failed"
        /// This executor cannot run jobs (no container engine).
        case unavailable
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The exit status `corral run` ends with for it (Docker's and Podman's
    /// for their own failures).
    public var exitStatus: Int32 { 125 }
}
