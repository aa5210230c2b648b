/// Drove's controller YAML (`drove-controller/configs/config.yml`) as Corral
/// reads it: the same server, logging, zookeeper and clusterAuth sections as
/// the executor's, plus who may call the API and how the cluster is run.
public struct ControllerConfig: Sendable {
    public var server = ServerConfig()
    public var logging = LoggingConfig()
    public var zookeeper = ZookeeperConfig(connectionString: "localhost:2181")
    public var clusterAuth = ClusterAuthConfig()
    public var userAuth = UserAuthConfig()
    /// `instanceAuth.secret`: signs the tokens instances use to call the controller.
    public var instanceAuth: Secret? = nil
    public var options = ControllerOptions()
    public init() {}
}

/// `userAuth`: HTTP basic users of the REST API.
public struct UserAuthConfig: Sendable {
    /// How `password` values are written: in the clear, or as crypt(3) hashes (bcrypt `$2a$`/`$2b$`/`$2y$`, or sha-512 `$6$`).
    public enum Encoding: String, Sendable, CaseIterable { case PLAIN, CRYPT }
    /// Drove's external roles.
    public enum Role: String, Sendable, CaseIterable {
        case EXTERNAL_READ_WRITE, EXTERNAL_READ_ONLY, EXTERNAL_ROOT, DROVE_EXTERNAL_MAINTENANCE

        /// Whether the role may change the cluster (operations, blacklisting, maintenance).
        public var mayWrite: Bool { self != .EXTERNAL_READ_ONLY }
    }
    public struct User: Sendable {
        public var username: String
        public var password: Secret
        public var role: Role
        public init(username: String, password: Secret, role: Role) {
            self.username = username
            self.password = password
            self.role = role
        }
    }
    /// Off unless `enabled: true` (Drove's default), then every API call needs a user.
    public var enabled = false
    public var encoding = Encoding.PLAIN
    public var users: [User] = []
    public init() {}
}

/// `options`: how the leader runs the cluster. Durations are Dropwizard's.
public struct ControllerOptions: Sendable {
    public var staleCheckInterval = ConfigDuration.seconds(3600)
    public var staleAppAge = ConfigDuration.seconds(7 * 86_400)
    public var maxStaleInstancesCount = 100
    public var staleInstanceAge = ConfigDuration.seconds(7 * 86_400)
    public var staleTaskAge = ConfigDuration.seconds(2 * 86_400)
    public var staleServiceAge = ConfigDuration.seconds(7 * 86_400)
    /// How long an executor's node data may go unrefreshed before it is treated as lost.
    public var staleExecutorAge = ConfigDuration.seconds(45)
    public var maxEventsStorageDuration = ConfigDuration.seconds(3600)
    /// Defaults for an operation's opSpec.
    public var clusterOpTimeout = ConfigDuration.seconds(300)
    public var clusterOpParallelism = 1
    public var jobRetryCount = 2
    public var jobRetryInterval = ConfigDuration.seconds(1)
    /// Host directories specs may mount; empty allows none.
    public var allowedMountDirs: [String] = []
    /// Reads need no user even with userAuth enabled.
    public var disableReadAuth = false
    public var disableCmdlArgs = false
    public var enableRawDeviceAccess = false
    /// The controller's own hostname as executors and other controllers reach it (default: the machine's).
    public var hostname: String? = nil
    /// Where instances go among the executors a policy admits (Corral's addition): pack (default) or spread.
    public var placementStrategy = ClusterScheduler.Strategy.pack
    /// With spread: the executor metadata key whose values group executors (e.g. rack).
    public var spreadKey: String? = nil
    public init() {}
}
