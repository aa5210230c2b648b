import NIOCore

/// `create`, `create2` and `createContainer`: the path, data, ACL and mode flags.
public struct CreateRequest: JuteRecord, Hashable {
    public enum Mode: Int32, Sendable, CaseIterable {
        case persistent = 0, ephemeral = 1, persistentSequential = 2, ephemeralSequential = 3, container = 4
        case persistentWithTTL = 5, persistentSequentialWithTTL = 6

        /// Containers go as op 19, TTL nodes as op 21, the rest as create2.
        public var opCode: OpCode {
            switch self {
            case .container: .createContainer
            case .persistentWithTTL, .persistentSequentialWithTTL: .createTTL
            default: .create2
            }
        }
    }

    public var path: String
    public var data: [UInt8]
    public var acl: [ACL]
    public var flags: Int32

    public init(path: String, data: [UInt8], acl: [ACL], mode: Mode) {
        self.path = path
        self.data = data
        self.acl = acl
        self.flags = mode.rawValue
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteString(path)
        b.writeJuteBuffer(data)
        b.writeJuteVector(acl) { b, a in a.encode(to: &b) }
        b.writeJuteInt(flags)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        path = try r.string("CreateRequest.path")
        data = try r.buffer("CreateRequest.data") ?? []
        acl = try r.vector("CreateRequest.acl", minimumSize: ACL.minimumSize) { (r: inout JuteReader) throws(JuteError) in try ACL(from: &r) }
        flags = try r.int("CreateRequest.flags")
    }
}
