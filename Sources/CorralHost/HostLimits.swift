import CCorralShim
import Foundation

/// Limits of this host that decide what a workload can be given.
public enum HostLimits {
    /// The hard RLIMIT_NOFILE of this process: what children can get without CAP_SYS_RESOURCE.
    public static func openFilesHardLimit() -> UInt64 {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0 else { return 1024 }
        return UInt64(r.rlim_max)
    }

    /// The hard RLIMIT_NPROC of this process.
    public static func processesHardLimit() -> UInt64 {
        var r = rlimit()
        guard getrlimit(6 /* RLIMIT_NPROC; Glibc hides the name from Swift */, &r) == 0 else { return 1024 }
        return UInt64(r.rlim_max)
    }

    /// Hard limits of the process serving a local unix socket (a container
    /// engine): what its runtime can give containers. nil when it cannot be read.
    public static func peerHardLimits(socketPath: String) -> (openFiles: UInt64, processes: UInt64)? {
        let pid = corral_unix_peer_pid(socketPath)
        guard pid > 0, let text = FileSystemRoot().read("/proc/\(pid)/limits") else { return nil }
        func hard(_ name: String) -> UInt64? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return nil }
            let fields = line.dropFirst(name.count).split(separator: " ")
            guard fields.count >= 2 else { return nil }
            return fields[1] == "unlimited" ? UInt64.max : UInt64(fields[1])
        }
        guard let files = hard("Max open files"), let procs = hard("Max processes") else { return nil }
        return (files, procs)
    }

    /// Whether this process holds CAP_SYS_RESOURCE (may raise hard limits).
    public static func canRaiseResourceLimits() -> Bool {
        guard let hex = ProcReader.statusField(pid: getpid(), "CapEff"), let caps = UInt64(hex, radix: 16) else {
            return false
        }
        return caps & (1 << 24) != 0
    }
}
