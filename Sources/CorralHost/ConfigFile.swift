import CorralCore
import Foundation

/// Loads an executor config file from disk with the process environment.
public enum ConfigFile {
    public static func loadExecutor(path: String,
                                    environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigError) -> Loaded<ExecutorConfig> {
        let text = try read(path)
        return try ExecutorConfig.load(yaml: text, file: path, environment: environment)
    }

    public static func read(_ path: String) throws(ConfigError) -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw ConfigError(file: path, issues: [
                ConfigIssue(.error, file: path, location: nil, path: "", message: "no such file"),
            ])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, issues: [
                ConfigIssue(.error, file: path, location: nil, path: "", message: "cannot read the file (permissions?)"),
            ])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, issues: [
                ConfigIssue(.error, file: path, location: nil, path: "", message: "the file is not UTF-8 text"),
            ])
        }
        return text
    }
}

/// The name this node goes by.
public enum HostIdentity {
    /// `options.hostname` when set; for a fixture root its recorded hostname;
    /// otherwise the kernel's.
    public static func hostname(configured: String?, root: FileSystemRoot) -> String {
        if let configured { return configured }
        if root.path != "/", let h = root.readTrimmed("/proc/sys/kernel/hostname") ?? root.readTrimmed("/etc/hostname"),
           !h.isEmpty {
            return h
        }
        var buf = [CChar](repeating: 0, count: 256)
        if gethostname(&buf, buf.count) == 0 {
            let name = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !name.isEmpty { return name }
        }
        return "localhost"
    }
}
