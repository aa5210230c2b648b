import NIOCore

/// The reply to create2 and createContainer: the created node's name and its Stat.
public struct Create2Response: JuteRecord, Hashable {
    public var path: String
    public var stat: Stat

    public init(path: String, stat: Stat) {
        self.path = path
        self.stat = stat
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteString(path)
        stat.encode(to: &b)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        path = try r.string("Create2Response.path")
        stat = try Stat(from: &r)
    }
}
