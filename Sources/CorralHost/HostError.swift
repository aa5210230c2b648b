import CorralCore

/// A failure to read or change the machine.
public struct HostError: CorralError {
    public enum Code: String, Sendable {
        case topologyUnreadable = "topology_unreadable"
        case fileUnreadable = "file_unreadable"
        case spawnFailed = "spawn_failed"
        case cgroupFailed = "cgroup_failed"
        case signalFailed = "signal_failed"
    }

    public let code: Code
    public let message: String
    public let context: [String: String]

    public init(_ code: Code, _ message: String, context: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var codeName: String { code.rawValue }
}
