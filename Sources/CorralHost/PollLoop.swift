import Foundation

/// One thread that waits on many descriptors with poll(2) and calls each
/// one's handler when it is readable (or hung up). Shared by the exit watcher
/// (pidfds) and the output reader (workload pipes): no thread per workload,
/// no dispatch sources.
///
/// Invariant: only the loop's own thread closes a registered descriptor, and
/// only between two polls, so a descriptor number can never be reused while
/// a poll still watches it. ``remove(_:)`` therefore hands the descriptor to
/// the loop instead of closing it; ``closeOnLoop(_:)`` checks it runs there.
public final class PollLoop: @unchecked Sendable {
    // @unchecked: `handlers`, `retired` and `thread` are guarded by `lock`;
    // `loopThread` is written once per thread start under `lock`.
    public enum Disposition: Sendable {
        /// Keep watching the descriptor.
        case keep
        /// Keep watching it; a stream is flowing fast and more will come at
        /// once: the loop waits a moment before its next poll, so the next
        /// read finds more than one small write (fewer wake-ups per byte).
        case keepFlowing
        /// Stop watching it; the loop closes it.
        case close
    }
    /// Runs on the loop thread when `fd` is ready.
    public typealias Handler = (_ fd: Int32) -> Disposition

    private let name: String
    private let endsWhenIdle: Bool
    private let lock = NSLock()
    private var handlers: [Int32: Handler] = [:]
    private var retired: [Int32] = []
    private var thread: Thread?
    private var loopThread: Thread?
    private let wakeRead: Int32
    private let wakeWrite: Int32

    /// `endsWhenIdle`: the thread ends when nothing is registered (the next
    /// registration starts another) instead of waiting for good.
    /// How long the loop waits after a round in which a stream was flowing.
    private let coalesce: Duration

    public init(name: String, endsWhenIdle: Bool, coalesce: Duration = .zero) {
        self.name = name
        self.endsWhenIdle = endsWhenIdle
        self.coalesce = coalesce
        let p = (try? NativeSpawn.pipe(flags: O_NONBLOCK)) ?? (read: -1, write: -1)
        (wakeRead, wakeWrite) = (p.read, p.write)
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Watches `fd` (the loop owns it from now on and closes it when done).
    public func add(_ fd: Int32, _ handler: @escaping Handler) {
        lock.withLock {
            handlers[fd] = handler
            generation += 1
            if thread == nil {
                let t = Thread { [self] in run() }
                t.name = name
                thread = t
                loopThread = t
                t.start()
            }
        }
        wake()
    }

    /// Stops watching `fd`; the loop closes it before its next poll. False if
    /// it was not registered (already done or removed).
    @discardableResult
    public func remove(_ fd: Int32) -> Bool {
        let removed = lock.withLock { () -> Bool in
            guard handlers.removeValue(forKey: fd) != nil else { return false }
            retired.append(fd)
            generation += 1
            return true
        }
        if removed { wake() }
        return removed
    }

    public var isLoopThread: Bool { lock.withLock { loopThread } === Thread.current }

    private func nanosleep(_ d: Duration) {
        var ts = timespec(tv_sec: Int(d.components.seconds), tv_nsec: Int(d.components.attoseconds / 1_000_000_000))
        _ = Glibc.nanosleep(&ts, nil)
    }

    private func wake() {
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)
    }

    /// Closes a descriptor the loop owned: only ever here, on the loop thread.
    private func closeOnLoop(_ fd: Int32) {
        assert(isLoopThread, "\(name): a registered descriptor closed off the loop thread")
        close(fd)
    }

    /// Bumped on every registration change; the loop rebuilds its poll set
    /// only then (not once per wake-up: a chatty pipe wakes it per write).
    private var generation = 0

    private func run() {
        var fds: [pollfd] = []
        var watched: [Handler?] = []
        var seen = -1
        while true {
            lock.lock()
            let closing = retired
            retired = []
            if endsWhenIdle && handlers.isEmpty {
                thread = nil
                lock.unlock()
                for fd in closing { closeOnLoop(fd) }
                return
            }
            if generation != seen {
                seen = generation
                fds.removeAll(keepingCapacity: true)
                watched.removeAll(keepingCapacity: true)
                fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
                watched.append(nil)
                for (fd, h) in handlers {
                    fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                    watched.append(h)
                }
            }
            lock.unlock()
            for fd in closing { closeOnLoop(fd) }
            let n = poll(&fds, nfds_t(fds.count), -1)
            if n < 0 { continue }
            if fds[0].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 256)
                while read(wakeRead, &drain, drain.count) > 0 {}
            }
            var flowing = false
            for i in 1..<fds.count where fds[i].revents != 0 {
                let fd = fds[i].fd
                fds[i].revents = 0
                guard let handler = watched[i], lock.withLock({ handlers[fd] != nil }) else { continue }  // removed meanwhile
                switch handler(fd) {
                case .keep: break
                case .keepFlowing: flowing = true
                case .close:
                    let mine = lock.withLock { () -> Bool in
                        guard handlers.removeValue(forKey: fd) != nil else { return false }
                        generation += 1
                        return true
                    }
                    if mine { closeOnLoop(fd) }
                }
            }
            if flowing, coalesce > .zero { nanosleep(coalesce) }
        }
    }
}
