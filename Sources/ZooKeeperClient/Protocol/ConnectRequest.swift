import NIOCore

/// The first message of a connection, sent without a request header: a new
/// session (id 0) or the one to resume (its id, password and the last zxid seen).
public struct ConnectRequest: JuteRecord, Hashable {
    public var protocolVersion: Int32 = 0
    public var lastZxidSeen: Int64 = 0
    /// Requested session timeout in milliseconds (the server clamps it).
    public var timeout: Int32
    public var sessionID: Int64 = 0
    public var password: [UInt8] = Array(repeating: 0, count: 16)
    public var readOnly = false

    public init(timeout: Int32, sessionID: Int64 = 0, password: [UInt8] = Array(repeating: 0, count: 16), lastZxidSeen: Int64 = 0) {
        self.timeout = timeout
        self.sessionID = sessionID
        self.password = password
        self.lastZxidSeen = lastZxidSeen
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteInt(protocolVersion)
        b.writeJuteLong(lastZxidSeen)
        b.writeJuteInt(timeout)
        b.writeJuteLong(sessionID)
        b.writeJuteBuffer(password)
        b.writeJuteBool(readOnly)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        protocolVersion = try r.int("ConnectRequest.protocolVersion")
        lastZxidSeen = try r.long("ConnectRequest.lastZxidSeen")
        timeout = try r.int("ConnectRequest.timeOut")
        sessionID = try r.long("ConnectRequest.sessionId")
        password = try r.buffer("ConnectRequest.passwd") ?? []
        readOnly = try r.bool("ConnectRequest.readOnly")
    }
}
