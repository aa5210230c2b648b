import ServiceLifecycle

/// How an executor takes part in a cluster: through ZooKeeper
/// (``ClusterMember``, `remoteUpdateMode: STORE`) or through the controllers'
/// API (``ControllerLink``, `remoteUpdateMode: RPC`).
public protocol ClusterLink: Service, Actor {
    /// The port controllers reach this executor on, once it is bound.
    func setPort(_ port: Int) async
    func status() async -> ClusterStatus
    /// The leader controller's endpoint (http://host:port), when one is known.
    var leaderEndpoint: String? { get }
}

/// What `/apis/v1/executor` and the console show of the executor's cluster link.
public struct ClusterStatus: Codable, Sendable {
    /// STORE or RPC.
    public var mode: String
    public var namespace: String
    /// The ZooKeeper connection string (STORE), or the controllers' endpoints (RPC).
    public var connectionString: String
    /// Connected to ZooKeeper (STORE), or a leader controller answers (RPC).
    public var connected: Bool
    public var session: String?
    public var state: String
    public var node: String
    public var executorId: String
    public var executorState: String
    /// Epoch seconds of the last write of the node (STORE) or snapshot taken by the leader (RPC).
    public var lastPublish: Double?
    public var nodeWrites: Int
    public var leader: String?
    /// Epoch seconds since ZooKeeper (or every controller) has been unreachable, nil when connected.
    public var outageSince: Double?
    public var reportsSent: Int
    public var reportsFailed: Int
}
