/// Application instance or one-shot task.
public enum WorkloadKind: String, Sendable, Codable, CaseIterable {
    case application
    case task
}

/// What runs: a container image, or a native command.
public enum Executable: Sendable, Hashable, Codable {
    public enum PullPolicy: String, Sendable, Codable, CaseIterable {
        case IF_NOT_PRESENT, ALWAYS, NEVER
    }

    case docker(image: String, pullPolicy: PullPolicy)
    case process(command: [String], workingDir: String?)
}

public struct VolumeMount: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Codable, CaseIterable { case READ_WRITE, READ_ONLY }
    public var pathInContainer: String
    public var pathOnHost: String
    public var mode: Mode

    public init(pathInContainer: String, pathOnHost: String, mode: Mode) {
        self.pathInContainer = pathInContainer
        self.pathOnHost = pathOnHost
        self.mode = mode
    }
}

/// A container port published on a host port the executor owns.
public struct PortBinding: Sendable, Hashable, Codable {
    public enum TransportProtocol: String, Sendable, Codable { case tcp, udp }
    public var name: String
    public var containerPort: Int
    public var hostPort: Int
    public var proto: TransportProtocol

    public init(name: String, containerPort: Int, hostPort: Int, proto: TransportProtocol = .tcp) {
        self.name = name
        self.containerPort = containerPort
        self.hostPort = hostPort
        self.proto = proto
    }
}

public struct UserSpec: Sendable, Hashable, Codable {
    public var user: String
    public var group: String?

    public init(user: String, group: String? = nil) {
        self.user = user
        self.group = group
    }
}

/// Everything an engine needs to start one workload on resources already
/// allocated to it. Built by the instance runtime from a validated spec.
public struct Launch: Sendable, Hashable, Codable {
    public var instanceID: String
    /// appId for applications, sourceAppName for tasks.
    public var appID: String
    public var kind: WorkloadKind
    public var executable: Executable
    public var args: [String]
    /// The final environment (the spec's, with executor variables added).
    public var env: [String: String]
    public var allocation: Allocation
    public var ports: [PortBinding]
    public var volumes: [VolumeMount]
    /// Files put into the workload before it starts.
    public var configs: [ConfigSpec]
    public var user: UserSpec?
    public var maxOpenFiles: Int
    /// A hash of the spec (never the spec itself: it may hold secrets).
    public var specHash: String
    /// Set for a `corral run` job: who it runs as, its hooks, its confinement.
    public var job: RunJob?

    public init(instanceID: String, appID: String, kind: WorkloadKind, executable: Executable, args: [String] = [],
                env: [String: String] = [:], allocation: Allocation, ports: [PortBinding] = [],
                volumes: [VolumeMount] = [], configs: [ConfigSpec] = [], user: UserSpec? = nil, maxOpenFiles: Int = 65_536,
                specHash: String = "", job: RunJob? = nil) {
        self.instanceID = instanceID
        self.appID = appID
        self.kind = kind
        self.executable = executable
        self.args = args
        self.env = env
        self.allocation = allocation
        self.ports = ports
        self.volumes = volumes
        self.configs = configs
        self.user = user
        self.maxOpenFiles = maxOpenFiles
        self.specHash = specHash
        self.job = job
    }

    /// Container name and process group label: `<appId>-<instanceId>`.
    public var name: String { "\(appID)-\(instanceID)" }
}
