/// How a node is created. Parents are never created implicitly except by
/// ``ZooKeeperClient/create(_:data:mode:acl:createParents:timeout:)`` with `createParents`.
public enum CreateMode: Sendable, Hashable, CaseIterable {
    case persistent, ephemeral, persistentSequential, ephemeralSequential
    /// Deleted by the server once its last child is gone (ZooKeeper 3.6+).
    case container

    var request: CreateRequest.Mode {
        switch self {
        case .persistent: .persistent
        case .ephemeral: .ephemeral
        case .persistentSequential: .persistentSequential
        case .ephemeralSequential: .ephemeralSequential
        case .container: .container
        }
    }

    public var isSequential: Bool { self == .persistentSequential || self == .ephemeralSequential }
}
