/// A state machine's states: which moves are legal and which states hold the
/// workload's allocation.
public protocol LifecycleState: CaseIterable, Hashable, Sendable, Codable, RawRepresentable where RawValue == String {
    /// Legal next states.
    var successors: Set<Self> { get }
    /// Whether a workload in this state holds its allocation.
    var holdsResources: Bool { get }
    /// No move leaves this state.
    var isTerminal: Bool { get }
    /// Something went wrong in this state (its reason is kept and reported).
    var isFailure: Bool { get }

    /// The states every workload kind shares, named once so that the one
    /// driver of every kind (and the executor's recovery) can use them.
    static var pending: Self { get }
    static var provisioning: Self { get }
    static var provisioningFailed: Self { get }
    static var starting: Self { get }
    static var deprovisioning: Self { get }
    static var stopped: Self { get }
    static var lost: Self { get }
    /// Found after a restart, not yet confirmed running or gone.
    static var unknown: Self { get }
    /// The state as a state of any workload kind.
    var workloadState: WorkloadState { get }
}

extension LifecycleState {
    /// Every state but PENDING (nothing taken yet) and the two final ones holds the allocation.
    public var holdsResources: Bool { self != .pending && !isTerminal }
    public var isTerminal: Bool { self == .stopped || self == .lost }
}

/// Application instance states, Drove's names and moves, plus LOST: a running
/// instance whose container or process vanished (killed from outside).
///
/// PENDING -> PROVISIONING | STOPPING; PROVISIONING -> STARTING | PROVISIONING_FAILED;
/// STARTING -> UNREADY | START_FAILED | LOST; UNKNOWN (found after a restart) ->
/// UNREADY | STOPPED | LOST; UNREADY -> READY | READINESS_CHECK_FAILED | STOPPING | LOST;
/// READY -> HEALTHY | STOPPING | LOST; HEALTHY -> UNHEALTHY | STOPPING | LOST;
/// STOPPING, UNHEALTHY, READINESS_CHECK_FAILED -> DEPROVISIONING (UNHEALTHY, STOPPING also -> LOST);
/// PROVISIONING_FAILED, START_FAILED -> DEPROVISIONING; DEPROVISIONING -> STOPPED.
public enum InstanceState: String, LifecycleState {
    case PENDING, PROVISIONING, PROVISIONING_FAILED, STARTING, START_FAILED, UNREADY, READINESS_CHECK_FAILED
    case READY, HEALTHY, UNHEALTHY, DEPROVISIONING, STOPPING, STOPPED, LOST, UNKNOWN

    public var successors: Set<InstanceState> {
        switch self {
        case .PENDING: [.PROVISIONING, .STOPPING]
        case .PROVISIONING: [.STARTING, .PROVISIONING_FAILED]
        case .PROVISIONING_FAILED: [.DEPROVISIONING]
        case .STARTING: [.UNREADY, .START_FAILED, .LOST]
        case .START_FAILED: [.DEPROVISIONING]
        case .UNREADY: [.READY, .READINESS_CHECK_FAILED, .STOPPING, .LOST]
        case .READINESS_CHECK_FAILED: [.DEPROVISIONING]
        case .READY: [.HEALTHY, .STOPPING, .LOST]
        case .HEALTHY: [.UNHEALTHY, .STOPPING, .LOST]
        case .UNHEALTHY: [.DEPROVISIONING, .LOST]
        case .STOPPING: [.DEPROVISIONING, .LOST]
        case .DEPROVISIONING: [.STOPPED]
        case .UNKNOWN: [.UNREADY, .STOPPED, .LOST]
        case .STOPPED, .LOST: []
        }
    }


    /// States that mean something went wrong (the reason is kept).
    public var isFailure: Bool {
        [.PROVISIONING_FAILED, .START_FAILED, .READINESS_CHECK_FAILED, .UNHEALTHY, .LOST].contains(self)
    }
    /// On the way out: asked to stop, or stopping.
    public var isStopping: Bool { self == .STOPPING || self == .DEPROVISIONING }

    public static var pending: Self { .PENDING }
    public static var provisioning: Self { .PROVISIONING }
    public static var provisioningFailed: Self { .PROVISIONING_FAILED }
    public static var starting: Self { .STARTING }
    public static var deprovisioning: Self { .DEPROVISIONING }
    public static var stopped: Self { .STOPPED }
    public static var lost: Self { .LOST }
    public static var unknown: Self { .UNKNOWN }
    public var workloadState: WorkloadState { .instance(self) }
}

/// Task states, Drove's names, plus LOST. A task that ran to its end is
/// RUN_COMPLETED whatever its exit code (the code is recorded); RUN_FAILED
/// means it could not run, was cancelled, or vanished without a result.
///
/// PENDING -> PROVISIONING | STOPPED; PROVISIONING -> STARTING | PROVISIONING_FAILED;
/// STARTING -> RUNNING | RUN_FAILED | LOST; RUNNING -> RUN_COMPLETED | RUN_FAILED | LOST;
/// UNKNOWN -> RUNNING | RUN_COMPLETED | RUN_FAILED | LOST;
/// PROVISIONING_FAILED, RUN_COMPLETED, RUN_FAILED -> DEPROVISIONING; DEPROVISIONING -> STOPPED.
public enum TaskState: String, LifecycleState {
    case PENDING, PROVISIONING, PROVISIONING_FAILED, STARTING, RUNNING, RUN_COMPLETED, RUN_FAILED
    case DEPROVISIONING, STOPPED, LOST, UNKNOWN

    public var successors: Set<TaskState> {
        switch self {
        case .PENDING: [.PROVISIONING, .STOPPED]
        case .PROVISIONING: [.STARTING, .PROVISIONING_FAILED]
        case .PROVISIONING_FAILED: [.DEPROVISIONING]
        case .STARTING: [.RUNNING, .RUN_FAILED, .LOST]
        case .RUNNING: [.RUN_COMPLETED, .RUN_FAILED, .LOST]
        case .RUN_COMPLETED, .RUN_FAILED: [.DEPROVISIONING]
        case .DEPROVISIONING: [.STOPPED]
        case .UNKNOWN: [.RUNNING, .RUN_COMPLETED, .RUN_FAILED, .LOST]
        case .STOPPED, .LOST: []
        }
    }

    /// States that mean the task could not run or vanished.
    public var isFailure: Bool { [.PROVISIONING_FAILED, .RUN_FAILED, .LOST].contains(self) }

    public static var pending: Self { .PENDING }
    public static var provisioning: Self { .PROVISIONING }
    public static var provisioningFailed: Self { .PROVISIONING_FAILED }
    public static var starting: Self { .STARTING }
    public static var deprovisioning: Self { .DEPROVISIONING }
    public static var stopped: Self { .STOPPED }
    public static var lost: Self { .LOST }
    public static var unknown: Self { .UNKNOWN }
    public var workloadState: WorkloadState { .task(self) }
}

/// What a move does to the workload's allocation.
public enum ResourceEffect: Sendable, Equatable {
    case none
    /// The workload now holds its allocation (entering PROVISIONING).
    case acquire
    /// The workload gives its allocation back (entering STOPPED or LOST).
    case release
}

/// A refused move.
public struct TransitionError: CorralError, Equatable {
    public let from: String
    public let to: String
    public let allowed: [String]

    public var codeName: String { "illegal_transition" }
    public var message: String {
        "cannot move from \(from) to \(to); from \(from) the allowed moves are: "
            + (allowed.isEmpty ? "none (final state)" : allowed.joined(separator: ", "))
    }
    public var context: [String: String] { ["from": from, "to": to] }
}

/// One workload's life: its state, when it got there, why, and every move so
/// far. The state only changes through ``transition(to:reason:at:)``, which
/// checks the table, so an illegal history cannot be built.
public struct Lifecycle<State: LifecycleState>: Sendable, Codable {
    public struct Step: Sendable, Codable, Equatable {
        public var state: State
        /// Seconds since the Unix epoch.
        public var at: Double
        public var reason: String?
    }

    public private(set) var state: State
    public private(set) var history: [Step]

    /// Starts in `initial` (PENDING for new work, UNKNOWN for work found after a restart).
    public init(_ initial: State, at: Double, reason: String? = nil) {
        state = initial
        history = [Step(state: initial, at: at, reason: reason)]
    }

    /// The last failure reason recorded, if any.
    public var lastReason: String? { history.last(where: { $0.reason != nil })?.reason }
    public var enteredAt: Double { history.last!.at }

    public func canMove(to next: State) -> Bool { state.successors.contains(next) }

    /// Moves to `next` if the table allows it; returns what the move does to the allocation.
    @discardableResult
    public mutating func transition(to next: State, reason: String? = nil, at: Double) throws(TransitionError) -> ResourceEffect {
        guard state.successors.contains(next) else {
            throw TransitionError(from: state.rawValue, to: next.rawValue,
                                  allowed: state.successors.map(\.rawValue).sorted())
        }
        let effect = Self.effect(from: state, to: next)
        state = next
        history.append(Step(state: next, at: at, reason: reason))
        return effect
    }

    static func effect(from: State, to: State) -> ResourceEffect {
        if !from.holdsResources && to.holdsResources { return .acquire }
        if from.holdsResources && !to.holdsResources { return .release }
        return .none
    }
}
