import Foundation

/// `resources.metadata:` in the executor YAML (Drove's MetadataConfig): where
/// the executor's metadata comes from. The values are published in the
/// executor's node data (RULE_BASED placement reads them, and spreading by
/// a key) and in `GET /apis/v1/executor`.
///
/// Providers, each under a name of the operator's choosing:
/// - `CONFIGURED`: `metadata`, key/values written in the file;
/// - `ENVIRONMENT`: `whitelistedVariables`, regular expressions naming the
///   executor's environment variables to publish (whole-name matches);
/// - `DYNAMIC_COMMAND`: `commands`, each `{type: STATIC|DYNAMIC, command,
///   defaultValue}` run with `bash -c`; STATIC once at start, DYNAMIC again
///   every `commandRerunInSecs`. A command that fails gives its defaultValue.
///
/// A key given by two providers is published by neither (as Drove does); a
/// key matching one of `blacklistedKeys` (regular expressions) is not
/// published; nor is a value longer than `valueMaxLimit` characters.
public struct MetadataConfig: Sendable {
    public enum ProviderType: String, Sendable, CaseIterable { case CONFIGURED, ENVIRONMENT, DYNAMIC_COMMAND }
    public enum CommandType: String, Sendable, CaseIterable { case STATIC, DYNAMIC }

    public struct Command: Sendable, Hashable {
        public var type: CommandType
        public var command: String
        public var defaultValue: String

        public init(type: CommandType, command: String, defaultValue: String) {
            self.type = type
            self.command = command
            self.defaultValue = defaultValue
        }
    }

    public enum Provider: Sendable, Hashable {
        case configured([String: String])
        case environment(whitelistedVariables: [String])
        case dynamicCommand(rerunSeconds: Int, commands: [String: Command])
    }

    public var providers: [String: Provider] = [:]
    public var valueMaxLimit = 1024
    public var blacklistedKeys: [String] = []

    public init() {}
}

extension MetadataConfig {
    /// Why a key a provider gave is not published.
    public enum Dropped: Sendable, Hashable, CustomStringConvertible {
        case conflict(key: String, providers: [String])
        case blacklisted(key: String, pattern: String)
        case tooLong(key: String, length: Int, limit: Int)

        public var description: String {
            switch self {
            case .conflict(let k, let p): "metadata key \(k) is given by \(p.joined(separator: " and ")): published by neither"
            case .blacklisted(let k, let p): "metadata key \(k) matches blacklistedKeys \(p): not published"
            case .tooLong(let k, let n, let limit): "metadata value of \(k) is \(n) characters, over valueMaxLimit \(limit): not published"
            }
        }
    }

    /// What is published from each provider's values (by provider name), as
    /// Drove's MetadataManager decides: a key two providers give is dropped,
    /// then blacklisted keys (whole-key regular expression matches), then
    /// values longer than `valueMaxLimit`.
    public func publish(_ byProvider: [String: [String: String]]) -> (values: [String: String], dropped: [Dropped]) {
        var givers: [String: [String]] = [:]
        for (provider, values) in byProvider { for key in values.keys { givers[key, default: []].append(provider) } }
        let patterns = blacklistedKeys.compactMap { p in (try? NSRegularExpression(pattern: "^(?:" + p + ")$")).map { (p, $0) } }
        var out: [String: String] = [:]
        var dropped: [Dropped] = []
        for (key, providers) in givers.sorted(by: { $0.key < $1.key }) {
            if providers.count > 1 { dropped.append(.conflict(key: key, providers: providers.sorted())); continue }
            let value = byProvider[providers[0]]![key]!
            let range = NSRange(key.startIndex..., in: key)
            if let (p, _) = patterns.first(where: { $0.1.firstMatch(in: key, range: range) != nil }) {
                dropped.append(.blacklisted(key: key, pattern: p))
                continue
            }
            if value.count > valueMaxLimit { dropped.append(.tooLong(key: key, length: value.count, limit: valueMaxLimit)); continue }
            out[key] = value
        }
        return (out, dropped)
    }

    /// An ENVIRONMENT provider's values: the variables whose whole name one of `patterns` matches.
    public static func environment(_ env: [String: String], whitelisted patterns: [String]) -> [String: String] {
        let res = patterns.compactMap { try? NSRegularExpression(pattern: "^(?:" + $0 + ")$") }
        return env.filter { k, _ in res.contains { $0.firstMatch(in: k, range: NSRange(k.startIndex..., in: k)) != nil } }
    }
}
