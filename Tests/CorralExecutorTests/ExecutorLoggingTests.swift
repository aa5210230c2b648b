import CompressNIO
import CorralCore
@testable import CorralExecutor
import Foundation
import Logging
import NIOCore
import Testing

@Suite struct ExecutorLoggingTests {
    static let instant = Date(timeIntervalSince1970: 1_795_000_000.25)  // 2026-11-18 11:06:40.250 UTC

    func event(_ level: Logger.Level = .info, label: String = "com.phonepe.drove.Executor", message: String = "started",
               metadata: Logger.Metadata = ["appId": "billing-1"]) -> LogPattern.Event {
        LogPattern.Event(date: Self.instant, level: level, label: label, message: message, metadata: metadata)
    }

    @Test func theSeedsPatternsRender() {
        let ist = TimeZone(identifier: "Asia/Kolkata")!
        let a = LogPattern("%(%-5level) [%date] [%logger{0} - %X{appId}] %message%n", timeZone: ist)
        #expect(a.render(event()) == "INFO  [2026-11-18 16:36:40,250] [Executor - billing-1] started\n")
        let b = LogPattern("%(%-5level) | %-23date | %-30logger{0} | %message%n", timeZone: .gmt)
        #expect(b.render(event(.warning)) ==
                "WARN  | 2026-11-18 11:06:40,250 | Executor                       | started\n")
    }

    @Test func widthsDatesAndUnknownWords() {
        let p = LogPattern("%5p|%.3m|%d{HH:mm}|%logger|%X{missing}|%%|%zz", timeZone: .gmt)
        #expect(p.render(event(.error)) == "ERROR|ted|11:06|com.phonepe.drove.Executor||%|%zz")
    }

    @Test func thresholdsLevelsAndFileRotation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-elog-\(UUID().uuidString)").path
        var file = FileAppender()
        file.currentLogFilename = "\(dir)/executor.log"
        file.archivedLogFilenamePattern = "\(dir)/executor.log-%d-%i"
        file.rotation.maxFileSize = DataSize(bytes: 200)
        file.rotation.archivedFileCount = 2
        file.common.threshold = .INFO
        file.common.logFormat = "%-5level %logger{0}: %message%n"
        var config = LoggingConfig()
        config.level = .DEBUG
        config.loggers = ["noisy": .ERROR]
        config.appenders = [.file(file)]
        let factory = ExecutorLogging.factory(config)
        let main = Logger(label: "corral.executor", factory: factory)
        let noisy = Logger(label: "noisy.part", factory: factory)
        main.debug("below the appender's threshold")
        main.info("hello")
        noisy.warning("below this logger's level")
        noisy.error("loud")
        let text = try String(contentsOfFile: "\(dir)/executor.log", encoding: .utf8)
        #expect(text == "INFO  executor: hello\nERROR part: loud\n")
        for i in 0..<40 { main.info("line \(i)") }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("executor.log-") }
        #expect(names.count == 2, "archivedFileCount keeps two: \(names)")
        #expect(try String(contentsOfFile: "\(dir)/executor.log", encoding: .utf8).utf8.count < 200 + 40)
    }

    @Test func archivesArePrunedAndGzippedWhenThePatternEndsInGz() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-elog-\(UUID().uuidString)").path
        var file = FileAppender()
        file.currentLogFilename = "\(dir)/executor.log"
        file.archivedLogFilenamePattern = "\(dir)/executor.log-%d-%i.gz"
        file.rotation.maxFileSize = DataSize(bytes: 300)
        file.rotation.archivedFileCount = 3
        file.common.logFormat = "%message%n"
        var config = LoggingConfig()
        config.appenders = [.file(file)]
        let logger = Logger(label: "corral.executor", factory: ExecutorLogging.factory(config))
        for i in 0..<100 { logger.info("line \(i) of the executor's own log") }
        LogArchiver.shared.drain()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("executor.log-") }.sorted()
        #expect(names.count == 3, "archivedFileCount keeps three: \(names)")
        #expect(names.allSatisfy { $0.hasSuffix(".gz") }, "\(names)")
        // The newest archive holds whole lines, just before the current file's.
        let newest = try #require(names.max { Int($0.split(separator: "-").last!.dropLast(3))! < Int($1.split(separator: "-").last!.dropLast(3))! })
        var buf = ByteBuffer(bytes: try #require(FileManager.default.contents(atPath: "\(dir)/\(newest)")))
        let text = String(buffer: try buf.decompress(with: .gzip()))
        let current = try String(contentsOfFile: "\(dir)/executor.log", encoding: .utf8)
        let lastArchived = try #require(text.split(separator: "\n").last)
        let firstCurrent = current.split(separator: "\n").first.map(String.init) ?? "line 100 (the current file is empty)"
        let n = Int(lastArchived.split(separator: " ")[1])!
        #expect(firstCurrent.hasPrefix("line \(n + 1) "), "\(lastArchived) then \(firstCurrent)")
    }

    /// The index after pruning: one past the highest left, never a freed lower one
    /// (a reused low index made an older archive look like the newest).
    @Test func rotationIndexGoesPastTheHighestArchive() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-elog-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let dated = "executor.log-2026-12-01-%i.gz"
        #expect(LogArchiver.nextIndex(in: dir, dated: dated) == 0)
        for name in ["executor.log-2026-12-01-7.gz", "executor.log-2026-12-01-9", "executor.log-2026-12-01-10.gz.partial",
                     "executor.log-2026-11-30-40.gz", "executor.log"] {
            #expect(FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: Data()))
        }
        #expect(LogArchiver.nextIndex(in: dir, dated: dated) == 11)
        // Instance logs' names (the index before the suffix's end, archives compressed in place).
        for name in ["output.log.2026-12-01.3.gz", "output.log.2026-12-01.4", "output.log.2026-11-30.9.gz"] {
            #expect(FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: Data()))
        }
        #expect(LogArchiver.nextIndex(in: dir, dated: "output.log.2026-12-01.%i") == 5)
        #expect(LogArchiver.index(of: "output.log.2026-12-01.12.gz", prefix: "output.log.2026-12-01.") == 12)
        #expect(LogArchiver.index(of: "output.log.x", prefix: "output.log.") == nil)
    }
}
