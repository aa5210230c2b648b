import CorralCore
import Crypto
import Foundation

public enum SecretErrorCode: String, Sendable, Equatable {
    /// The key file is missing, unreadable, malformed or readable by others.
    case keyFile = "secret_key_file"
    /// A sealed value no key of this ring opens (key lost or replaced, or tampered).
    case unrecoverable = "secret_unrecoverable"
    case malformed = "secret_malformed"
}

public typealias SecretError = CodedError<SecretErrorCode>

/// Values that may be secrets (environment values, passwords, tokens),
/// sealed with AES-256-GCM before they are stored, readable again only with
/// the key. A sealed value is the text `corral-sealed:v1:<key id>:<base64 of
/// nonce, ciphertext and tag>`, where the key id is the first 8 bytes of the
/// key's SHA-256 in hex; the context (which app, which variable) is bound in
/// as associated data, so a sealed value moved to another field does not open.
///
/// The ring holds the current key (used to seal) and earlier ones (still
/// accepted to open), which is how a key is rotated: add a new first line to
/// the key file, restart, and values are sealed anew with it as they are
/// written; remove the old line once nothing needs it.
public struct SecretBox: Sendable {
    public struct Key: Sendable {
        public let id: String
        let key: SymmetricKey

        public init(_ bytes: some ContiguousBytes) {
            key = SymmetricKey(data: bytes)
            id = Self.id(of: key)
        }

        init(_ key: SymmetricKey) {
            self.key = key
            id = Self.id(of: key)
        }

        static func id(of key: SymmetricKey) -> String {
            key.withUnsafeBytes { Data(SHA256.hash(data: Data($0)).prefix(8)) }.map { String(format: "%02x", $0) }.joined()
        }
    }

    public static let prefix = "corral-sealed:v1:"
    public let current: Key
    public let previous: [Key]

    public init(current: Key, previous: [Key] = []) {
        self.current = current
        self.previous = previous
    }

    public static func isSealed(_ s: String) -> Bool { s.hasPrefix(prefix) }

    public func seal(_ plaintext: String, context: String) throws(SecretError) -> String {
        do {
            let box = try AES.GCM.seal(Data(plaintext.utf8), using: current.key, authenticating: Data(context.utf8))
            guard let combined = box.combined else { throw SecretError(.malformed, "AES-GCM gave no combined form") }
            return Self.prefix + current.id + ":" + combined.base64EncodedString()
        } catch let e as SecretError {
            throw e
        } catch {
            throw SecretError(.malformed, "cannot seal a value for \(context): \(error)")
        }
    }

    /// The plaintext of `sealed`; an error names the context and never holds the value.
    public func open(_ sealed: String, context: String) throws(SecretError) -> String {
        guard sealed.hasPrefix(Self.prefix) else {
            throw SecretError(.malformed, "\(context) is not a sealed value", context: ["field": context])
        }
        let rest = sealed.dropFirst(Self.prefix.count)
        guard let colon = rest.firstIndex(of: ":"), let data = Data(base64Encoded: String(rest[rest.index(after: colon)...])) else {
            throw SecretError(.malformed, "\(context) holds a damaged sealed value", context: ["field": context])
        }
        let keyID = String(rest[..<colon])
        guard let key = ([current] + previous).first(where: { $0.id == keyID }) else {
            throw SecretError(.unrecoverable,
                              "\(context) was sealed with key \(keyID), which this executor's key file does not hold"
                              + " (keys held: \(([current] + previous).map(\.id).joined(separator: ", ")))",
                              context: ["field": context, "keyId": keyID])
        }
        do {
            let box = try AES.GCM.SealedBox(combined: data)
            let plain = try AES.GCM.open(box, using: key.key, authenticating: Data(context.utf8))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw SecretError(.unrecoverable, "\(context) does not open with key \(keyID): damaged or moved from another field",
                              context: ["field": context, "keyId": keyID])
        }
    }

    /// A ring from a key file: one base64 key (32 bytes) per line, the first
    /// the current one; `#` lines are comments. Created (one fresh key, mode
    /// 0600, its directory 0700) when it does not exist. A file that others may
    /// read is refused: the key would not be Corral's alone.
    public static func load(keyFile path: String, create: Bool = true) throws(SecretError) -> SecretBox {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            guard create else { throw SecretError(.keyFile, "the key file \(path) does not exist", context: ["path": path]) }
            let dir = (path as NSString).deletingLastPathComponent
            do {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw SecretError(.keyFile, "cannot create \(dir) for the key file: \(error.localizedDescription)", context: ["path": path])
            }
            let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
            let text = "# Corral's key for values stored encrypted (AES-256-GCM). Keep it: without it they cannot be read.\n"
                + key.base64EncodedString() + "\n"
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw SecretError(.keyFile, "cannot create the key file \(path): \(String(cString: strerror(errno)))", context: ["path": path])
            }
            let ok = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count }
            close(fd)
            guard ok else { throw SecretError(.keyFile, "cannot write the key file \(path)", context: ["path": path]) }
        }
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw SecretError(.keyFile, "cannot read the key file \(path): \(String(cString: strerror(errno)))", context: ["path": path])
        }
        guard st.st_mode & 0o077 == 0 else {
            throw SecretError(.keyFile, "the key file \(path) has mode \(String(st.st_mode & 0o777, radix: 8)): others may read it;"
                              + " allowed: 600 or 400 (chmod 600 \(path))", context: ["path": path])
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SecretError(.keyFile, "cannot read the key file \(path)", context: ["path": path])
        }
        var keys: [Key] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty || t.hasPrefix("#") { continue }
            guard let data = Data(base64Encoded: t), data.count == 32 else {
                throw SecretError(.keyFile, "\(path):\(n + 1): not a key (allowed: 32 bytes in base64, e.g. from"
                                  + " `head -c 32 /dev/urandom | base64`)", context: ["path": path])
            }
            keys.append(Key(data))
        }
        guard let first = keys.first else {
            throw SecretError(.keyFile, "the key file \(path) holds no key", context: ["path": path])
        }
        return SecretBox(current: first, previous: Array(keys.dropFirst()))
    }

    /// The cluster's key: HKDF-SHA256 over the controller secret, salt
    /// "corral-cluster-state", info "corral cluster state v1" (documented in
    /// docs/secrets.md), so every controller that has the secret derives the
    /// same key and nothing without it can.
    public static func clusterKey(fromControllerSecret secret: String) -> Key {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data(secret.utf8)),
                                         salt: Data("corral-cluster-state".utf8),
                                         info: Data("corral cluster state v1".utf8), outputByteCount: 32)
        return Key(key)
    }
}
