import NIOCore

/// The server's answer to a ``ConnectRequest``: the negotiated timeout, the
/// session id and password. A timeout of 0 or less means the session to
/// resume has expired. Old servers omit `readOnly`.
public struct ConnectResponse: JuteRecord, Hashable {
    public var protocolVersion: Int32 = 0
    public var timeout: Int32
    public var sessionID: Int64
    public var password: [UInt8]
    public var readOnly = false

    public init(timeout: Int32, sessionID: Int64, password: [UInt8], readOnly: Bool = false) {
        self.timeout = timeout
        self.sessionID = sessionID
        self.password = password
        self.readOnly = readOnly
    }

    /// The session asked for no longer exists.
    public var isExpired: Bool { timeout <= 0 }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteInt(protocolVersion)
        b.writeJuteInt(timeout)
        b.writeJuteLong(sessionID)
        b.writeJuteBuffer(password)
        b.writeJuteBool(readOnly)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        protocolVersion = try r.int("ConnectResponse.protocolVersion")
        timeout = try r.int("ConnectResponse.timeOut")
        sessionID = try r.long("ConnectResponse.sessionId")
        password = try r.buffer("ConnectResponse.passwd") ?? []
        readOnly = r.remaining > 0 ? try r.bool("ConnectResponse.readOnly") : false
    }
}
