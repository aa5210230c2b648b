/// The state of any workload: an application instance's or a task's, typed.
///
/// Encoded as Drove's bare state name (`"HEALTHY"`, `"RUN_COMPLETED"`), so the
/// API and the state database read as before. The name alone is ambiguous
/// (both kinds have PENDING, STOPPED, LOST, ...): decode it with the kind,
/// through ``init(name:kind:)``.
public enum WorkloadState: Sendable, Hashable, CustomStringConvertible {
    case instance(InstanceState)
    case task(TaskState)

    /// Drove's name of the state.
    public var name: String {
        switch self {
        case .instance(let s): s.rawValue
        case .task(let s): s.rawValue
        }
    }

    public var description: String { name }

    public var kind: WorkloadKind {
        switch self {
        case .instance: .application
        case .task: .task
        }
    }

    /// STOPPED or LOST: nothing more happens to the workload.
    public var isTerminal: Bool {
        switch self {
        case .instance(let s): s.isTerminal
        case .task(let s): s.isTerminal
        }
    }

    public var holdsResources: Bool {
        switch self {
        case .instance(let s): s.holdsResources
        case .task(let s): s.holdsResources
        }
    }

    public var isFailure: Bool {
        switch self {
        case .instance(let s): s.isFailure
        case .task(let s): s.isFailure
        }
    }

    /// STOPPING or DEPROVISIONING (instances); DEPROVISIONING (tasks).
    public var isStopping: Bool {
        switch self {
        case .instance(let s): s.isStopping
        case .task(let s): s == .DEPROVISIONING
        }
    }

    /// The state `name` of a workload of `kind`; nil for a name that kind does not have.
    public init?(name: String, kind: WorkloadKind) {
        switch kind {
        case .application:
            guard let s = InstanceState(rawValue: name) else { return nil }
            self = .instance(s)
        case .task:
            guard let s = TaskState(rawValue: name) else { return nil }
            self = .task(s)
        }
    }

    /// Every state name of `kind`, for error messages and query checks.
    public static func names(of kind: WorkloadKind) -> [String] {
        switch kind {
        case .application: InstanceState.allCases.map(\.rawValue)
        case .task: TaskState.allCases.map(\.rawValue)
        }
    }
}

extension WorkloadState: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}

extension Lifecycle.Step {
    /// The step as a workload step of any kind.
    public var workloadStep: WorkloadStep {
        WorkloadStep(state: state.workloadState, at: at, reason: reason)
    }
}

/// One step of a workload's history: the state it entered, when, and why.
public struct WorkloadStep: Sendable, Hashable, Encodable {
    public var state: WorkloadState
    /// Seconds since the Unix epoch.
    public var at: Double
    public var reason: String?

    public init(state: WorkloadState, at: Double, reason: String? = nil) {
        self.state = state
        self.at = at
        self.reason = reason
    }
}
