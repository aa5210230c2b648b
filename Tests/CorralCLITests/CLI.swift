import Foundation
import Testing

/// Runs the built `corral` binary as a user would.
enum CLI {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> String {
        packageRoot.appendingPathComponent("Tests/CorralHostTests/Fixtures/\(name)").path
    }

    static var binary: URL {
        // The test bundle sits in the build directory beside the executable.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.lastPathComponent.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
        let candidates = [dir.appendingPathComponent("corral"),
                          dir.deletingLastPathComponent().appendingPathComponent("corral"),
                          packageRoot.appendingPathComponent(".build/debug/corral")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
        }
    }

    static func run(_ args: [String], env: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        return try collect(p)
    }

    /// Runs `p` to its end: its exit status and what it wrote on each stream
    /// (both read at once, so a full stderr pipe never blocks the child).
    static func collect(_ p: Process) throws -> Result {
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let e = Collected(), errHandle = err.fileHandleForReading
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { e.data = errHandle.readDataToEndOfFile(); done.signal() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e.data, as: UTF8.self))
    }

    /// Written by one reader before it signals, read after the wait.
    final class Collected: @unchecked Sendable { var data = Data() }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static func writeTemp(_ text: String, name: String = "executor.yml") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}
