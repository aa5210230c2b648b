import CorralCore

/// A failure to read or change the machine.
public enum HostErrorCode: String, Sendable, Equatable {
    case topologyUnreadable = "topology_unreadable"
    case fileUnreadable = "file_unreadable"
    case spawnFailed = "spawn_failed"
    case cgroupFailed = "cgroup_failed"
    case signalFailed = "signal_failed"
}

public typealias HostError = CodedError<HostErrorCode>
