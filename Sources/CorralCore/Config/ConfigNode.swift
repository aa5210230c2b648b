/// Where something stands in a config file (1-based).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// A format-neutral config tree (YAML and TOML both load into it), keeping
/// the location of every value so errors can point at it.
public struct ConfigNode: Sendable {
    public enum Value: Sendable {
        /// A scalar's text. `quoted` is true for quoted YAML scalars and TOML strings.
        case scalar(String, quoted: Bool)
        case sequence([ConfigNode])
        case mapping([ConfigEntry])
        /// YAML's `~`, `null`, or an empty value.
        case null
    }

    public var value: Value
    public var location: SourceLocation?

    public init(_ value: Value, at location: SourceLocation? = nil) {
        self.value = value
        self.location = location
    }

    public var isNull: Bool {
        if case .null = value { return true }
        return false
    }

    /// What kind of value this is, for messages ("a list", "a mapping", ...).
    public var kindDescription: String {
        switch value {
        case .scalar: "a single value"
        case .sequence: "a list"
        case .mapping: "a mapping"
        case .null: "nothing"
        }
    }
}

public struct ConfigEntry: Sendable {
    public var key: String
    public var keyLocation: SourceLocation?
    public var value: ConfigNode

    public init(key: String, keyLocation: SourceLocation?, value: ConfigNode) {
        self.key = key
        self.keyLocation = keyLocation
        self.value = value
    }
}
