/// A failed ZooKeeper call: the server's or the client's error code, the path
/// the call was about and what happened. Credentials never appear in it.
public struct ZooKeeperError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ZooKeeperErrorCode
    /// The node the call named (client-side, without the chroot), when it named one.
    public var path: String?
    public var detail: String?

    public init(_ code: ZooKeeperErrorCode, path: String? = nil, _ detail: String? = nil) {
        self.code = code
        self.path = path
        self.detail = detail
    }

    public var description: String {
        var s = code.description
        if let path { s += " at \(path)" }
        if let detail { s += ": \(detail)" }
        return s
    }

    /// The client was closed: nothing more will be sent.
    public static func closed(_ path: String? = nil) -> ZooKeeperError {
        ZooKeeperError(.connectionLoss, path: path, "the client is closed")
    }
}
