import CorralHost
import Foundation

/// Reads workload output pipes on one ``PollLoop`` thread (no thread per
/// workload) and hands each chunk to its sink; every pipe shares one read
/// buffer, a whole pipe's worth (1 MiB) per read.
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
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

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
            guard drain(fd, into: sink) else { return .keep }
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

    /// Reads what is there (at most 8 MiB, so that one chatty workload cannot
    /// starve the others); true at end of file.
    private func drain(_ fd: Int32, into sink: any LogSink) -> Bool {
        for _ in 0..<8 {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n > 0 {
                sink.write(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
                continue
            }
            if n == 0 { return true }
            if errno == EINTR { continue }
            // EAGAIN: all read for now. Anything else: the pipe is unusable, as good as closed.
            return errno != EAGAIN && errno != EWOULDBLOCK
        }
        return false
    }
}
