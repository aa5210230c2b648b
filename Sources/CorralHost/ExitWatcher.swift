import CCorralShim
import Foundation

/// Tells when processes end, for children and for processes adopted after a
/// restart alike: a pidfd per waiting call, watched by one ``PollLoop``
/// thread (no thread per workload), resumes the waiting task when its
/// process is gone. Zombie children are reaped.
public final class ExitWatcher: @unchecked Sendable {
    // @unchecked: `waiting` is guarded by `lock`.
    public static let shared = ExitWatcher()

    private let loop = PollLoop(name: "corral-exit-watcher", endsWhenIdle: false)
    private let lock = NSLock()
    /// pidfd -> the call waiting on it.
    private var waiting: [Int32: CheckedContinuation<Int32?, Never>] = [:]

    public init() {}

    /// Returns when the process `pid` is gone (at once if it already is), with
    /// its raw wait status when it was this process's child and was reaped here.
    /// A cancelled call returns at once with nil, whatever the process does.
    @discardableResult
    public func waitForExit(pid: pid_t) async -> Int32? {
        let fd = corral_pidfd_open(pid)
        guard fd >= 0 else {
            // ESRCH: already gone. Reap it if it is our zombie.
            return Self.reap(pid)
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Int32?, Never>) in
                lock.withLock { waiting[fd] = c }
                if Task.isCancelled {
                    // Cancelled before the loop ever saw it: closed here, it was never registered.
                    if let c = take(fd) {
                        close(fd)
                        c.resume(returning: nil)
                    }
                    return
                }
                loop.add(fd) { [self] fd in
                    let status = Self.reap(pid)
                    take(fd)?.resume(returning: status)
                    return .close
                }
            }
        } onCancel: {
            if let c = take(fd) {
                loop.remove(fd)
                c.resume(returning: nil)
            }
        }
    }

    /// The waiter of `fd`, taken (so it is resumed exactly once).
    private func take(_ fd: Int32) -> CheckedContinuation<Int32?, Never>? {
        lock.withLock { waiting.removeValue(forKey: fd) }
    }

    /// Reaps `pid` if it is an exited child of this process; its wait status, or nil.
    static func reap(_ pid: pid_t) -> Int32? {
        var st: Int32 = 0
        for _ in 0..<100 {
            let r = waitpid(pid, &st, WNOHANG)
            if r == pid { return st }
            if r < 0 { return nil }  // not our child (ECHILD)
            // The pidfd can signal a moment before the zombie is reapable.
            usleep(1000)
        }
        return nil
    }

    /// The exit code of a raw wait status: the code, or 128 + signal.
    public static func exitCode(_ status: Int32) -> Int32 {
        let sig = status & 0x7f
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig
    }
}
