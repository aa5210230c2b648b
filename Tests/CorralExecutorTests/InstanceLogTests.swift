import CompressNIO
import CorralCore
@testable import CorralExecutor
import Foundation
import NIOCore
import Testing

@Suite struct InstanceLogTests {
    func dir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("corral-log-\(UUID().uuidString)").path
    }

    func rotation(max: UInt64, count: Int = 3, cap: UInt64? = nil, immediate: Bool = true, buffer: UInt64 = 8192) -> RotationOptions {
        var r = RotationOptions()
        r.maxFileSize = DataSize(bytes: max)
        r.archivedFileCount = count
        r.totalSizeCap = cap.map { DataSize(bytes: $0) }
        r.immediateFlush = immediate
        r.bufferSize = DataSize(bytes: buffer)
        return r
    }

    /// An archive larger than one compression chunk (1 MiB) comes back byte for
    /// byte: archives are compressed as a stream, not read whole.
    @Test func largeArchivesAreStreamedIntoGzipIntact() throws {
        let d = dir()
        let log = InstanceLog(directory: d, rotation: rotation(max: 3 << 20, count: 2), suffix: "%i")
        var expected: [UInt8] = []
        var rng = SystemRandomNumberGenerator()
        while expected.count < (3 << 20) + 1000 {
            let line = Array("line \(expected.count) \(rng.next() as UInt64)\n".utf8)
            expected += line
            log.write(line)
        }
        log.finish()
        log.waitForArchives()
        let archive = try #require(log.archives().first)
        #expect(archive.name == "output.log.0.gz")
        var buf = ByteBuffer(bytes: try #require(FileManager.default.contents(atPath: "\(d)/\(archive.name)")))
        let plain = try buf.decompress(with: .gzip(), maxSize: 16 << 20)
        #expect(plain.readableBytes == 3 << 20)
        #expect(Array(plain.readableBytesView) == Array(expected.prefix(3 << 20)))
        #expect(!FileManager.default.fileExists(atPath: "\(d)/output.log.0"), "the plain archive is gone once compressed")
    }

    @Test func rotatesAtMaxSizeAndGzipsArchives() throws {
        let d = dir()
        let log = InstanceLog(directory: d, rotation: rotation(max: 1000, count: 10), suffix: "%d-%i")
        let line = Array(String(repeating: "x", count: 99).utf8) + [10]
        for _ in 0..<25 { log.write(line) }  // 2500 bytes: two full files and a partial one
        log.finish()
        log.waitForArchives()
        let archives = log.archives()
        #expect(archives.count == 2)
        #expect(archives.allSatisfy { $0.name.hasSuffix(".gz") })
        let current = try #require(FileManager.default.contents(atPath: "\(d)/output.log"))
        #expect(current.count == 500)
        // Archives hold exactly the bytes written, in order.
        var total = current.count
        for a in archives {
            var buf = ByteBuffer(bytes: try #require(FileManager.default.contents(atPath: "\(d)/\(a.name)")))
            let plain = try buf.decompress(with: .gzip())
            #expect(plain.readableBytes == 1000)
            total += plain.readableBytes
        }
        #expect(total == 2500)
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = .gmt
        #expect(archives[0].name == "output.log.\(f.string(from: Date()))-0.gz")
    }

    @Test func keepsOnlyArchivedFileCountAndTotalSizeCap() throws {
        let d = dir()
        let log = InstanceLog(directory: d, rotation: rotation(max: 100, count: 2), suffix: "%d-%i")
        for _ in 0..<10 { log.write(Array(repeating: 65, count: 100)) }
        log.finish()
        log.waitForArchives()
        #expect(log.archives().count == 2)
        let capped = dir()
        let log2 = InstanceLog(directory: capped, rotation: rotation(max: 4096, count: 0, cap: 9000), suffix: "%i")
        // Incompressible data: each gzipped archive stays a little over 4 KiB, so the cap keeps two.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<4 { log2.write((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        log2.finish()
        log2.waitForArchives()
        let kept = log2.archives()
        #expect(kept.count == 2, "\(kept.map(\.size))")
        #expect(kept.reduce(0) { $0 + $1.size } <= 9000)
        #expect(kept.map(\.name) == ["output.log.2.gz", "output.log.3.gz"], "the oldest go first")
    }

    @Test func bufferedUntilBufferSizeWithoutImmediateFlush() throws {
        let d = dir()
        let log = InstanceLog(directory: d, rotation: rotation(max: 1 << 20, immediate: false, buffer: 100))
        log.write(Array(repeating: 66, count: 60))
        #expect(FileManager.default.contents(atPath: "\(d)/output.log")?.count == 0)
        log.write(Array(repeating: 66, count: 60))
        #expect(FileManager.default.contents(atPath: "\(d)/output.log")?.count == 120)
        log.write(Array(repeating: 66, count: 5))
        log.finish()
        #expect(FileManager.default.contents(atPath: "\(d)/output.log")?.count == 125)
    }

    @Test func anUnwritableDirectoryIsReportedNotFatal() {
        let log = InstanceLog(directory: "/proc/corral-cannot-write-here", rotation: rotation(max: 1000))
        log.write(Array("hello\n".utf8))
        log.finish()
        #expect(log.failures >= 1)
        #expect(log.lastError?.contains("/proc/corral-cannot-write-here") == true)
    }
}
