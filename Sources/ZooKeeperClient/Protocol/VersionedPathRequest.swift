import NIOCore

/// delete and check: a path and the version it must have (-1: any).
public struct VersionedPathRequest: JuteRecord, Hashable {
    public var path: String
    public var version: Int32

    public init(path: String, version: Int32 = -1) {
        self.path = path
        self.version = version
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteString(path)
        b.writeJuteInt(version)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        path = try r.string("VersionedPathRequest.path")
        version = try r.int("VersionedPathRequest.version")
    }
}
