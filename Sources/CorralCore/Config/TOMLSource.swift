import Foundation
import TOMLKit

/// TOML files into the common reader: toml++ parses and writes the same data
/// as JSON, and the JSON tree feeds ``ConfigReader``. Shared by every TOML
/// file Corral reads (damocles processors configs, plan workloads).
enum TOMLSource {
    /// The config tree of `text`; a syntax error names the line and column.
    static func tree(text: String, file: String) -> (ConfigNode?, [ConfigIssue]) {
        if let refused = precheck(text, file: file) { return (nil, [refused]) }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            let at = SourceLocation(line: e.source.begin.line, column: e.source.begin.column)
            return (nil, [ConfigIssue(.error, file: file, location: at, path: "", message: "not valid TOML: \(e.description)")])
        } catch {
            return (nil, [ConfigIssue(.error, file: file, location: nil, path: "", message: "not valid TOML: \(error)")])
        }
        let (node, issue) = JSONTree.parse(Data(table.convert(to: .json).utf8), file: file)
        return (node, [issue].compactMap { $0 })
    }

    /// What toml++ must never see: it asserts (aborting the whole process)
    /// on a table header without a name (`[ = 2`, `[ ]`, `[[[`, found by
    /// fuzzing), and a NUL byte would silently end the text it is given. Both
    /// are refused here with the line and column.
    ///
    /// The text is lexed as TOML is, as Unicode scalars (never as Swift
    /// characters: a combining mark after `[` made one character of the two,
    /// and `\r\n` is one character too): comments, basic and literal strings,
    /// their multi-line forms and the brackets of array values are followed
    /// across lines, so a header is exactly a `[` that starts a line outside
    /// all of them (a `\"\"\"` in a comment had hidden the next line's header).
    static func precheck(_ text: String, file: String) -> ConfigIssue? {
        enum Mode { case normal, basic, literal, multiBasic, multiLiteral }
        var mode = Mode.normal
        // The open brackets of values, innermost last: `[` (arrays, across
        // lines) and `{` (inline tables, within their line).
        var open: [Unicode.Scalar] = []
        var arrayDepth: Int { open.count }
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        for (n, raw) in lines.enumerated() {
            if let nul = raw.firstIndex(of: "\0") {
                return ConfigIssue(.error, file: file,
                                   location: SourceLocation(line: n + 1, column: raw.distance(from: raw.startIndex, to: nul) + 1),
                                   path: "", message: "not valid TOML: a NUL byte", allowed: "text without NUL bytes")
            }
            let line = Array(raw)
            var i = 0
            // A byte-order mark is skipped as toml++ skips it (found by fuzzing: BOM + "[ = 2").
            while i < line.count, line[i] == " " || line[i] == "\t" || line[i] == "\u{FEFF}" { i += 1 }
            if mode == .normal, arrayDepth == 0, i < line.count, line[i] == "[" {
                let double = i + 1 < line.count && line[i + 1] == "["
                var j = i + (double ? 2 : 1)
                while j < line.count, line[j] == " " || line[j] == "\t" { j += 1 }
                // Not `[`: `[[[` and `[ [` are no header, and toml++ asserts on them.
                let named = j < line.count && Self.startsKey(line[j])
                if !named {
                    return ConfigIssue(.error, file: file, location: SourceLocation(line: n + 1, column: j + 1),
                                       path: "", message: "not valid TOML: a table header needs a name",
                                       allowed: "[name], [a.b], [\"quoted name\"], [[name]]")
                }
                // The header's own brackets are no array: skip to its end (quoted names may hold brackets).
                i = j
                var quote: Unicode.Scalar? = nil
                while i < line.count {
                    let c = line[i]
                    if let q = quote { if c == q { quote = nil } } else if c == "\"" || c == "'" { quote = c } else if c == "]" { break }
                    i += 1
                }
                i += double ? 2 : 1
            }
            func at(_ k: Int, _ q: Unicode.Scalar) -> Bool { k + 2 < line.count && line[k] == q && line[k + 1] == q && line[k + 2] == q }
            while i < line.count {
                let c = line[i]
                switch mode {
                case .normal:
                    if c == "#" { i = line.count; continue }
                    if at(i, "\"") { mode = .multiBasic; i += 3; continue }
                    if at(i, "'") { mode = .multiLiteral; i += 3; continue }
                    if c == "\"" { mode = .basic } else if c == "'" { mode = .literal }
                    else if c == "[" || c == "{" { open.append(c) }
                    else if c == "]" || c == "}" {
                        // toml++ asserts (aborting the process) on a value that starts with a closing bracket (`a = [}`, found by fuzzing).
                        guard open.last == (c == "]" ? "[" : "{") else {
                            return ConfigIssue(.error, file: file, location: SourceLocation(line: n + 1, column: i + 1), path: "",
                                               message: "not valid TOML: '\(c)' closes no \(c == "]" ? "array" : "inline table") here",
                                               allowed: "brackets that pair up: [ ] for arrays, { } for inline tables")
                        }
                        open.removeLast()
                    }
                    if open.count > maxNesting {
                        // toml++ recurses per level: very deep values overflow the stack (found by fuzzing).
                        return ConfigIssue(.error, file: file, location: SourceLocation(line: n + 1, column: i + 1), path: "",
                                           message: "not valid here: arrays and inline tables nested more than \(maxNesting) deep",
                                           allowed: "at most \(maxNesting) levels")
                    }
                case .basic:
                    if c == "\\" { i += 2; continue }
                    if c == "\"" { mode = .normal }
                case .literal:
                    if c == "'" { mode = .normal }
                case .multiBasic:
                    if c == "\\" { i += 2; continue }
                    if at(i, "\"") { mode = .normal; i += 3; continue }
                case .multiLiteral:
                    if at(i, "'") { mode = .normal; i += 3; continue }
                }
                i += 1
            }
            // Single-line strings end with their line (toml++ reports the rest); inline tables must too.
            if mode == .basic || mode == .literal { mode = .normal }
            if mode == .normal, open.contains("{") {
                return ConfigIssue(.error, file: file, location: SourceLocation(line: n + 1, column: line.count + 1), path: "",
                                   message: "not valid TOML: an inline table must end on the line it starts",
                                   allowed: "{ key = value, ... } on one line")
            }
        }
        return nil
    }

    /// The deepest nesting of arrays and inline tables read.
    static let maxNesting = 32

    /// What may start a key of a table header: a bare key's character or a quote.
    static func startsKey(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-" || c == "\"" || c == "'"
    }

    /// Fills in the line and column of issues about top-level keys of a
    /// flat file (no tables), which the JSON conversion loses: the line where
    /// `key =` starts. Issues of a nested path keep what they have.
    static func locateTopLevelKeys(_ issues: [ConfigIssue], text: String) -> [ConfigIssue] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var lineOf: [String: SourceLocation] = [:]
        for (n, raw) in lines.enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            guard let eq = line.firstIndex(of: "="), !line.hasPrefix("#"), !line.hasPrefix("[") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            if lineOf[key] == nil { lineOf[key] = SourceLocation(line: n + 1, column: raw.count - line.count + 1) }
        }
        return issues.map { issue in
            guard issue.location == nil else { return issue }
            let top = String(issue.path.prefix { $0 != "." && $0 != "[" })
            var located = issue
            located.location = lineOf[top]
            return located
        }
    }

    /// A reader for these files: `${VAR}` is left as written (damocles never expanded it).
    static func reader(file: String) -> ConfigReader {
        let r = ConfigReader(file: file, environment: [:])
        r.substitutesVariables = false
        r.durationGrammar = .humantime
        return r
    }

    /// Loads the file at `path` with `load(text, file)`; an unreadable file is one error.
    static func load<T>(path: String, _ load: (String, String) -> (T?, [ConfigIssue])) -> (T?, [ConfigIssue]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            return (nil, [ConfigIssue(.error, file: path, location: nil, path: "", message: "cannot read the file")])
        }
        return load(String(decoding: data, as: UTF8.self), path)
    }
}
