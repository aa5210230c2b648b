/// Where a client's session stands. Each change is published to every
/// ``ZooKeeperClient/stateUpdates()`` subscriber, in order.
public enum ZooKeeperSessionState: Sendable, Hashable, CustomStringConvertible {
    /// Looking for a server; no session yet.
    case connecting
    /// A server accepted the session. `newSession` is true the first time and
    /// after an expiry (ephemerals and watches of the old session are gone).
    case connected(ZooKeeperSession, newSession: Bool)
    /// The connection is lost; the session may still be alive on the ensemble
    /// (reconnecting within the session timeout keeps it, with its ephemerals
    /// and watches).
    case suspended
    /// The session ended: the ensemble said so, or no server was reachable for
    /// the whole session timeout. Ephemerals are gone; the client starts a new
    /// session and the owner decides what to recreate.
    case expired(ExpiryReason)
    /// ``ZooKeeperClient/close()`` was called.
    case closed

    public enum ExpiryReason: String, Sendable, Hashable {
        /// A server answered the reconnect with an expired session.
        case ensemble
        /// No server could be reached for the whole negotiated session timeout.
        case unreachable
    }

    public var isConnected: Bool {
        if case .connected = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .connected(let s, let new): "connected (session 0x\(String(UInt64(bitPattern: s.id), radix: 16))\(new ? ", new" : ""))"
        case .suspended: "suspended"
        case .expired(let r): "expired (\(r.rawValue))"
        case .closed: "closed"
        }
    }
}

/// A session the ensemble granted: its id, the negotiated timeout and the server.
public struct ZooKeeperSession: Sendable, Hashable {
    public var id: Int64
    public var timeout: Duration
    public var server: ZooKeeperConnectionString.Host

    public init(id: Int64, timeout: Duration, server: ZooKeeperConnectionString.Host) {
        self.id = id
        self.timeout = timeout
        self.server = server
    }

    /// The id as ZooKeeper prints it (`0x100003f5c2a0001`).
    public var idHex: String { "0x" + String(UInt64(bitPattern: id), radix: 16) }
}
