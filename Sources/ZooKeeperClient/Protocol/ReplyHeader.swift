import NIOCore

/// Precedes every reply: the request's xid, the zxid the server is at and
/// the error code (a body follows only when it is 0).
public struct ReplyHeader: JuteRecord, Hashable {
    public var xid: Int32
    public var zxid: Int64
    public var err: Int32

    public init(xid: Int32, zxid: Int64, err: Int32) {
        self.xid = xid
        self.zxid = zxid
        self.err = err
    }

    public var error: ZooKeeperErrorCode? { err == 0 ? nil : ZooKeeperErrorCode(rawValue: err) ?? .unknown }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteInt(xid)
        b.writeJuteLong(zxid)
        b.writeJuteInt(err)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        xid = try r.int("ReplyHeader.xid")
        zxid = try r.long("ReplyHeader.zxid")
        err = try r.int("ReplyHeader.err")
    }
}
