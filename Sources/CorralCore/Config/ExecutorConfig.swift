/// The executor's configuration: Drove's executor YAML, loaded as users
/// wrote it, plus Corral's additions (`resources.numaPolicy`,
/// `resources.fullPhysicalCores`, `options.stateDir`).
public struct ExecutorConfig: Sendable {
    public var server = ServerConfig()
    public var logging = LoggingConfig()
    public var zookeeper: ZookeeperConfig? = nil
    public var clusterAuth = ClusterAuthConfig()
    public var resources = ResourcesConfig()
    public var options = ExecutorOptions()
    public var processors = ProcessorsSettings()
    /// Registry credentials for image pulls.
    public var dockerAuth = DockerAuthConfig()
    /// The controllers, for `options.remoteUpdateMode: RPC`.
    public var controllers: ControllersConfig? = nil

    public init() {}
}

/// `processors:` in the executor YAML: where the damocles-style `[processors]`
/// TOML is, and where processor logs go (default `<logPath>/processors`).
public struct ProcessorsSettings: Sendable {
    public var config: String? = nil
    public var logDir: String? = nil
    public init() {}
}

// MARK: - Server

public struct ServerConfig: Sendable {
    public var applicationConnectors: [Connector] = [Connector(port: 8080)]
    public var adminConnectors: [Connector] = [Connector(port: 8081)]
    public var applicationContextPath = "/"
    public var adminContextPath = "/"
    public var requestLog = RequestLogConfig()

    public init() {}
}

public struct Connector: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable { case http, https }

    public var type: Kind = .http
    public var port: Int
    /// nil: every interface.
    public var bindHost: String? = nil
    public var keyStorePath: String? = nil
    public var keyStorePassword: Secret? = nil
    /// A connection that sends nothing for this long is closed (a request sent
    /// slowly byte by byte included): Dropwizard's `idleTimeout`, default 30 seconds.
    public var idleTimeout: ConfigDuration = .seconds(30)

    public init(type: Kind = .http, port: Int, bindHost: String? = nil) {
        self.type = type
        self.port = port
        self.bindHost = bindHost
    }
}

public struct RequestLogConfig: Sendable {
    public var appenders: [AppenderConfig] = [.console(ConsoleAppender())]
    public init() {}
}

// MARK: - Logging

/// Logback levels, as Dropwizard accepts them.
public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case OFF, ERROR, WARN, INFO, DEBUG, TRACE, ALL

    var rank: Int { LogLevel.allCases.firstIndex(of: self)! }
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

public struct LoggingConfig: Sendable {
    public var level: LogLevel = .INFO
    public var loggers: [String: LogLevel] = [:]
    public var appenders: [AppenderConfig] = [.console(ConsoleAppender())]

    public init() {}

    /// The instance-log appender (`type: drove`), if configured.
    public var instanceLogs: InstanceLogAppender? {
        for a in appenders { if case .drove(let d) = a { return d } }
        return nil
    }
}

public enum AppenderConfig: Sendable {
    case console(ConsoleAppender)
    case file(FileAppender)
    /// Drove's per-instance log appender (`type: drove`).
    case drove(InstanceLogAppender)

    public var common: AppenderCommon {
        switch self {
        case .console(let a): a.common
        case .file(let a): a.common
        case .drove(let a): a.common
        }
    }
}

/// Options every Dropwizard appender takes.
public struct AppenderCommon: Sendable {
    public var threshold: LogLevel = .ALL
    public var timeZone: ConfigTimeZone = .utc
    public var logFormat: String? = nil
    public var queueSize = 256
    public var discardingThreshold = 51
    public var includeCallerData = false
    public var neverBlock = false

    public init() {}
}

public struct ConsoleAppender: Sendable {
    public enum Target: String, Sendable, CaseIterable { case stdout, stderr }
    public var common = AppenderCommon()
    public var target: Target = .stdout
    public init() {}
}

/// Rotated files, with the options of Dropwizard's file appender.
public struct RotationOptions: Sendable {
    public var archive = true
    public var archivedFileCount = 5
    public var maxFileSize: DataSize? = nil
    public var totalSizeCap: DataSize? = nil
    public var bufferSize = DataSize(bytes: 8 * 1024)
    public var immediateFlush = true
    public init() {}
}

public struct FileAppender: Sendable {
    public var common = AppenderCommon()
    public var currentLogFilename = ""
    public var archivedLogFilenamePattern: String? = nil
    public var rotation = RotationOptions()
    public init() {}
}

/// Per-instance log files: `logPath/<appId>/<instanceId>/output.log`
/// (tasks: `logPath/<sourceAppName>/<taskId>/output.log`).
public struct InstanceLogAppender: Sendable {
    public var common = AppenderCommon()
    public var logPath = ""
    public var archivedLogFileSuffix = "%d"
    public var rotation: RotationOptions = {
        var r = RotationOptions()
        r.maxFileSize = DataSize.mebibytes(100)
        return r
    }()
    public init() {}
}

// MARK: - Cluster

public struct ZookeeperConfig: Sendable {
    public var connectionString: String
    /// The top-level znode everything lives under (Drove's default: `drove`).
    public var namespace: String = "drove"
    /// The session timeout asked of the ensemble; a Corral key. 10 s where
    /// Drove's is 30 s: a node whose session ends is probed before anything
    /// of it is declared lost, so a short session costs nothing on a blip
    /// and bounds how long a dead executor or leader goes unnoticed. The
    /// ensemble clamps it to [2, 20] × its tickTime.
    public var sessionTimeout = ConfigDuration.seconds(10)
    public init(connectionString: String, namespace: String = "drove") {
        self.connectionString = connectionString
        self.namespace = namespace
    }
}

public struct ClusterAuthConfig: Sendable {
    public enum NodeType: String, Sendable, CaseIterable { case CONTROLLER, EXECUTOR }
    public var secrets: [NodeType: Secret] = [:]
    public init() {}
}

// MARK: - Resources

public enum NUMAPolicy: String, Sendable, CaseIterable, Codable {
    /// A workload's CPUs and memory come from one NUMA node, or it is refused.
    case require
    /// One node when it fits; otherwise the fewest nodes that can hold it.
    case prefer
}

public struct OverProvisioning: Sendable, Hashable {
    public var enabled = false
    public var cpuMultiplier = 1
    public var memoryMultiplier = 1
    public init() {}
}

public struct ResourcesConfig: Sendable {
    public var osCores: CPUSet = []
    public var exposedMemPercentage = 100
    public var disableNUMAPinning = false
    public var enableNvidiaGpu = false
    public var tags: [String] = []
    /// Where the executor's published metadata comes from.
    public var metadata = MetadataConfig()
    public var overProvisioning = OverProvisioning()
    public var numaPolicy: NUMAPolicy = .require
    public var fullPhysicalCores = false
    public init() {}
}

// MARK: - Options

public struct ExecutorOptions: Sendable {
    public var hostname: String? = nil
    public var cacheImages = false
    public var containerCommandTimeout = ConfigDuration.seconds(30)
    public var dockerSocketPath = "/var/run/docker.sock"
    public var maxOpenFiles = 470_000
    public var logBufferSize = DataSize.megabytes(10)
    public var cacheFileSize = DataSize.megabytes(20)
    public var cacheFileCount = 3
    /// Where the executor keeps its SQLite state; nil: the executor's default.
    public var stateDir: String? = nil
    /// Corral addition: the key file for values stored encrypted (default `<stateDir>/keys/secrets.key`).
    public var secretKeyFile: String? = nil
    /// Containers and processes run as this user (and group) unless their spec names one.
    public var defaultUserSpec: UserSpec? = nil
    /// STORE (ZooKeeper) or RPC (the controllers' API).
    public var remoteUpdateMode: RemoteUpdateMode = .STORE
    /// Connecting to a controller (RPC mode's pings and messages): default 1 s.
    public var controllerConnectTimeout = ConfigDuration.seconds(1)
    /// A controller's answer: default 1 s.
    public var controllerResponseTimeout = ConfigDuration.seconds(1)
    /// Corral addition: the unix socket `corral run` talks to (mode 0666:
    /// any local user may run jobs, each as themselves); empty: no socket.
    public var runSocketPath = "/run/corral/run.sock"
    /// Corral addition: `corral run`'s site configuration (exorun's dockerWrapper.toml format).
    public var runConfigPath = "/etc/corral/run.toml"
    public init() {}
}
