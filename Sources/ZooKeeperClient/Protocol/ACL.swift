import NIOCore

/// Who may do what on a znode: permissions for an identity (`scheme:id`).
public struct ACL: JuteRecord, Hashable {
    public struct Permissions: OptionSet, Sendable, Hashable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let read = Permissions(rawValue: 1)
        public static let write = Permissions(rawValue: 2)
        public static let create = Permissions(rawValue: 4)
        public static let delete = Permissions(rawValue: 8)
        public static let admin = Permissions(rawValue: 16)
        public static let all: Permissions = [.read, .write, .create, .delete, .admin]
    }

    public var permissions: Permissions
    /// `world`, `auth`, `digest`, `ip`, ...
    public var scheme: String
    public var id: String

    public init(_ permissions: Permissions, scheme: String, id: String) {
        self.permissions = permissions
        self.scheme = scheme
        self.id = id
    }

    /// Anyone may do anything (`OPEN_ACL_UNSAFE`).
    public static let openUnsafe = [ACL(.all, scheme: "world", id: "anyone")]
    /// Only the identities the session authenticated as (`CREATOR_ALL_ACL`).
    public static let creatorAll = [ACL(.all, scheme: "auth", id: "")]

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteInt(permissions.rawValue)
        b.writeJuteString(scheme)
        b.writeJuteString(id)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        permissions = Permissions(rawValue: try r.int("ACL.perms"))
        scheme = try r.string("ACL.id.scheme")
        id = try r.string("ACL.id.id")
    }

    /// Smallest encoded size: perms and two string lengths.
    static let minimumSize = 12
}
