/// Which of the caller's environment variables go into a `corral run`
/// container: all but those `env_var_filter` names (exactly, or by a glob
/// with `*` and `?`), and but those that would break the container or its
/// isolation (``never``). The image's PATH is kept unless the site filters
/// nothing of it and the caller's is wanted (``keepsCallerPath``).
public struct EnvFilter: Sendable {
    public let patterns: [String]

    public init(_ patterns: [String]) { self.patterns = patterns }

    /// Never passed, whatever the config: variables that load code into every
    /// process (LD_*: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, ...), point at the host's
    /// paths or sockets that mean nothing inside (the host's PATH, HOME,
    /// XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS, SSH_AUTH_SOCK, TMPDIR), or
    /// are the container's own (HOSTNAME). HOME and the working directory are
    /// set by Corral; PATH stays the image's.
    public static let never: [String] = ["LD_*", "PATH", "HOME", "HOSTNAME",
                                         "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK", "TMPDIR",
                                         "CORRAL_*", "PWD", "OLDPWD", "SHLVL", "_"]

    /// Names of letters, digits and `_`, with `*` and `?`.
    public static func isPattern(_ p: String) -> Bool {
        !p.isEmpty && p.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "*" || $0 == "?") }
    }

    /// Glob match, `*` any run (also empty), `?` one character.
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern), n = Array(name)
        var i = 0, j = 0, star = -1, mark = 0
        while j < n.count {
            if i < p.count && (p[i] == "?" || p[i] == n[j]) { i += 1; j += 1 }
            else if i < p.count && p[i] == "*" { star = i; mark = j; i += 1 }
            else if star >= 0 { i = star + 1; mark += 1; j = mark }
            else { return false }
        }
        while i < p.count && p[i] == "*" { i += 1 }
        return i == p.count
    }

    public func passes(_ name: String) -> Bool {
        !(patterns + Self.never).contains { Self.matches($0, name) }
    }

    /// The caller's variables that go in.
    public func apply(_ env: [String: String]) -> [String: String] {
        env.filter { passes($0.key) }
    }
}
