import CorralCore
import Crypto
import Foundation
import ZooKeeperClient

/// The identity Corral's controllers use in ZooKeeper: a `digest` user
/// derived from the CONTROLLER secret (HMAC-SHA256 over "corral zookeeper acl
/// v1"), so every controller of a cluster has it and nothing without the
/// secret does. The cluster's state nodes (`/applications`, `/instances`,
/// `/tasks` and below) carry an ACL that gives only this identity access.
public struct ZooKeeperCredentials: Sendable {
    public static let user = "corral"
    public let password: String

    public init(controllerSecret: Secret) {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("corral zookeeper acl v1".utf8), using: SymmetricKey(data: Data(controllerSecret.value.utf8)))
        password = Data(mac).prefix(18).base64EncodedString().replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "+", with: "-")
    }

    /// What the session sends: `addauth digest corral:<password>`.
    public var authentication: AuthPacket { AuthPacket(scheme: "digest", auth: Array("\(Self.user):\(password)".utf8)) }

    /// ZooKeeper's digest id: `user:base64(sha1(user:password))`.
    public var digestID: String {
        let sha = Insecure.SHA1.hash(data: Data("\(Self.user):\(password)".utf8))
        return "\(Self.user):" + Data(sha).base64EncodedString()
    }

    /// Every permission for Corral's identity, nothing for anyone else.
    public var acl: [ACL] { [ACL(.all, scheme: "digest", id: digestID)] }
}
