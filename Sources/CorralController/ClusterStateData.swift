import Foundation

/// Drove's `ClusterStateData`: whether the cluster is in maintenance mode,
/// and since when (epoch milliseconds). Kept at `/<ns>/cluster/maintenance`.
public struct ClusterStateData: Codable, Sendable, Equatable {
    /// Drove's `ClusterState`.
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// Operations are accepted and the monitor keeps every app at its count.
        case NORMAL
        /// Operations are refused; nothing running is stopped, and nothing is
        /// declared lost or replaced (executors may restart meanwhile).
        case MAINTENANCE
    }

    public var state: Mode
    public var updated: Int64

    public init(state: Mode, updated: Int64) {
        self.state = state
        self.updated = updated
    }
}
