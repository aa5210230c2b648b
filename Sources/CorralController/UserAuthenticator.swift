import CCrypt
import CorralCore
import CorralExecutor
import Crypto
import Foundation

/// Checks HTTP basic credentials against `userAuth.users`: PLAIN passwords
/// compared in constant time, CRYPT ones with crypt(3) (bcrypt and the
/// others libxcrypt knows). A bcrypt check costs tens to hundreds of
/// milliseconds by design, so a successful check is remembered for 30
/// minutes under a SHA-256 of the credentials (never the password itself).
public actor UserAuthenticator {
    let config: UserAuthConfig
    private var verified: [Data: (role: UserAuthConfig.Role, until: Date)] = [:]

    public init(_ config: UserAuthConfig) { self.config = config }

    public nonisolated var enabled: Bool { config.enabled }

    /// The caller's role, nil when the credentials are wrong or missing.
    public func role(authorization header: String?) -> UserAuthConfig.Role? {
        guard let given = BasicCredentials(authorization: header) else { return nil }
        let user = given.user, password = given.password
        let key = Data(SHA256.hash(data: Data("\(user):\(password)".utf8)))
        if let hit = verified[key], hit.until > Date() { return hit.role }
        guard let entry = config.users.first(where: { $0.username == user }) else { return nil }
        let ok: Bool
        switch config.encoding {
        case .PLAIN: ok = ExecutorAPI.constantTimeEqual(Array(password.utf8), Array(entry.password.value.utf8))
        case .CRYPT: ok = corral_crypt_check(password, entry.password.value) == 1
        }
        guard ok else { return nil }
        if verified.count > 500 { verified = verified.filter { $0.value.until > Date() } }
        verified[key] = (entry.role, Date().addingTimeInterval(1800))
        return entry.role
    }
}

extension UserAuthenticator {
    /// A bcrypt hash (`$2b$`, cost `rounds`) of `password` for `userAuth.users[].password` with `encoding: CRYPT`.
    public static func bcrypt(_ password: String, rounds: Int = 12) -> String? {
        var out = [CChar](repeating: 0, count: 256)
        guard corral_crypt_bcrypt(password, UInt(rounds), &out, Int32(out.count)) == 0 else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
