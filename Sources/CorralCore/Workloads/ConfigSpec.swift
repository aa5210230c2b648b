import Foundation

/// A file put into a workload before it starts: Drove's `configs` entry.
/// INLINE carries the bytes (base64 in the spec); EXECUTOR_LOCAL_FILE names
/// a file the executor reads from its own host at start. In a container the
/// file appears at `localFilename` (read-only, mode 0444); a native process
/// finds it at `$CORRAL_CONFIGS_DIR` + `localFilename`. The bytes may be
/// secret: they are sealed wherever a spec is kept and never shown.
public struct ConfigSpec: Sendable, Hashable, Codable {
    /// Drove's `ConfigSpecType` names.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case INLINE, EXECUTOR_LOCAL_FILE, CONTROLLER_HTTP_FETCH, EXECUTOR_HTTP_FETCH

        /// The kinds this executor writes.
        public static let supported: [Kind] = [.INLINE, .EXECUTOR_LOCAL_FILE]
    }

    public enum Source: Sendable, Hashable {
        /// The file's bytes, base64 as in the spec.
        case inline(base64: String)
        /// A file on the executor's host.
        case hostFile(String)
    }

    /// The largest file an INLINE entry may carry, and all of a spec's INLINE
    /// entries together (the spec is kept in a ZooKeeper node, 1 MiB at most).
    public static let maxInlineBytes = 256 << 10
    public static let maxInlineTotalBytes = 512 << 10
    /// Where a native process's config files are (their `localFilename` below it).
    public static let processDirVariable = "CORRAL_CONFIGS_DIR"

    /// Absolute path inside the workload.
    public var localFilename: String
    public var source: Source

    public init(localFilename: String, source: Source) {
        self.localFilename = localFilename
        self.source = source
    }

    public var kind: Kind {
        switch source {
        case .inline: .INLINE
        case .hostFile: .EXECUTOR_LOCAL_FILE
        }
    }

    /// The file's bytes: decoded, or read from the host now.
    public func contents() throws(WorkloadFileError) -> Data {
        switch source {
        case .inline(let b64):
            guard let data = Data(base64Encoded: b64) else { throw WorkloadFileError(path: localFilename, reason: "its data is not base64") }
            return data
        case .hostFile(let path):
            do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw WorkloadFileError(path: localFilename, reason: "\(path) on the executor cannot be read: \(error.localizedDescription)")
            }
        }
    }

    /// `localFilename` as a relative path (no leading '/'), for archives and directories.
    public var relativePath: String { String(localFilename.drop { $0 == "/" }) }

    // Drove's JSON: {type, localFilename, data} or {type, localFilename, filePathOnHost}.
    enum CodingKeys: String, CodingKey { case type, localFilename, data, filePathOnHost }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        localFilename = try c.decode(String.self, forKey: .localFilename)
        switch try c.decode(Kind.self, forKey: .type) {
        case .INLINE: source = .inline(base64: try c.decode(String.self, forKey: .data))
        case .EXECUTOR_LOCAL_FILE: source = .hostFile(try c.decode(String.self, forKey: .filePathOnHost))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "\(other.rawValue) configs are not written by this executor")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .type)
        try c.encode(localFilename, forKey: .localFilename)
        switch source {
        case .inline(let b64): try c.encode(b64, forKey: .data)
        case .hostFile(let path): try c.encode(path, forKey: .filePathOnHost)
        }
    }
}

/// A config file that cannot be produced.
public struct WorkloadFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "config file \(path): \(reason)" }
}
