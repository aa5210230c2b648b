import CorralCore
import Foundation

/// What the controller keeps per application at `/<ns>/applications/<appId>`:
/// Drove's `ApplicationInfo` (appId, spec, expected instances, times) and,
/// under `corral` (Drove's readers ignore it), the state machine and the
/// operation in flight, so a new leader resumes instead of starting over.
/// `spec.env` values are sealed with the cluster key.
public struct ApplicationRecord: Codable, Sendable {
    /// An operation being carried out, as persisted.
    public struct Operation: Codable, Sendable, Hashable {
        public var id: String
        public var kind: ApplicationOperationKind
        public var opSpec: ClusterOpSpec
        /// SCALE's goal (START_INSTANCES and SUSPEND become a SCALE to this).
        public var requiredInstances: Int?
        /// The instances STOP_INSTANCES or REPLACE_INSTANCES act on.
        public var instanceIds: [String]?
        public var skipRespawn: Bool?
        public var stopFirst: Bool?
        /// The expected count before the operation (ROLLBACK returns to it).
        public var previousInstances: Int
        /// Epoch milliseconds.
        public var started: Int64
        /// Instances already replaced (REPLACE_INSTANCES resumes after them).
        public var done: [String]?
    }

    public struct Extras: Codable, Sendable {
        public var state: ApplicationState
        public var operation: Operation?
        /// Why the last operation ended as it did.
        public var lastOutcome: String?
    }

    public var appId: String
    /// The spec as deployed, env values sealed (JSON object).
    public var spec: JSONValue
    public var instances: Int
    public var created: Int64
    public var updated: Int64
    public var corral: Extras
}
