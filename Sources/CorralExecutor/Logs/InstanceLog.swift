import CorralCore
import CorralEngines
import CorralHost
import Foundation

/// One instance's output file: `<dir>/output.log`, written straight from the
/// engine's stream (never through a logger), rotated when it reaches
/// `maxFileSize` into `output.log.<suffix>` (`%d` the date in the appender's
/// time zone, `%i` an index), archives gzipped, the oldest removed beyond
/// `archivedFileCount` (0: no limit by count, as Logback reads it) or
/// `totalSizeCap`. With `immediateFlush` every chunk is written at once;
/// otherwise up to `bufferSize` bytes are held. A write that fails (full disk,
/// unwritable directory) is counted and reported, never fatal to the instance.
public final class InstanceLog: LogSink, @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `lock`.
    public let directory: String
    public let path: String
    let rotation: RotationOptions
    let suffix: String
    let timeZone: TimeZone
    let metrics: Metrics?
    private let lock = NSLock()
    private var fd: Int32 = -1
    private var size: UInt64 = 0
    private var buffer: [UInt8] = []
    public private(set) var failures = 0
    public private(set) var lastError: String?

    public init(directory: String, rotation: RotationOptions, suffix: String = "%d", timeZone: TimeZone = .gmt,
                metrics: Metrics? = nil) {
        self.directory = directory
        self.path = "\(directory)/output.log"
        self.rotation = rotation
        self.suffix = suffix
        self.timeZone = timeZone
        self.metrics = metrics
        lock.lock()
        openFile()
        lock.unlock()
    }

    private func openFile() {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 {
            failures += 1
            lastError = "cannot open \(path): \(String(cString: strerror(errno)))"
            return
        }
        var st = stat()
        size = fstat(fd, &st) == 0 ? UInt64(st.st_size) : 0
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write(borrowing: $0) }
    }

    public func write(borrowing bytes: UnsafeRawBufferPointer) {
        lock.lock()
        if buffer.isEmpty && (rotation.immediateFlush || UInt64(bytes.count) >= rotation.bufferSize.bytes) {
            // Nothing held back: write the chunk as it came, without a copy.
            writeLocked(bytes)
        } else {
            buffer.append(contentsOf: bytes)
            if rotation.immediateFlush || UInt64(buffer.count) >= rotation.bufferSize.bytes { flushLocked() }
        }
        lock.unlock()
        metrics?.logBytes.increment(by: Int64(bytes.count))
    }

    private let finished = Latch()

    public func finish() {
        lock.lock()
        flushLocked()
        if fd >= 0 { close(fd) }
        fd = -1
        lock.unlock()
        finished.open()
    }

    public func waitUntilFinished(timeout: Duration) async {
        _ = await finished.wait(timeout: timeout)
    }

    public func flush() {
        lock.lock()
        flushLocked()
        lock.unlock()
    }

    private func flushLocked() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { writeLocked($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeLocked(_ bytes: UnsafeRawBufferPointer) {
        if fd < 0 { openFile() }
        guard fd >= 0, let base = bytes.baseAddress else { return }
        var offset = 0
        // Split at the size limit so that a rotated file never grows far past it.
        while offset < bytes.count {
            var chunk = bytes.count - offset
            if rotation.archive, let max = rotation.maxFileSize?.bytes, max > size {
                chunk = min(chunk, Int(max - size))
            }
            let n = Foundation.write(fd, base + offset, chunk)
            if n <= 0 {
                failures += 1
                lastError = "cannot write \(path): \(String(cString: strerror(errno)))"
                metrics?.increment(.logWriteFailures)
                return
            }
            offset += n
            size += UInt64(n)
            if rotation.archive, let max = rotation.maxFileSize?.bytes, size >= max { rotateLocked() }
        }
    }

    /// The archive name for now: the suffix with `%d` (the date) and `%i` (one
    /// more than the highest index already used for that date, so names never
    /// go back to a pruned one) filled in.
    func archiveName() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = timeZone
        let pattern = suffix.contains("%i") ? suffix : suffix + ".%i"
        let dated = "output.log." + pattern.replacingOccurrences(of: "%d", with: f.string(from: Date()))
        return dated.replacingOccurrences(of: "%i", with: String(LogArchiver.nextIndex(in: directory, dated: dated)))
    }

    private func rotateLocked() {
        if fd >= 0 { close(fd) }
        fd = -1
        let archived = "\(directory)/\(archiveName())"
        if rename(path, archived) == 0 {
            // Compression runs off the writer's path, so the stream is never held
            // up by it; pruning follows once the archive has its final size.
            LogArchiver.shared.compress(archived) { [self] in prune() }
        }
        openFile()
    }

    /// Returns once every archive rotated so far is compressed and pruned.
    public func waitForArchives() { LogArchiver.shared.drain() }

    /// Archived files, oldest first.
    public func archives() -> [(name: String, size: UInt64, modified: Date)] {
        LogArchiver.archives(in: directory, prefix: "output.log.")
    }

    private func prune() {
        LogArchiver.shared.prune(in: directory, prefix: "output.log.", keep: rotation.archivedFileCount,
                                 totalSizeCap: rotation.totalSizeCap?.bytes)
    }
}
