import CorralHost
import Foundation

/// Reads workload output pipes on one ``PollLoop`` thread (no thread per
/// workload) and hands each chunk to its sink straight from one shared read
/// buffer (no copy), 32 KiB per read.
///
/// Not dispatch read sources: on Linux, libdispatch's epoll bookkeeping can
/// use a freed note when read sources are torn down while others are set up
/// (swift-corelibs-libdispatch#949), which crashed the executor on its
/// manager thread when workloads stopped. The loop alone closes a
/// registered descriptor, so a number cannot be reused under its feet.
final class OutputReader: @unchecked Sendable {
    // @unchecked: `pipes` is guarded by `lock`; `buffer` is only used on the loop thread.
    private let loop = PollLoop(name: "corral-output", endsWhenIdle: true)
    private let lock = NSLock()
    /// instance id -> its registered pipe.
    private var pipes: [String: Int32] = [:]
    /// Read in pieces of this size: a read holds the pipe's lock while it
    /// copies, and the workload's writes wait for it meanwhile. Measured into
    /// files (BENCHMARKS.md): 32 KiB pieces kept up with `cat > file`, 1 MiB
    /// pieces (the whole pipe) reached 0.85 of it.
    static let readSize = 32 << 10
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: OutputReader.readSize, alignment: 16)

    deinit { buffer.deallocate() }

    /// Reads `fd` (made non-blocking) into `sink` until its writers are gone;
    /// then closes it and finishes the sink. A previous pipe of the same
    /// instance is retired (closed, its sink not finished).
    func start(instanceID: String, fd: Int32, sink: any LogSink) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let previous = lock.withLock { () -> Int32? in
            defer { pipes[instanceID] = fd }
            return pipes[instanceID]
        }
        if let previous { loop.remove(previous) }
        loop.add(fd) { [self] fd in
            switch drain(fd, into: sink) {
            case .quiet: return .keep
            case .flowing: return .keepFlowing
            case .ended: break
            }
            // Every writer closed: the workload and its runner are gone.
            let mine = lock.withLock { () -> Bool in
                guard pipes[instanceID] == fd else { return false }
                pipes[instanceID] = nil
                return true
            }
            if mine { sink.finish() }
            return .close
        }
    }

    /// Stops reading the instance's pipe (its sink is not finished).
    func stop(instanceID: String) {
        if let fd = lock.withLock({ pipes.removeValue(forKey: instanceID) }) { loop.remove(fd) }
    }

    enum Drained { case quiet, flowing, ended }

    /// Reads what is there (at most 8 MiB, so that one chatty workload cannot
    /// starve the others). `flowing` when a read brought a good deal but not a
    /// nearly full pipe: the writer streams, and waiting a moment before the
    /// next poll makes the next read bigger (with a nearly full pipe the writer
    /// may be blocked, so no wait then).
    private func drain(_ fd: Int32, into sink: any LogSink) -> Drained {
        for _ in 0..<((8 << 20) / buffer.count) {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n > 0 {
                sink.write(borrowing: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                // Less than a whole buffer: the pipe is empty now (a second read
                // would only say EAGAIN); the next poll says when more comes.
                if n < buffer.count { return n >= 16 << 10 && n < buffer.count / 2 ? .flowing : .quiet }
                continue
            }
            if n == 0 { return .ended }
            if errno == EINTR { continue }
            // EAGAIN: all read for now. Anything else: the pipe is unusable, as good as closed.
            return errno != EAGAIN && errno != EWOULDBLOCK ? .ended : .quiet
        }
        return .quiet
    }
}
