/// A watch firing: what happened and to which node (client-side path).
public struct ZooKeeperWatchEvent: Sendable, Hashable, CustomStringConvertible {
    public typealias Kind = WatcherEvent.EventType

    public var kind: Kind
    public var path: String

    public init(kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    public var description: String { "\(kind) \(path)" }
}

/// A one-shot watch: yields the one event that fires it, then ends. It ends
/// with ``ZooKeeperError`` `sessionExpired` if the session ends first (the
/// server forgot it), or `connectionLoss` when the client is closed.
public typealias ZooKeeperWatch = AsyncThrowingStream<ZooKeeperWatchEvent, any Error>
