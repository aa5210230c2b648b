import Foundation

/// Keeps files that hold state or secrets private to Corral.
public enum FileModes {
    /// Takes away every permission beyond `mode` from `path` (when it exists):
    /// a note for the log when it changed something, none otherwise.
    public static func tighten(_ path: String, to mode: mode_t) -> [String] {
        var st = stat()
        guard stat(path, &st) == 0 else { return [] }
        let current = st.st_mode & 0o777
        guard current & ~mode != 0 else { return [] }
        let target = current & mode
        guard chmod(path, target) == 0 else {
            return ["cannot tighten \(path) from \(String(current, radix: 8)) to \(String(target, radix: 8)): \(String(cString: strerror(errno)))"]
        }
        return ["tightened \(path) from \(String(current, radix: 8)) to \(String(target, radix: 8))"]
    }
}
