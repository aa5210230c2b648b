import NIOCore

/// Authenticates the session (xid -4, op 100): `digest` with `user:password`.
/// The credentials are a secret: `description` never shows them.
public struct AuthPacket: JuteRecord, Hashable, CustomStringConvertible {
    public var type: Int32 = 0
    public var scheme: String
    public var auth: [UInt8]

    public init(scheme: String, auth: [UInt8]) {
        self.scheme = scheme
        self.auth = auth
    }

    public var description: String { "AuthPacket(scheme: \(scheme), auth: <redacted>)" }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteInt(type)
        b.writeJuteString(scheme)
        b.writeJuteBuffer(auth)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        type = try r.int("AuthPacket.type")
        scheme = try r.string("AuthPacket.scheme")
        auth = try r.buffer("AuthPacket.auth") ?? []
    }
}
