/// How an executor reaches the controllers (Drove v1.33's `options.remoteUpdateMode`
/// and `controllers:`).
public enum RemoteUpdateMode: String, Sendable, CaseIterable {
    /// The executor writes its node data to ZooKeeper and follows the leader there (the default).
    case STORE
    /// The executor uses no ZooKeeper: it finds the leader by asking each of
    /// `controllers.endpoints` for `/apis/v1/ping` (only the leader answers
    /// 200) every `leadershipCheckInterval`, and pushes its node data to it as
    /// EXECUTOR_SNAPSHOT messages; the controller keeps it in ZooKeeper.
    case RPC
}

/// `controllers:` in the executor YAML.
public struct ControllersConfig: Sendable, Hashable {
    /// The controllers' base URLs (`http://host:port`).
    public var endpoints: [String]
    /// How often the leader is looked for: 3 to 60 seconds, default 10.
    public var leadershipCheckInterval: ConfigDuration = .seconds(10)

    public init(endpoints: [String], leadershipCheckInterval: ConfigDuration = .seconds(10)) {
        self.endpoints = endpoints
        self.leadershipCheckInterval = leadershipCheckInterval
    }
}
