import NIOCore

/// A reply that is only a path: `CreateResponse` (the created node's name,
/// with its sequence number) and `SyncResponse`.
public struct PathResponse: JuteRecord, Hashable {
    public var path: String

    public init(path: String) { self.path = path }

    public func encode(to b: inout ByteBuffer) { b.writeJuteString(path) }

    public init(from r: inout JuteReader) throws(JuteError) {
        path = try r.string("PathResponse.path")
    }
}
