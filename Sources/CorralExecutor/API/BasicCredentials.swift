import Foundation

/// The user and password of an HTTP Basic `Authorization` header: the
/// controller's userAuth and the executor's one-node console read them so.
public struct BasicCredentials: Sendable {
    public var user: String
    public var password: String

    /// nil when the header is missing, not Basic, not base64 or has no `:`.
    public init?(authorization header: String?) {
        guard let header, header.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return nil }
        user = String(text[..<colon])
        password = String(text[text.index(after: colon)...])
    }
}
