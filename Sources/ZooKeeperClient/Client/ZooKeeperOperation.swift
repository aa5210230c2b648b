/// One operation of a ``ZooKeeperClient/multi(_:timeout:)`` transaction:
/// all are applied or none.
public enum ZooKeeperOperation: Sendable, Hashable {
    case create(String, data: [UInt8] = [], mode: CreateMode = .persistent, acl: [ACL] = ACL.openUnsafe)
    case delete(String, version: Int32 = -1)
    case setData(String, data: [UInt8], version: Int32 = -1)
    /// Fails the transaction unless the node's version is `version`.
    case check(String, version: Int32)

    public var path: String {
        switch self {
        case .create(let p, _, _, _), .delete(let p, _), .setData(let p, _, _), .check(let p, _): p
        }
    }

    var opCode: OpCode {
        switch self {
        case .create(_, _, let mode, _): mode == .container ? .createContainer : .create
        case .delete: .delete
        case .setData: .setData
        case .check: .check
        }
    }
}

/// What one operation of an applied transaction produced.
public enum ZooKeeperOperationResult: Sendable, Hashable {
    /// The created node's path (with its sequence number); the Stat for containers.
    case created(String, Stat?)
    case deleted
    case dataSet(Stat)
    case checked
}
