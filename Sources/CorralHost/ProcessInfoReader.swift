import Foundation

/// Facts about a running process from /proc.
public enum ProcReader {
    /// The process's start time in clock ticks since boot (field 22 of
    /// /proc/PID/stat). With the pid it names one process for good: a reused
    /// pid has a different start time.
    public static func startTime(pid: Int32, root: FileSystemRoot = FileSystemRoot()) -> UInt64? {
        guard let stat = root.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": state is field 3, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// Whether a process with this pid and start time is alive (zombies count as gone).
    public static func isAlive(pid: Int32, startTime: UInt64) -> Bool {
        guard let stat = FileSystemRoot().read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return false }
        return UInt64(fields[19]) == startTime
    }

    /// Processes whose process group is `pgid` (from /proc/*/stat).
    public static func processGroupMembers(_ pgid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var out: [Int32] = []
        for e in entries {
            guard let pid = Int32(e), let stat = FileSystemRoot().read("/proc/\(e)/stat"),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After "(comm)": state, ppid, pgrp.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, Int32(fields[2]) == pgid { out.append(pid) }
        }
        return out
    }

    /// Direct children of `pid`.
    public static func children(of pid: Int32) -> [Int32] {
        let text = FileSystemRoot().read("/proc/\(pid)/task/\(pid)/children") ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }
    }

    /// A `Key:\tvalue` line of /proc/PID/status.
    public static func statusField(pid: Int32, _ key: String) -> String? {
        statusField(process: String(pid), key)
    }

    /// A `Key:\tvalue` line of /proc/`process`/status (`process`: a pid or
    /// `self`), read through `root`.
    public static func statusField(process: String, _ key: String, root: FileSystemRoot = FileSystemRoot()) -> String? {
        guard let status = root.read("/proc/\(process)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
            return line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}
