/// What makes a task a `corral run` job: the caller's identity, the hooks
/// and how the container is confined. Carried by the task's spec into its
/// launch; the container engine turns it into the container's first process
/// (`corral-runner job`, bound in read-only), its capabilities and its
/// account files. docs/run.md.
public struct RunJob: Sendable, Hashable, Codable {
    /// Who the job runs as (from the socket's peer credentials).
    public var identity: RunIdentity
    /// The caller's working directory (also the container's).
    public var workingDir: String
    public var hostname: String?
    /// The OCI runtime to start the container with; nil: the engine's default.
    public var runtime: String?
    /// Whether the container gets a terminal (stdout and stderr are then one stream).
    public var tty: Bool
    /// After a stop signal, how long the job has before SIGKILL.
    public var grace: Duration
    /// How long each hook may run.
    public var hookTimeout: Duration
    /// The static `corral-runner` on the host.
    public var runnerPath: String
    /// Host paths of the configured hooks.
    public var hooks: [RunHook: String]
    /// A `--cluster` job: the executor (hostname) whose socket took it and
    /// that relays it to its client. Nil: the client is on this node's socket.
    public var origin: String? = nil

    public init(identity: RunIdentity, workingDir: String, hostname: String? = nil, runtime: String? = nil, tty: Bool = false,
                grace: Duration = .seconds(10), hookTimeout: Duration = .seconds(300), runnerPath: String, hooks: [RunHook: String] = [:]) {
        self.identity = identity
        self.workingDir = workingDir
        self.hostname = hostname
        self.runtime = runtime
        self.tty = tty
        self.grace = grace
        self.hookTimeout = hookTimeout
        self.runnerPath = runnerPath
        self.hooks = hooks
    }

    /// Where the runner and the hooks appear inside the container.
    public static let runnerInContainer = "/.corral/runner"
    public static let hooksInContainer = "/.corral/hooks"

    /// The capabilities the container's first process keeps while it runs
    /// the root hooks and switches to the user: changing uid and groups
    /// (SETUID, SETGID), signalling the user's job (KILL), and what root
    /// hooks need to prepare files for the user (CHOWN, DAC_OVERRIDE,
    /// FOWNER). Every other one is dropped; the user's processes have none.
    public static let rootCapabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"]

    /// The container's entrypoint: the runner in job mode, before the job's command.
    public var entrypoint: [String] {
        var e = [Self.runnerInContainer, "job", "--uid", String(identity.uid), "--gid", String(identity.gid)]
        if !identity.groups.isEmpty { e += ["--groups", identity.groups.map(String.init).joined(separator: ",")] }
        e += ["--grace-ms", String(Self.milliseconds(grace)), "--hook-timeout-ms", String(Self.milliseconds(hookTimeout)),
              "--hooks", Self.hooksInContainer, "--"]
        return e
    }

    /// Read-only binds: the runner and each hook, as host:container:ro.
    public var binds: [String] {
        ["\(runnerPath):\(Self.runnerInContainer):ro"]
            + RunHook.allCases.compactMap { h in hooks[h].map { "\($0):\(Self.hooksInContainer)/\(h.rawValue):ro" } }
    }

    /// The longest a cancelled job's container takes to end by itself: the
    /// grace period, then both cleanup hooks at their limit, and a margin.
    public var stopBound: Duration { grace + hookTimeout * 2 + .seconds(5) }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}

/// The scripts `corral run` runs around a job, in this order (exorun's keys).
public enum RunHook: String, Sendable, Hashable, Codable, CaseIterable, CodingKeyRepresentable {
    case containerStartup = "container_startup"
    case jobStartupRoot = "job_startup_root"
    case jobStartupUser = "job_startup_user"
    case jobCleanupUser = "job_cleanup_user"
    case jobCleanupRoot = "job_cleanup_root"

    /// Whether it runs as the job's user (else as root in the container).
    public var asUser: Bool { self == .jobStartupUser || self == .jobCleanupUser }
}
