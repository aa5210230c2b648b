import NIOCore

/// The answer to getData: the node's bytes (nil for null) and its Stat.
public struct GetDataResponse: JuteRecord, Hashable {
    public var data: [UInt8]?
    public var stat: Stat

    public init(data: [UInt8]?, stat: Stat) {
        self.data = data
        self.stat = stat
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteBuffer(data)
        stat.encode(to: &b)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        data = try r.buffer("GetDataResponse.data")
        stat = try Stat(from: &r)
    }
}
