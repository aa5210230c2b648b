/// ZooKeeper's rules for node paths (as `PathUtils.validatePath` checks them),
/// and the mapping between a client's paths and the server's under a chroot.
public enum ZooKeeperPath {
    /// Refuses what the server would refuse, naming the path: not absolute, an
    /// empty component, `.` or `..`, a trailing slash (allowed only before a
    /// sequential suffix), a NUL or a control character.
    public static func validate(_ path: String, sequential: Bool = false) throws(ZooKeeperError) {
        func bad(_ why: String) -> ZooKeeperError { ZooKeeperError(.badArguments, path: path, why) }
        guard path.hasPrefix("/") else { throw bad("a path must start with /") }
        if path == "/" { return }
        let components = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        for (i, c) in components.enumerated() {
            let last = i == components.count - 1
            if c.isEmpty {
                if last && sequential { continue }
                throw bad(last ? "a path must not end with /" : "a path must not contain an empty component (//)")
            }
            if c == "." || c == ".." { throw bad("relative components (. and ..) are not allowed") }
        }
        for s in path.unicodeScalars {
            if s.value == 0 { throw bad("the NUL character is not allowed") }
            if (0x01...0x1F).contains(s.value) || (0x7F...0x9F).contains(s.value) {
                throw bad("control character U+\(String(s.value, radix: 16, uppercase: true)) is not allowed")
            }
            if (0xD800...0xF8FF).contains(s.value) || (0xFFF0...0xFFFF).contains(s.value) {
                throw bad("character U+\(String(s.value, radix: 16, uppercase: true)) is not allowed")
            }
        }
    }

    /// The parent of a path (`/` for a top-level node), nil for the root.
    public static func parent(of path: String) -> String? {
        guard path != "/", let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `parent` joined with `child`.
    public static func join(_ parent: String, _ child: String) -> String {
        parent == "/" ? "/" + child : parent + "/" + child
    }
}

/// A chroot: client paths are relative to it on the server.
struct Chroot: Sendable, Hashable {
    let root: String?

    /// The server's path for a client path.
    func server(_ path: String) -> String {
        guard let root else { return path }
        return path == "/" ? root : root + path
    }

    /// The client's path for a server path (unchanged when outside the chroot).
    func client(_ path: String) -> String {
        guard let root else { return path }
        if path == root { return "/" }
        if path.hasPrefix(root + "/") { return String(path.dropFirst(root.count)) }
        return path
    }
}
