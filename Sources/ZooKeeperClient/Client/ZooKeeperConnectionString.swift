/// A connection string as ZooKeeper writes it: `host:port,host:port/chroot`.
/// A missing port is 2181; IPv6 addresses go in brackets (`[::1]:2181`); the
/// optional chroot is a path every call is relative to.
public struct ZooKeeperConnectionString: Sendable, Hashable, CustomStringConvertible {
    public struct Host: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// Why a connection string was refused, with the part that is wrong.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var input: String
        public var reason: String
        public var description: String { "invalid ZooKeeper connection string \"\(input)\": \(reason)" }
    }

    public static let defaultPort = 2181

    public var hosts: [Host]
    /// The chroot, nil for none (a bare `/` is none).
    public var chroot: String?

    public init(hosts: [Host], chroot: String? = nil) {
        self.hosts = hosts
        self.chroot = chroot
    }

    public init(_ text: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { ParseError(input: text, reason: reason) }
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw fail("it is empty; expected host:port[,host:port...][/chroot]") }
        var hostPart = Substring(trimmed)
        chroot = nil
        if let slash = trimmed.firstIndex(of: "/") {
            hostPart = trimmed[..<slash]
            let root = String(trimmed[slash...])
            if root != "/" {
                do throws(ZooKeeperError) { try ZooKeeperPath.validate(root) } catch {
                    throw fail("chroot \"\(root)\": \(error.detail ?? "invalid path")")
                }
                chroot = root
            }
        }
        var out: [Host] = []
        for item in hostPart.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = item.trimmingWhitespace()
            guard !entry.isEmpty else { throw fail("an empty host between commas") }
            var host = Substring(entry)
            var portText: Substring?
            if entry.hasPrefix("[") {
                guard let close = entry.firstIndex(of: "]") else { throw fail("\"\(entry)\" opens [ without closing it") }
                host = entry[entry.index(after: entry.startIndex)..<close]
                let rest = entry[entry.index(after: close)...]
                if !rest.isEmpty {
                    guard rest.hasPrefix(":") else { throw fail("\"\(entry)\": expected :port after ]") }
                    portText = rest.dropFirst()
                }
            } else if let colon = entry.lastIndex(of: ":") {
                host = entry[..<colon]
                portText = entry[entry.index(after: colon)...]
                if host.contains(":") { throw fail("\"\(entry)\": write IPv6 addresses in brackets, e.g. [::1]:2181") }
            }
            guard !host.isEmpty else { throw fail("\"\(entry)\" has no host") }
            var port = Self.defaultPort
            if let portText {
                guard let p = Int(portText), (1...65535).contains(p) else {
                    throw fail("port \"\(portText)\" of \"\(entry)\" is not a number from 1 to 65535")
                }
                port = p
            }
            out.append(Host(host: String(host), port: port))
        }
        hosts = out
    }

    public var description: String {
        hosts.map(\.description).joined(separator: ",") + (chroot ?? "")
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
