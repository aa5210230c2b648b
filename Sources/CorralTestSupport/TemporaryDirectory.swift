import Foundation

/// Fresh directories under the system's temporary directory, for tests.
public enum TemporaryDirectory {
    /// A path `<tmp>/<prefix>-<uuid>` (not created: the code under test creates what it needs).
    public static func path(_ prefix: String, suffix: String = "") -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)\(suffix)").path
    }

    /// Like ``path(_:suffix:)``, created.
    public static func make(_ prefix: String) throws -> String {
        let p = path(prefix)
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}
