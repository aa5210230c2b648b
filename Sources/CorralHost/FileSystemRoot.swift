import Foundation

/// A directory that stands for `/`: the real machine, or a fixture dump of
/// sysfs and procfs. Every host read goes through it, so tests run the same
/// code on recorded machines.
public struct FileSystemRoot: Sendable {
    public let path: String

    public init(_ path: String = "/") {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// The real location of an absolute path under this root.
    public func resolve(_ absolute: String) -> String {
        path == "/" ? absolute : path + absolute
    }

    /// The file's text, or nil when it is missing or unreadable.
    public func read(_ absolute: String) -> String? {
        guard let data = FileManager.default.contents(atPath: resolve(absolute)) else { return nil }
        // Some recorded sysfs files end with a NUL after the newline: drop it.
        var end = data.endIndex
        while end > data.startIndex, data[end - 1] == 0 { end -= 1 }
        return String(decoding: data[data.startIndex..<end], as: UTF8.self)
    }

    /// The file's text without surrounding whitespace.
    public func readTrimmed(_ absolute: String) -> String? {
        read(absolute)?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func readInt(_ absolute: String) -> Int? {
        readTrimmed(absolute).flatMap { Int($0) }
    }

    public func exists(_ absolute: String) -> Bool {
        FileManager.default.fileExists(atPath: resolve(absolute))
    }

    /// `path` itself if it exists, else its nearest existing parent (`/`,
    /// or `.` for a relative path, at the latest): where a directory that is
    /// yet to be made would live, to measure its filesystem.
    public func nearestExisting(_ path: String) -> String {
        var p = path
        while !exists(p) {
            let up = (p as NSString).deletingLastPathComponent
            if up == p || up.isEmpty { return path.hasPrefix("/") ? "/" : "." }
            p = up
        }
        return p
    }

    /// Names in a directory, or [] when it is missing.
    public func list(_ absolute: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: resolve(absolute))) ?? []
    }

    /// Entries named `prefix<N>` (cpu0, node3, index2), as numbers, ascending.
    public func numberedEntries(_ absolute: String, prefix: String) -> [Int] {
        list(absolute).compactMap { name -> Int? in
            guard name.hasPrefix(prefix) else { return nil }
            let rest = name.dropFirst(prefix.count)
            guard !rest.isEmpty, rest.allSatisfy(\.isNumber) else { return nil }
            return Int(rest)
        }.sorted()
    }
}
