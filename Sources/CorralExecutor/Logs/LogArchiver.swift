import CompressNIO
import Foundation
import NIOCore

/// Compresses rotated log files on one background thread, in rotation order,
/// so that writers (instance output, the executor's own log) only ever pay
/// for a rename. The thread runs at nice 19: compressing old logs must not
/// take CPU from workloads or from the streams being written. A file that
/// cannot be compressed stays as it was.
public final class LogArchiver: @unchecked Sendable {
    // @unchecked: `queue`, `current` and `thread` are guarded by `condition`.
    public static let shared = LogArchiver()
    private let condition = NSCondition()
    private var queue: [(file: String, destination: String, then: (@Sendable () -> Void)?)] = []
    /// The file being compressed now.
    private var current: String?
    private var thread: Thread?

    /// Replaces `file` with `destination` (default `file.gz`), then runs `then`.
    public func compress(_ file: String, to destination: String? = nil, then: (@Sendable () -> Void)? = nil) {
        condition.lock()
        queue.append((file, destination ?? file + ".gz", then))
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
        return current == file || queue.contains { $0.file == file }
    }

    /// Waits for the work queued so far.
    public func drain() {
        condition.lock()
        while !queue.isEmpty || current != nil { condition.wait() }
        condition.unlock()
    }

    /// Archived files of `directory` whose names start with `prefix`, oldest
    /// first (half-written `.partial` files left out).
    public static func archives(in directory: String, prefix: String) -> [(name: String, size: UInt64, modified: Date)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(prefix) && !$0.hasSuffix(".partial") }.compactMap { n in
            guard let a = try? FileManager.default.attributesOfItem(atPath: "\(directory)/\(n)") else { return nil }
            return (n, (a[.size] as? UInt64) ?? 0, (a[.modificationDate] as? Date) ?? .distantPast)
        }.sorted { $0.modified != $1.modified ? $0.modified < $1.modified : $0.name < $1.name }
    }

    /// Removes the oldest finished archives beyond `keep` files (0: no limit
    /// by count) or beyond `totalSizeCap` bytes. Archives still waiting for
    /// compression are neither counted nor removed.
    public func prune(in directory: String, prefix: String, keep: Int, totalSizeCap: UInt64? = nil) {
        var list = Self.archives(in: directory, prefix: prefix).filter { !isPending("\(directory)/\($0.name)") }
        if keep > 0 {
            while list.count > keep { unlink("\(directory)/\(list.removeFirst().name)") }
        }
        if let cap = totalSizeCap {
            var total = list.reduce(UInt64(0)) { $0 + $1.size }
            while total > cap, !list.isEmpty {
                let oldest = list.removeFirst()
                unlink("\(directory)/\(oldest.name)")
                total -= oldest.size
            }
        }
    }

    private func loop() {
        // Lowest priority for this thread only: on Linux the nice value is a
        // thread attribute, and `who` 0 names the calling thread.
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let job = queue.removeFirst()
            current = job.file
            condition.unlock()
            Self.gzip(job.file, to: job.destination)
            // `current` is cleared only after `then` (pruning), so `drain` covers it.
            job.then?()
            condition.lock()
            current = nil
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
