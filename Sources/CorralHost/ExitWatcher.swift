import CCorralShim
import Foundation

/// Tells when processes end, for children and for processes adopted after a
/// restart alike: one thread polls a pidfd per watched process (no thread per
/// workload) and resumes the waiting task when its process is gone. Zombie
/// children are reaped.
public final class ExitWatcher: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `lock`; the poll thread only
    // reads a snapshot taken under the lock.
    public static let shared = ExitWatcher()

    private let lock = NSLock()
    private var waiters: [Int32: (pid: pid_t, continuations: [CheckedContinuation<Int32?, Never>])] = [:]
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1
    private var thread: Thread?

    public init() {
        if let p = try? NativeSpawn.pipe(flags: O_NONBLOCK) {
            wakeRead = p.read
            wakeWrite = p.write
        }
    }

    /// Returns when the process `pid` is gone (at once if it already is), with
    /// its raw wait status when it was this process's child and was reaped here.
    @discardableResult
    public func waitForExit(pid: pid_t) async -> Int32? {
        let fd = corral_pidfd_open(pid)
        guard fd >= 0 else {
            // ESRCH: already gone. Reap it if it is our zombie.
            return Self.reap(pid)
        }
        return await withCheckedContinuation { (c: CheckedContinuation<Int32?, Never>) in
            lock.lock()
            if var w = waiters[fd] {
                w.continuations.append(c)
                waiters[fd] = w
            } else {
                waiters[fd] = (pid, [c])
            }
            startIfNeeded()
            lock.unlock()
            wake()
        }
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

    private func startIfNeeded() {
        guard thread == nil else { return }
        let t = Thread { [weak self] in self?.loop() }
        t.name = "corral-exit-watcher"
        thread = t
        t.start()
    }

    private func wake() {
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)
    }

    private func loop() {
        while true {
            lock.lock()
            let watched = Array(waiters.keys)
            lock.unlock()
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            fds += watched.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let n = poll(&fds, nfds_t(fds.count), -1)
            if n < 0 { continue }
            if fds[0].revents != 0 {
                var buf = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &buf, 64) > 0 {}
            }
            var done: [(pid_t, [CheckedContinuation<Int32?, Never>])] = []
            lock.lock()
            for p in fds.dropFirst() where p.revents != 0 {
                if let w = waiters.removeValue(forKey: p.fd) {
                    close(p.fd)
                    done.append((w.pid, w.continuations))
                }
            }
            lock.unlock()
            for (pid, cs) in done {
                let status = Self.reap(pid)
                for c in cs { c.resume(returning: status) }
            }
        }
    }
}
