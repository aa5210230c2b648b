import Foundation

/// Limits of this host that decide what a workload can be given.
public enum HostLimits {
    /// The hard RLIMIT_NOFILE of this process: what children can get without CAP_SYS_RESOURCE.
    public static func openFilesHardLimit() -> UInt64 {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0 else { return 1024 }
        return UInt64(r.rlim_max)
    }

    /// Whether this process holds CAP_SYS_RESOURCE (may raise hard limits).
    public static func canRaiseResourceLimits() -> Bool {
        guard let hex = ProcReader.statusField(pid: getpid(), "CapEff"), let caps = UInt64(hex, radix: 16) else {
            return false
        }
        return caps & (1 << 24) != 0
    }
}
