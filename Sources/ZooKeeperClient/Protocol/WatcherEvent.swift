import NIOCore

/// A watch notification (xid -1): what happened, the session's state, the path.
public struct WatcherEvent: JuteRecord, Hashable {
    public enum EventType: Int32, Sendable, CaseIterable {
        case none = -1, nodeCreated = 1, nodeDeleted = 2, nodeDataChanged = 3, nodeChildrenChanged = 4
        case dataWatchRemoved = 5, childWatchRemoved = 6, persistentWatchRemoved = 7
    }

    public enum KeeperState: Int32, Sendable, CaseIterable {
        case disconnected = 0, syncConnected = 3, authFailed = 4, connectedReadOnly = 5, saslAuthenticated = 6
        case expired = -112, closed = 7
    }

    public var type: Int32
    public var state: Int32
    public var path: String

    public init(type: EventType, state: KeeperState, path: String) {
        self.type = type.rawValue
        self.state = state.rawValue
        self.path = path
    }

    public var eventType: EventType? { EventType(rawValue: type) }
    public var keeperState: KeeperState? { KeeperState(rawValue: state) }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteInt(type)
        b.writeJuteInt(state)
        b.writeJuteString(path)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        type = try r.int("WatcherEvent.type")
        state = try r.int("WatcherEvent.state")
        path = try r.string("WatcherEvent.path")
    }
}
