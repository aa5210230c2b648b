import Foundation

/// kazoo, an independent ZooKeeper client (PyPI, installed by
/// scripts/python-tools), driven through Tests/ZooKeeperClientTests/Interop/kazoo_peer.py:
/// each call runs one command and returns the JSON object it prints.
public enum KazooPeer {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = packageRoot.appendingPathComponent("Tests/ZooKeeperClientTests/Interop/kazoo_peer.py").path

    /// The venv's python with kazoo: CORRAL_TEST_PYTHON (set by scripts/test)
    /// or .build/python-tools; nil when neither is there.
    public static var python: String? {
        if let p = ProcessInfo.processInfo.environment["CORRAL_TEST_PYTHON"], FileManager.default.isExecutableFile(atPath: p) { return p }
        let p = packageRoot.appendingPathComponent(".build/python-tools/bin/python").path
        return FileManager.default.isExecutableFile(atPath: p) ? p : nil
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `command args...` against `hosts`; `auth` ("scheme:credential", e.g. "digest:user:password") is added to the session.
    public static func run(_ hosts: String, _ args: [String], auth: String? = nil) throws -> [String: Any] {
        guard let python else { throw Failure(description: "kazoo is not installed: scripts/python-tools installs it") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script] + (auth.map { ["--auth", $0] } ?? []) + [hosts] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure(description: "kazoo \(args) failed (\(p.terminationStatus)): \(String(decoding: errors, as: UTF8.self))")
        }
        return object
    }
}
