import CorralCore
import Foundation
import Hummingbird
import Logging

/// Where a configured appender writes.
final class AppenderOutput: @unchecked Sendable {
    // @unchecked: all state is guarded by `lock`.
    private let lock = NSLock()
    let threshold: Logger.Level?
    let pattern: LogPattern
    private let console: FileHandle?
    private let file: FileAppender?
    private var fd: Int32 = -1
    private var size: UInt64 = 0

    init(threshold: LogLevel, pattern: LogPattern, console: FileHandle?, file: FileAppender?) {
        self.threshold = ExecutorLogging.level(threshold)
        self.pattern = pattern
        self.console = console
        self.file = file
        if file != nil { reopen() }
    }

    private func reopen() {
        guard let file else { return }
        let path = file.currentLogFilename
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        var st = stat()
        size = fd >= 0 && fstat(fd, &st) == 0 ? UInt64(st.st_size) : 0
    }

    func write(_ line: String) {
        let bytes = Array(line.utf8)
        lock.lock()
        defer { lock.unlock() }
        if let console { console.write(Data(bytes)) }
        guard let file, fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress!, bytes.count) }
        size += UInt64(bytes.count)
        if file.rotation.archive, let max = file.rotation.maxFileSize?.bytes, size >= max,
           let pattern = file.archivedLogFilenamePattern {
            close(fd)
            let f = DateFormatter()
            f.dateFormat = "yyyy-MM-dd"
            f.timeZone = self.pattern.timeZone
            // Without %i every archive of a day would get the same name: add one.
            let indexed = pattern.contains("%i") ? pattern
                : pattern.hasSuffix(".gz") ? String(pattern.dropLast(3)) + ".%i.gz" : pattern + ".%i"
            let dated = indexed.replacingOccurrences(of: "%d", with: f.string(from: Date()))
            // As Logback does: one past the highest index of the day, so the
            // newest archive always has the highest index even after pruning
            // removed older ones (reusing the lowest free index did not).
            let index = LogArchiver.nextIndex(in: (dated as NSString).deletingLastPathComponent,
                                              dated: (dated as NSString).lastPathComponent)
            let archived = dated.replacingOccurrences(of: "%i", with: String(index))
            if archived.hasSuffix(".gz") {
                // As Logback does for a pattern ending in .gz: archive, then compress
                // (in the background; the writer only pays for the rename).
                let plain = String(archived.dropLast(3))
                rename(file.currentLogFilename, plain)
                let count = file.rotation.archivedFileCount
                LogArchiver.shared.compress(plain, to: archived) { Self.prune(dated, keep: count) }
            } else {
                rename(file.currentLogFilename, archived)
                Self.prune(dated, keep: file.rotation.archivedFileCount)
            }
            reopen()
        }
    }

    /// Keeps the newest `keep` archives of the dated pattern (0: all).
    static func prune(_ dated: String, keep: Int) {
        let prefix = (dated.components(separatedBy: "%i")[0] as NSString).lastPathComponent
        LogArchiver.shared.prune(in: (dated as NSString).deletingLastPathComponent, prefix: prefix, keep: keep)
    }
}
