import NIOCore

/// Precedes every request but the connect: its xid and operation.
public struct RequestHeader: JuteRecord, Hashable {
    public var xid: Int32
    public var type: Int32

    public init(xid: Int32, type: OpCode) {
        self.xid = xid
        self.type = type.rawValue
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteInt(xid)
        b.writeJuteInt(type)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        xid = try r.int("RequestHeader.xid")
        type = try r.int("RequestHeader.type")
    }
}
