import CompressNIO
import Foundation
import NIOCore

/// Compresses rotated log files on one background thread, in rotation order,
/// so that writers (instance output, the executor's own log) only ever pay
/// for a rename. The thread runs at nice 19: compressing old logs must not
/// take CPU from workloads or from the streams being written. A file that
/// cannot be compressed stays as it was.
public final class LogArchiver: @unchecked Sendable {
    // @unchecked: `queue`, `pending`, `busy` and `thread` are guarded by `condition`.
    public static let shared = LogArchiver()
    private let condition = NSCondition()
    private var queue: [(file: String, destination: String, then: (@Sendable () -> Void)?)] = []
    private var pending: Set<String> = []
    private var busy = false
    private var thread: Thread?

    /// Replaces `file` with `destination` (default `file.gz`), then runs `then`.
    public func compress(_ file: String, to destination: String? = nil, then: (@Sendable () -> Void)? = nil) {
        condition.lock()
        queue.append((file, destination ?? file + ".gz", then))
        pending.insert(file)
        if thread == nil {
            let t = Thread { [unowned self] in self.loop() }
            t.name = "corral-log-archiver"
            thread = t
            t.start()
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Whether `file` waits for compression (pruning leaves such files alone:
    /// they are the newest archives, whatever their modification time says).
    public func isPending(_ file: String) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return pending.contains(file)
    }

    /// Waits for the work queued so far.
    public func drain() {
        condition.lock()
        while !queue.isEmpty || busy { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        // Lowest priority for this thread only: on Linux the nice value is a
        // thread attribute, and `who` 0 names the calling thread.
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let job = queue.removeFirst()
            busy = true
            condition.unlock()
            Self.gzip(job.file, to: job.destination)
            condition.lock()
            pending.remove(job.file)
            condition.unlock()
            job.then?()
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }

    static func gzip(_ file: String, to destination: String) {
        guard let data = FileManager.default.contents(atPath: file) else { return }
        var input = ByteBuffer(bytes: data)
        guard let compressed = try? input.compress(with: .gzip()) else { return }
        let partial = destination + ".partial"
        // Written aside and renamed, so a reader never sees half an archive.
        guard FileManager.default.createFile(atPath: partial, contents: Data(buffer: compressed)) else { return }
        if rename(partial, destination) == 0 { unlink(file) } else { unlink(partial) }
    }
}
