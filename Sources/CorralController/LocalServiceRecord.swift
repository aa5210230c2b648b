import CorralCore
import Foundation

/// What the controller keeps per local service at `/<ns>/localservices/<serviceId>`:
/// Drove's `LocalServiceInfo` (serviceId, spec, instancesPerHost,
/// activationState, times) and, under `corral`, the state and the operation
/// in flight. `spec.env` values and INLINE config data are sealed.
public struct LocalServiceRecord: Codable, Sendable {
    /// Drove's `ActivationState`: what the service should run.
    public enum Activation: String, Codable, Sendable, CaseIterable {
        /// `instancesPerHost` instances on every executor it admits.
        case ACTIVE
        /// One instance on one executor, to try the spec (DEPLOY_TEST_INSTANCE).
        case CONFIG_TESTING
        /// Nothing.
        case INACTIVE
    }

    /// Drove's `LocalServiceState` (the ones Corral passes through).
    public enum State: String, Codable, Sendable, CaseIterable {
        case ACTIVE, INACTIVE, CONFIG_TESTING, REPLACING_INSTANCES, STOPPING_INSTANCES, DESTROYED
    }

    /// Drove's `LocalServiceOperationType`.
    public enum OperationKind: String, Codable, Sendable, CaseIterable {
        case CREATE, ACTIVATE, DEACTIVATE, DEPLOY_TEST_INSTANCE, UPDATE_INSTANCE_COUNT, RESTART, REPLACE_INSTANCES, STOP_INSTANCES, DESTROY
        /// ADJUST_INSTANCES is the monitor's own in Drove; Corral's monitor adjusts without one.
    }

    /// An operation being carried out (RESTART, REPLACE_INSTANCES, STOP_INSTANCES), as persisted.
    public struct Operation: Codable, Sendable, Hashable {
        public var kind: OperationKind
        /// Instances still to replace or stop.
        public var instanceIds: [String]
        public var stopFirst: Bool
        public var parallelism: Int
        /// Epoch milliseconds.
        public var started: Int64
    }

    public struct Extras: Codable, Sendable {
        public var state: State
        public var operation: Operation?
    }

    public var serviceId: String
    /// The spec as created, secrets sealed (JSON object).
    public var spec: JSONValue
    public var instancesPerHost: Int
    public var activationState: Activation
    public var created: Int64
    public var updated: Int64
    public var corral: Extras

    /// The state the service rests in for its activation.
    public static func resting(_ a: Activation) -> State {
        switch a {
        case .ACTIVE: .ACTIVE
        case .CONFIG_TESTING: .CONFIG_TESTING
        case .INACTIVE: .INACTIVE
        }
    }
}
