import Foundation

/// Reads a ``ConfigNode`` tree against a schema, collecting every problem
/// instead of stopping at the first. Each typed read names the key path, the
/// bad value and what is allowed; unknown keys get a did-you-mean suggestion.
///
/// `${VAR}` and `${VAR:-default}` are replaced inside scalar values only, after
/// parsing, so a variable's value can never add keys or structure. `$${VAR}`
/// is a literal `${VAR}`. A variable that is not set and has no default is an error.
public final class ConfigReader {
    public let file: String
    public private(set) var issues: [ConfigIssue] = []
    let environment: [String: String]
    /// False for formats whose users never had `${VAR}` (damocles' TOML): values stay as written.
    public var substitutesVariables = true
    /// JSON specs: a field that takes a string takes a JSON string; a number or
    /// a boolean there is refused (YAML and TOML read every scalar as text).
    public var stringsAreTyped = false
    /// How duration values are written: Dropwizard's by default, humantime's in damocles' TOML.
    public var durationGrammar = ConfigDuration.Grammar.dropwizard

    public init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    public var hasErrors: Bool { issues.contains { $0.severity == .error } }

    public func error(_ path: String, _ node: ConfigNode?, value: String? = nil, _ message: String, allowed: String? = nil) {
        issues.append(ConfigIssue(.error, file: file, location: node?.location, path: path, value: value,
                                  message: message, allowed: allowed))
    }

    public func warning(_ path: String, _ node: ConfigNode?, _ message: String) {
        issues.append(ConfigIssue(.warning, file: file, location: node?.location, path: path, message: message))
    }

    public func note(_ path: String, _ node: ConfigNode?, _ message: String) {
        issues.append(ConfigIssue(.note, file: file, location: node?.location, path: path, message: message))
    }

    public func append(_ more: [ConfigIssue]) { issues.append(contentsOf: more) }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    // MARK: Mappings

    /// The entries of a mapping, checked against the keys the schema knows.
    /// Unknown keys are errors with a suggestion; `ignored` keys are accepted
    /// with a warning that Corral does not use them.
    public func mapping(_ node: ConfigNode, at path: String, known: [String],
                        ignored: [String] = []) -> Fields? {
        switch node.value {
        case .null:
            return Fields(path: path, entries: [:], node: node)
        case .mapping(let entries):
            var out: [String: ConfigEntry] = [:]
            for e in entries {
                let keyPath = Self.join(path, e.key)
                if known.contains(e.key) {
                    out[e.key] = e
                } else if ignored.contains(e.key) {
                    warning(keyPath, e.value, "accepted for compatibility; Corral does not use it")
                } else {
                    var message = "unknown key \"\(e.key)\""
                    if let s = Suggestion.closest(to: e.key, among: known + ignored) { message += "; did you mean \"\(s)\"?" }
                    issues.append(ConfigIssue(.error, file: file, location: e.keyLocation ?? e.value.location,
                                              path: keyPath, message: message,
                                              allowed: known.sorted().joined(separator: ", ")))
                }
            }
            return Fields(path: path, entries: out, node: node)
        default:
            error(path, node, "expected a mapping of keys to values, found \(node.kindDescription)")
            return nil
        }
    }

    /// The items of a list; a single value where a list is expected is an error, null is [].
    public func sequence(_ node: ConfigNode, at path: String) -> [ConfigNode]? {
        switch node.value {
        case .sequence(let items): return items
        case .null: return []
        default:
            error(path, node, "expected a list, found \(node.kindDescription)")
            return nil
        }
    }

    // MARK: Scalars

    /// A scalar's text after variable substitution; nil (with an error) for lists, mappings and
    /// unset variables. `secret` keeps the value out of every message.
    public func text(_ node: ConfigNode, at path: String, secret: Bool = false) -> String? {
        switch node.value {
        case .scalar(let raw, _):
            return substitute(raw, node: node, path: path)
        case .null:
            return nil
        default:
            error(path, node, "expected a single value, found \(node.kindDescription)")
            return nil
        }
    }

    func substitute(_ raw: String, node: ConfigNode, path: String) -> String? {
        guard substitutesVariables, raw.contains("$") else { return raw }
        var out = ""
        var i = raw.startIndex
        var ok = true
        while i < raw.endIndex {
            let c = raw[i]
            if c == "$" {
                let next = raw.index(after: i)
                if next < raw.endIndex, raw[next] == "$",
                   raw.index(after: next) < raw.endIndex, raw[raw.index(after: next)] == "{" {
                    // $${ -> literal ${
                    out += "$"
                    i = raw.index(after: next)
                    continue
                }
                if next < raw.endIndex, raw[next] == "{", let close = raw[next...].firstIndex(of: "}") {
                    let inner = raw[raw.index(after: next)..<close]
                    let name: Substring
                    var fallback: Substring? = nil
                    if let sep = inner.range(of: ":-") {
                        name = inner[..<sep.lowerBound]
                        fallback = inner[sep.upperBound...]
                    } else {
                        name = inner
                    }
                    guard Self.isVariableName(name) else {
                        error(path, node, value: String(raw[i...close]),
                              "\"\(raw[i...close])\" is not a valid variable reference",
                              allowed: "${NAME} or ${NAME:-default}, NAME of letters, digits and _")
                        ok = false
                        i = raw.index(after: close)
                        continue
                    }
                    if let v = environment[String(name)] {
                        out += v
                    } else if let fallback {
                        out += fallback
                    } else {
                        error(path, node, "environment variable \(name) is not set",
                              allowed: "set \(name), or write ${\(name):-default}")
                        ok = false
                    }
                    i = raw.index(after: close)
                    continue
                }
            }
            out.append(c)
            i = raw.index(after: i)
        }
        return ok ? out : nil
    }

    static func isVariableName(_ s: Substring) -> Bool {
        guard let f = s.first, f == "_" || (f.isASCII && f.isLetter) else { return false }
        return s.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    public func string(_ node: ConfigNode, at path: String, nonEmpty: Bool = false) -> String? {
        if stringsAreTyped, case .scalar(let raw, quoted: false) = node.value {
            error(path, node, value: String(raw.prefix(64)), "expected a string, found \(raw.prefix(64))",
                  allowed: "a JSON string, e.g. \"\(raw.prefix(64))\"")
            return nil
        }
        guard let s = text(node, at: path) else { return nil }
        if nonEmpty && s.trimmingASCIIWhitespace().isEmpty {
            error(path, node, value: s, "must not be empty")
            return nil
        }
        return s
    }

    public func secret(_ node: ConfigNode, at path: String) -> Secret? {
        guard let s = text(node, at: path, secret: true) else { return nil }
        if s.isEmpty {
            error(path, node, "the secret is empty", allowed: "a non-empty string")
            return nil
        }
        return Secret(s)
    }

    /// Integers as YAML 1.1 writes them: optional sign, digits, `_` separators (`10_000`).
    public func int(_ node: ConfigNode, at path: String, in range: ClosedRange<Int>? = nil) -> Int? {
        guard let s = text(node, at: path) else { return nil }
        let allowed = range.map { "an integer from \($0.lowerBound) to \($0.upperBound)" } ?? "an integer"
        let cleaned = s.trimmingASCIIWhitespace().replacingUnderscores()
        guard let v = Int(cleaned), !cleaned.isEmpty, !s.hasPrefix("_") else {
            error(path, node, value: s, "\"\(s)\" is not an integer", allowed: allowed)
            return nil
        }
        if let range, !range.contains(v) {
            error(path, node, value: s, "\(v) is out of range", allowed: allowed)
            return nil
        }
        return v
    }

    /// A number above 0, whole or not (`177`, `12.5`).
    public func positiveNumber(_ node: ConfigNode, at path: String, allowed: String) -> Double? {
        guard let s = text(node, at: path) else { return nil }
        guard let v = Double(s.trimmingASCIIWhitespace()), v > 0, v.isFinite else {
            error(path, node, value: s, "\"\(s)\" is not a positive number", allowed: allowed)
            return nil
        }
        return v
    }

    /// A table of strings (`envs = { A = "1" }`). Every value that is not a
    /// string is reported; the strings that are come back.
    public func stringMap(_ node: ConfigNode, at path: String) -> [String: String]? {
        guard case .mapping(let entries) = node.value else {
            error(path, node, "expected a mapping of keys to values, found \(node.kindDescription)")
            return nil
        }
        var out: [String: String] = [:]
        for e in entries where !e.value.isNull {
            if let v = string(e.value, at: Self.join(path, e.key)) { out[e.key] = v }
        }
        return out
    }

    public func bool(_ node: ConfigNode, at path: String) -> Bool? {
        guard let s = text(node, at: path) else { return nil }
        switch s.trimmingASCIIWhitespace().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error(path, node, value: s, "\"\(s)\" is not a boolean", allowed: "true or false (yes/no, on/off)")
            return nil
        }
    }

    public func dataSize(_ node: ConfigNode, at path: String, in range: ClosedRange<DataSize>? = nil,
                         rangeText: String? = nil) -> DataSize? {
        guard let s = text(node, at: path) else { return nil }
        guard let v = DataSize(parsing: s) else {
            error(path, node, value: s, "\"\(s)\" is not a data size", allowed: DataSize.allowedUnitsText)
            return nil
        }
        if let range, !range.contains(v) {
            error(path, node, value: s, "\(s) (\(v.bytes) bytes) is out of range",
                  allowed: rangeText ?? "\(range.lowerBound.bytes) to \(range.upperBound.bytes) bytes")
            return nil
        }
        return v
    }

    public func duration(_ node: ConfigNode, at path: String, in range: ClosedRange<ConfigDuration>? = nil) -> ConfigDuration? {
        guard let s = text(node, at: path) else { return nil }
        guard let v = ConfigDuration(parsing: s, grammar: durationGrammar) else {
            error(path, node, value: s, "\"\(s)\" is not a duration", allowed: ConfigDuration.allowedText(durationGrammar))
            return nil
        }
        if let range, !range.contains(v) {
            error(path, node, value: s, "\(s) is out of range", allowed: "\(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return v
    }

    /// One of a fixed set of words, case-insensitive.
    public func choice<T: RawRepresentable & CaseIterable>(_ node: ConfigNode, at path: String, as: T.Type) -> T?
    where T.RawValue == String {
        guard let s = text(node, at: path) else { return nil }
        let key = s.trimmingASCIIWhitespace().lowercased()
        if let v = T.allCases.first(where: { $0.rawValue.lowercased() == key }) { return v }
        let names = T.allCases.map(\.rawValue)
        var message = "\"\(s)\" is not one of the allowed values"
        if let sug = Suggestion.closest(to: s, among: names) { message += "; did you mean \"\(sug)\"?" }
        error(path, node, value: s, message, allowed: names.joined(separator: ", "))
        return nil
    }

    public func cpuList(_ node: ConfigNode, at path: String) -> CPUSet? {
        // A YAML list of ids ([0, 1, 2]) or the kernel's list syntax ("0-3,8").
        if case .sequence(let items) = node.value {
            var set = CPUSet()
            var ok = true
            for (i, item) in items.enumerated() {
                if let v = int(item, at: "\(path)[\(i)]", in: 0...CPUSet.maxID) {
                    if !set.insert(v) { warning("\(path)[\(i)]", item, "CPU \(v) is listed twice") }
                } else {
                    ok = false
                }
            }
            return ok ? set : nil
        }
        guard let s = text(node, at: path) else { return nil }
        do {
            return try CPUSet(list: s)
        } catch {
            self.error(path, node, value: s, error.reason, allowed: "a list of CPU ids ([0, 1]) or a CPU list (\"0-3,8-11\")")
            return nil
        }
    }

    public func stringList(_ node: ConfigNode, at path: String) -> [String]? {
        guard let items = sequence(node, at: path) else { return nil }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            // An empty item is a mistake, not nothing: `[null]` was silently read as no list at all.
            if item.isNull {
                error("\(path)[\(i)]", item, "a list item is empty", allowed: "a string")
                return nil
            }
            guard let s = string(item, at: "\(path)[\(i)]") else { return nil }
            out.append(s)
        }
        return out
    }
}

/// The checked entries of one mapping.
public struct Fields {
    public let path: String
    public let entries: [String: ConfigEntry]
    public let node: ConfigNode

    public subscript(key: String) -> ConfigNode? {
        guard let e = entries[key], !e.value.isNull else { return nil }
        return e.value
    }

    public func path(_ key: String) -> String { ConfigReader.join(path, key) }
}

/// A value that must never be shown: descriptions and dumps print a mask.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}

/// "Did you mean" for misspelled keys and values.
public enum Suggestion {
    /// The closest candidate within a small edit distance (case-insensitive), if any.
    public static func closest(to word: String, among candidates: [String]) -> String? {
        let w = word.lowercased()
        var best: (String, Int)? = nil
        for c in candidates {
            let d = distance(w, c.lowercased())
            if best == nil || d < best!.1 { best = (c, d) }
        }
        guard let (c, d) = best else { return nil }
        let limit = Swift.max(2, w.count / 3)
        return d <= limit ? c : nil
    }

    /// Levenshtein distance.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
