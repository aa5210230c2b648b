/// ZooKeeper's error codes (`KeeperException.Code`).
public enum ZooKeeperErrorCode: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case systemError = -1, runtimeInconsistency = -2, dataInconsistency = -3, connectionLoss = -4
    case marshallingError = -5, unimplemented = -6, operationTimeout = -7, badArguments = -8
    case unknownSession = -12, newConfigNoQuorum = -13, reconfigInProgress = -14
    case apiError = -100, noNode = -101, noAuth = -102, badVersion = -103
    case noChildrenForEphemerals = -108, nodeExists = -110, notEmpty = -111, sessionExpired = -112
    case invalidCallback = -113, invalidACL = -114, authFailed = -115, sessionMoved = -118
    case notReadOnly = -119, ephemeralOnLocalSession = -120, noWatcher = -121, requestTimeout = -122
    case reconfigDisabled = -123, sessionClosedRequireSASLAuth = -124, quotaExceeded = -125, throttledOp = -127
    /// A code this client does not know.
    case unknown = -999

    public var description: String {
        switch self {
        case .noNode: "no node"
        case .nodeExists: "node exists"
        case .badVersion: "bad version"
        case .notEmpty: "not empty"
        case .sessionExpired: "session expired"
        case .connectionLoss: "connection loss"
        case .noAuth: "not authorized"
        default: "ZooKeeper error \(rawValue)"
        }
    }
}
