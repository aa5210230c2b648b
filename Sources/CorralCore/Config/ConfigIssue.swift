/// One problem found in a config file: where it is, the key path, the bad
/// value (never a secret's), what is wrong and what is allowed.
public struct ConfigIssue: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable {
        case error, warning
        /// Worth knowing, nothing wrong: what Corral reads past (a whole damocles-worker file's other sections).
        case note
    }

    public var severity: Severity
    public var file: String
    public var location: SourceLocation?
    /// Key path such as `resources.overProvisioning.cpuMultiplier` or `logging.appenders[1].type`.
    public var path: String
    /// The offending value as written (redacted for secrets), when there is one.
    public var value: String?
    public var message: String
    /// What would have been accepted.
    public var allowed: String?

    public init(_ severity: Severity, file: String, location: SourceLocation?, path: String,
                value: String? = nil, message: String, allowed: String? = nil) {
        self.severity = severity
        self.file = file
        self.location = location
        self.path = path
        self.value = value
        self.message = message
        self.allowed = allowed
    }

    /// `executor.yml:41:25: error: resources.exposedMemPercentage: 120 is out of range (allowed: ...)`
    public var description: String {
        var s = file
        if let location { s += ":\(location.line):\(location.column)" }
        s += ": \(severity.rawValue): "
        if !path.isEmpty { s += "\(path): " }
        s += message
        if let allowed { s += " (allowed: \(allowed))" }
        return s
    }
}

/// A config that could not be loaded: every error found, and the warnings.
public struct ConfigError: CorralError {
    public var file: String
    public var issues: [ConfigIssue]

    public init(file: String, issues: [ConfigIssue]) {
        self.file = file
        self.issues = issues
    }

    public var errors: [ConfigIssue] { issues.filter { $0.severity == .error } }
    public var codeName: String { "invalid_config" }
    public var message: String {
        let errs = errors
        let head = "\(file): \(errs.count) error\(errs.count == 1 ? "" : "s")"
        return ([head] + issues.map { "  " + $0.description }).joined(separator: "\n")
    }
    public var context: [String: String] { ["file": file, "errors": String(errors.count)] }
}
