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
    /// on a table header without a name (`[ = 2`, `[ ]`, found by fuzzing),
    /// and a NUL byte would silently end the text it is given. Both are
    /// refused here with the line and column. Lines inside multi-line strings
    /// are skipped; a header is a line whose first non-blank character is `[`.
    ///
    /// Lines are read as Unicode scalars, as toml++ reads them, never as
    /// Swift characters: a combining mark after `[` made one character of
    /// the two and hid the header, and `\r\n` is one character too (both
    /// found by fuzzing).
    static func precheck(_ text: String, file: String) -> ConfigIssue? {
        var inMultiline: Unicode.Scalar? = nil
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        for (n, raw) in lines.enumerated() {
            if let nul = raw.firstIndex(of: "\0") {
                return ConfigIssue(.error, file: file,
                                   location: SourceLocation(line: n + 1, column: raw.distance(from: raw.startIndex, to: nul) + 1),
                                   path: "", message: "not valid TOML: a NUL byte", allowed: "text without NUL bytes")
            }
            // A byte-order mark is skipped as toml++ skips it (found by fuzzing: BOM + "[ = 2").
            let line = raw.drop { $0 == " " || $0 == "\t" || $0 == "\u{FEFF}" }
            if inMultiline == nil, line.first == "[" {
                let double = line.dropFirst().first == "["
                let rest = line.dropFirst(double ? 2 : 1).drop { $0 == " " || $0 == "\t" }
                // Not `[`: `[[[` and `[ [` are no header, and toml++ asserts on them (found by fuzzing).
                let named = rest.first.map { c in
                    ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
                        || c == "_" || c == "-" || c == "\"" || c == "'"
                } ?? false
                if !named {
                    return ConfigIssue(.error, file: file, location: SourceLocation(line: n + 1, column: raw.count - rest.count + 1),
                                       path: "", message: "not valid TOML: a table header needs a name",
                                       allowed: "[name], [a.b], [\"quoted name\"], [[name]]")
                }
            }
            // Multi-line strings: a line with an odd number of a delimiter opens or closes one.
            for d in ["\"", "'"] as [Unicode.Scalar] where inMultiline == nil || inMultiline == d {
                if triples(of: d, in: line) % 2 == 1 { inMultiline = inMultiline == nil ? d : nil }
            }
        }
        return nil
    }

    /// Non-overlapping runs of three `quote` scalars in `line`.
    static func triples(of quote: Unicode.Scalar, in line: Substring.UnicodeScalarView.SubSequence) -> Int {
        var count = 0, run = 0
        for c in line {
            if c == quote {
                run += 1
                if run == 3 { count += 1; run = 0 }
            } else {
                run = 0
            }
        }
        return count
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
