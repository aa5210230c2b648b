import Foundation
import TOMLKit

/// TOML files into the common reader: toml++ parses and writes the same data
/// as JSON, and the JSON tree feeds ``ConfigReader``. Shared by every TOML
/// file Corral reads (damocles processors configs, plan workloads).
enum TOMLSource {
    /// The config tree of `text`; a syntax error names the line and column.
    static func tree(text: String, file: String) -> (ConfigNode?, [ConfigIssue]) {
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

    /// A reader for these files: `${VAR}` is left as written (damocles never expanded it).
    static func reader(file: String) -> ConfigReader {
        let r = ConfigReader(file: file, environment: [:])
        r.substitutesVariables = false
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
