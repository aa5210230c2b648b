@testable import CorralEngines
import Foundation
import PropertyBased
import Testing

/// The config archive read back by GNU tar: every file's path, bytes and mode as written.
@Suite struct TarArchiveTests {
    static func extract(_ archive: TarArchive) throws -> (dir: String, status: Int32, errors: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-tar-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + ".tar"
        try Data(archive.bytes).write(to: URL(fileURLWithPath: file))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["tar", "-x", "--no-same-owner", "-f", file, "-C", dir]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try? FileManager.default.removeItem(atPath: file)
        return (dir, p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    @Test func gnuTarReadsBackEveryFileIncludingLongPaths() throws {
        let long = "opt/" + String(repeating: "x", count: 99) + "/" + String(repeating: "y", count: 99) + "/z.conf"
        let entries: [TarArchive.Entry] = [.init(path: "etc/app/app.conf", data: Data("a = 1\n".utf8)),
                                           .init(path: long, data: Data((0..<1500).map { UInt8($0 % 251) })),
                                           .init(path: "empty", data: Data())]
        let (dir, status, errors) = try Self.extract(TarArchive(entries))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(status == 0, "\(errors)")
        for e in entries {
            #expect(FileManager.default.contents(atPath: "\(dir)/\(e.path)") == e.data, "\(e.path)")
            let mode = (try FileManager.default.attributesOfItem(atPath: "\(dir)/\(e.path)")[.posixPermissions] as? Int) ?? -1
            #expect(mode == 0o444, "\(e.path): \(String(mode, radix: 8))")
        }
    }

    @Test func anyBytesAtAnyLengthRoundTrip() async throws {
        await propertyCheck(count: 25, input: Gen.uint8().array(of: 0...3000), Gen.int(in: 1...200)) { bytes, nameLength in
            let path = "d/" + String(repeating: "n", count: nameLength)
            let (dir, status, errors) = try Self.extract(TarArchive([.init(path: path, data: Data(bytes))]))
            defer { try? FileManager.default.removeItem(atPath: dir) }
            #expect(status == 0, "\(errors)")
            #expect(FileManager.default.contents(atPath: "\(dir)/\(path)") == Data(bytes))
        }
    }

    /// What GNU tar writes for one file (as an engine's archive GET answers)
    /// reads back byte for byte; a directory, a cut stream and an empty one are nil.
    @Test func theFirstFileOfAnEnginesArchiveIsReadBack() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-tar-read-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let passwd = Data("root:x:0:0:root:/root:/bin/sh\n".utf8) + Data((0..<700).map { _ in UInt8(ascii: "a") })
        try passwd.write(to: URL(fileURLWithPath: dir + "/etc/passwd"))
        for format in ["gnu", "pax", "ustar"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["tar", "--format=\(format)", "-c", "-C", dir + "/etc", "passwd"]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let bytes = Array(out.fileHandleForReading.readDataToEndOfFile())
            p.waitUntilExit()
            #expect(TarArchive.firstFile(in: bytes) == Array(passwd), "format \(format)")
            #expect(TarArchive.firstFile(in: Array(bytes.prefix(700))) == nil, "cut short: \(format)")
        }
        #expect(TarArchive.firstFile(in: []) == nil && TarArchive.firstFile(in: [UInt8](repeating: 0, count: 1024)) == nil)
        let written = TarArchive([.init(path: "etc/group", data: Data("root:x:0:\n".utf8), mode: 0o644)])
        #expect(TarArchive.firstFile(in: written.bytes) == Array("root:x:0:\n".utf8))
    }
}
