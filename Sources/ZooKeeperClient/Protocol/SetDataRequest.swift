import NIOCore

/// setData: the path, the new bytes and the version it must have (-1: any).
public struct SetDataRequest: JuteRecord, Hashable {
    public var path: String
    public var data: [UInt8]
    public var version: Int32

    public init(path: String, data: [UInt8], version: Int32 = -1) {
        self.path = path
        self.data = data
        self.version = version
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteString(path)
        b.writeJuteBuffer(data)
        b.writeJuteInt(version)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        path = try r.string("SetDataRequest.path")
        data = try r.buffer("SetDataRequest.data") ?? []
        version = try r.int("SetDataRequest.version")
    }
}
