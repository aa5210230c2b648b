import NIOCore

/// A reply matched to its request: the header and the body's bytes (empty
/// when the header carries an error).
struct Reply: Sendable {
    var header: ReplyHeader
    var body: ByteBuffer
}

/// What a caller asks a watch to become once the reply is in.
struct WatchRequest: Sendable {
    enum Kind: Sendable {
        /// getData: a data watch if the node exists.
        case data
        /// exists: a data watch if it exists, an exist watch if not.
        case exists
        /// getChildren: a child watch if the node exists.
        case children
    }

    var kind: Kind
    /// Client-side path.
    var path: String
    var sink: WatchRegistry.Sink
}

/// One ordinary request: the connection gives it the next xid and fails it
/// with `operationTimeout` if no reply came by `deadline` (the error is
/// built then, not for every call).
struct Request: Sendable {
    var op: OpCode
    var body: ByteBuffer
    var promise: EventLoopPromise<Reply>
    var watch: WatchRequest?
    var deadline: NIODeadline
    var limit: Duration
    var path: String?

    var timeoutError: ZooKeeperError { ZooKeeperError(.operationTimeout, path: path, "no reply within \(limit)") }
}

/// What the client writes to a connection.
enum Outbound: Sendable {
    /// The session handshake: no request header; the promise gets the answer.
    case connect(ConnectRequest, EventLoopPromise<ConnectResponse>)
    /// An ordinary request (flushed with the others written in the same event-loop turn).
    case request(Request)
    /// auth and setWatches: fixed xids, no caller waiting.
    case special(SpecialXid, OpCode, ByteBuffer)
}
