import CompressNIO
import Foundation
import NIOCore

/// Compresses rotated log files on one background thread, in rotation order,
/// so that writers (instance output, the executor's own log) only ever pay
/// for a rename. The thread runs as SCHED_IDLE (only on otherwise idle CPU
/// time): compressing old logs must not take CPU from workloads or from the
/// streams being written. A file that cannot be compressed stays as it was.
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
        }.sorted { a, b in
            if a.modified != b.modified { return a.modified < b.modified }
            // Same time (coarse clocks): the rotation index orders them, as a number.
            let (ia, ib) = (index(of: a.name, prefix: prefix), index(of: b.name, prefix: prefix))
            if let ia, let ib, ia != ib { return ia < ib }
            return a.name < b.name
        }
    }

    /// One past the highest `%i` among the archives of `directory` that the
    /// file name pattern `dated` names (its date filled in, `%i` left), plain,
    /// compressed or being compressed; 0 when there are none. So names never
    /// go back to an index pruning freed, and the newest archive always has
    /// the highest one (as Logback numbers them). Instance logs and the
    /// executor's own appenders both name their archives with it.
    public static func nextIndex(in directory: String, dated: String) -> Int {
        func bare(_ s: Substring) -> Substring {
            var s = s
            if s.hasSuffix(".partial") { s = s.dropLast(".partial".count) }
            if s.hasSuffix(".gz") { s = s.dropLast(".gz".count) }
            return s
        }
        let parts = dated.components(separatedBy: "%i")
        let before = parts[0]
        let after = bare(Substring(parts.dropFirst().joined(separator: "%i")))
        var highest = -1
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let plain = bare(Substring(name))
            guard plain.hasPrefix(before), plain.hasSuffix(after), plain.count > before.count + after.count else { continue }
            if let i = Int(plain.dropFirst(before.count).dropLast(after.count)) { highest = max(highest, i) }
        }
        return highest + 1
    }

    /// The rotation index of an archive's name: the digits right after `prefix`.
    static func index(of name: String, prefix: String) -> Int? {
        guard name.hasPrefix(prefix) else { return nil }
        let digits = name.utf8.dropFirst(prefix.utf8.count).prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !digits.isEmpty, digits.count < 18 else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
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
        // Runs only when a CPU has nothing else to do: SCHED_IDLE (5 on Linux;
        // Glibc's header hides the name) for this thread alone (pid 0 names the
        // calling thread). nice 19 was not enough: on a busy node the writer
        // lost a third of its rate to compression. Falls back to nice 19.
        var param = sched_param(sched_priority: 0)
        if sched_setscheduler(0, 5, &param) != 0 {
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        }
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
    /// Compresses `file` into `destination` (a gzip stream), 1 MiB at a time:
    /// memory stays bounded whatever the file's size (reading a 100 MiB log
    /// whole cost two 100 MiB buffers and their page faults, which slowed the
    /// writer). Written aside and renamed, so a reader never sees half an
    /// archive; the original is removed only then.
    static func gzip(_ file: String, to destination: String) {
        let input = open(file, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return }
        defer { close(input) }
        let partial = destination + ".partial"
        let output = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { return }
        var ok = false
        defer {
            close(output)
            if ok, rename(partial, destination) == 0 { unlink(file) } else { unlink(partial) }
        }
        let compressor = CompressionAlgorithm.gzip().compressor
        guard (try? compressor.startStream()) != nil else { return }
        defer { try? compressor.finishStream() }
        let chunk = 1 << 20
        var inBuffer = ByteBuffer()
        inBuffer.reserveCapacity(chunk)
        var outBuffer = ByteBuffer()
        while true {
            inBuffer.clear()
            let n = inBuffer.writeWithUnsafeMutableBytes(minimumWritableBytes: chunk) { raw in
                max(0, read(input, raw.baseAddress, min(raw.count, chunk)))
            }
            let last = n == 0
            // A sync flush per chunk keeps the output bound exact (zlib's bound
            // holds for one flushed block); it costs a few bytes per MiB.
            repeat {
                outBuffer.clear()
                outBuffer.reserveCapacity(compressor.maxSize(from: inBuffer) + 64)
                do {
                    try inBuffer.compressStream(to: &outBuffer, with: compressor, flush: last ? .finish : .sync)
                } catch {
                    return
                }
                guard writeAll(output, outBuffer) else { return }
            } while inBuffer.readableBytes > 0
            if last { break }
        }
        ok = true
    }

    private static func writeAll(_ fd: Int32, _ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; return false }
                done += n
            }
            return true
        }
    }
}
