/// Container image references as Docker reads them, normalised so that
/// `docker-base`, `library/docker-base` and `docker.io/library/docker-base:latest`
/// are one image: the registry (`docker.io` when the first part is not a
/// host: no `.` or `:` and not `localhost`), `library/` for Docker Hub's
/// one-part names, and the `latest` tag when neither tag nor digest is given.
public enum ImageReference {
    public static func normalized(_ reference: String) -> String {
        var rest = reference.lowercased()
        var digest = ""
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[at...])
            rest = String(rest[..<at])
        }
        var parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let first = parts.first ?? ""
        let hasHost = parts.count > 1 && (first.contains(".") || first.contains(":") || first == "localhost")
        var host = "docker.io"
        if hasHost { host = parts.removeFirst() }
        if host == "index.docker.io" { host = "docker.io" }
        if host == "docker.io" && parts.count == 1 { parts.insert("library", at: 0) }
        var path = parts.joined(separator: "/")
        // A tag is after the last ':' of the last path part.
        let last = parts.last ?? ""
        if !last.contains(":") && digest.isEmpty { path += ":latest" }
        return "\(host)/\(path)\(digest)"
    }

    /// The registry an image is pulled from: its first part when that is a
    /// host, else Docker Hub (`docker.io`).
    public static func registry(_ reference: String) -> String {
        let n = normalized(reference)
        return String(n[..<(n.firstIndex(of: "/") ?? n.endIndex)])
    }

    /// Why `reference` is not an image reference, or nil.
    public static func problem(_ reference: String) -> String? {
        if reference.isEmpty { return "an empty image reference" }
        if reference.contains(where: { $0.isWhitespace }) { return "\"\(reference)\" has white space" }
        if reference.hasPrefix("-") { return "\"\(reference)\" starts with '-'" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")
        if let bad = reference.first(where: { !allowed.contains($0) }) { return "\"\(reference)\" has the character '\(bad)'" }
        if reference.split(separator: "/", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            return "\"\(reference)\" has an empty path part"
        }
        return nil
    }
}
