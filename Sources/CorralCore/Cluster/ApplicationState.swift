/// Drove's application states (`mdl/application/ApplicationState.java`).
public enum ApplicationState: String, Sendable, Codable, CaseIterable {
    case INIT, MONITORING, RUNNING, OUTAGE_DETECTED, SCALING_REQUESTED, STOP_INSTANCES_REQUESTED
    case REPLACE_INSTANCES_REQUESTED, DESTROY_REQUESTED, DESTROYED, FAILED

    public var isTerminal: Bool { self == .DESTROYED || self == .FAILED }

    /// Drove's `ApplicationCommandValidator.VALID_OPS_TABLE`: what may be asked in each state.
    public var allowedOperations: Set<ApplicationOperationKind> {
        switch self {
        case .MONITORING: [.START_INSTANCES, .SCALE, .DESTROY, .RECOVER]
        case .RUNNING: [.START_INSTANCES, .STOP_INSTANCES, .SCALE, .REPLACE_INSTANCES, .SUSPEND, .RECOVER]
        case .SCALING_REQUESTED: [.SCALE]
        default: []
        }
    }

    /// The state an app settles in with `instances` expected.
    public static func settled(expecting instances: Int) -> ApplicationState { instances == 0 ? .MONITORING : .RUNNING }

    /// The state an app is in while `operation` runs.
    public static func during(_ operation: ApplicationOperationKind) -> ApplicationState? {
        switch operation {
        case .SCALE, .START_INSTANCES, .SUSPEND, .RECOVER: .SCALING_REQUESTED
        case .STOP_INSTANCES: .STOP_INSTANCES_REQUESTED
        case .REPLACE_INSTANCES: .REPLACE_INSTANCES_REQUESTED
        case .DESTROY: .DESTROY_REQUESTED
        case .CREATE: nil
        }
    }
}

/// Drove's application operation types (`mdl/operation/ops/*`), by their JSON names.
public enum ApplicationOperationKind: String, Sendable, Codable, CaseIterable {
    case CREATE, DESTROY, START_INSTANCES, STOP_INSTANCES, SCALE, REPLACE_INSTANCES, SUSPEND, RECOVER

    /// Drove's enum calls SCALE `SCALE_INSTANCES`; both are read.
    public init?(json: String) {
        let up = json.uppercased()
        if up == "SCALE_INSTANCES" { self = .SCALE; return }
        self.init(rawValue: up)
    }
}

/// `ClusterOpSpec`: how an operation runs.
public struct ClusterOpSpec: Sendable, Hashable, Codable {
    public enum FailureStrategy: String, Sendable, Codable, CaseIterable { case STOP, ROLLBACK }
    /// Seconds.
    public var timeoutSeconds: Double
    public var parallelism: Int
    public var failureStrategy: FailureStrategy

    public init(timeoutSeconds: Double = 300, parallelism: Int = 1, failureStrategy: FailureStrategy = .STOP) {
        self.timeoutSeconds = timeoutSeconds
        self.parallelism = parallelism
        self.failureStrategy = failureStrategy
    }

    /// Reads an `opSpec` node; absent fields take `defaults`.
    public static func read(_ node: ConfigNode?, _ r: ConfigReader, _ path: String, defaults: ClusterOpSpec) -> ClusterOpSpec {
        var o = defaults
        guard let node, let f = r.mapping(node, at: path, known: ["timeout", "parallelism", "failureStrategy"]) else { return o }
        if let n = f["timeout"], let d = r.duration(n, at: f.path("timeout"), in: .seconds(1)...ConfigDuration.seconds(86_400)) {
            o.timeoutSeconds = d.seconds
        }
        if let n = f["parallelism"], let v = r.int(n, at: f.path("parallelism"), in: 1...512) { o.parallelism = v }
        if let n = f["failureStrategy"], let v = r.choice(n, at: f.path("failureStrategy"), as: FailureStrategy.self) { o.failureStrategy = v }
        return o
    }
}
