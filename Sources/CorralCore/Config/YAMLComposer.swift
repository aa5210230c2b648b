import CYaml

/// Loads YAML text into a ``ConfigNode`` tree straight from libyaml's events.
///
/// Why not a ready-made composer: Drove users' configs repeat keys (the seed
/// repeats `cacheImages`) and Dropwizard lets the last one win, so a duplicate
/// key here is a warning, not a failure; and every node keeps its line and
/// column for error messages. Anchors and aliases are resolved; merge keys
/// (`<<`) are not part of Corral's config language.
public enum YAMLComposer {
    public struct Result: Sendable {
        public var root: ConfigNode
        public var issues: [ConfigIssue]
    }

    /// Composes the first document of `text`. An empty document is a null root.
    public static func compose(_ text: String, file: String) -> Result {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            return Result(root: ConfigNode(.null), issues: [
                ConfigIssue(.error, file: file, location: nil, path: "", message: "could not start the YAML parser"),
            ])
        }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buf -> Result in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            var state = State(file: file)
            do {
                let root = try state.document(&parser)
                return Result(root: root, issues: state.issues)
            } catch let error as SyntaxError {
                state.issues.append(error.issue)
                return Result(root: ConfigNode(.null), issues: state.issues)
            } catch {
                state.issues.append(ConfigIssue(.error, file: file, location: nil, path: "", message: "\(error)"))
                return Result(root: ConfigNode(.null), issues: state.issues)
            }
        }
    }

    struct SyntaxError: Error {
        var issue: ConfigIssue
    }

    /// Owns one libyaml event and frees it.
    final class Event {
        var raw = yaml_event_t()
        deinit { yaml_event_delete(&raw) }

        var type: yaml_event_type_t { raw.type }
        var location: SourceLocation {
            SourceLocation(line: Int(raw.start_mark.line) + 1, column: Int(raw.start_mark.column) + 1)
        }
    }

    struct State {
        let file: String
        var issues: [ConfigIssue] = []
        var anchors: [String: ConfigNode] = [:]

        init(file: String) { self.file = file }

        mutating func next(_ parser: inout yaml_parser_t) throws(SyntaxError) -> Event {
            let event = Event()
            guard yaml_parser_parse(&parser, &event.raw) == 1 else {
                let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
                let context = parser.context.map { String(cString: $0) }
                let mark = parser.problem_mark
                let message = context.map { "\(problem) (\($0))" } ?? problem
                throw SyntaxError(issue: ConfigIssue(
                    .error, file: file,
                    location: SourceLocation(line: Int(mark.line) + 1, column: Int(mark.column) + 1),
                    path: "", message: "YAML syntax: \(message)"))
            }
            return event
        }

        mutating func document(_ parser: inout yaml_parser_t) throws(SyntaxError) -> ConfigNode {
            while true {
                let e = try next(&parser)
                switch e.type {
                case YAML_STREAM_END_EVENT:
                    return ConfigNode(.null)
                case YAML_DOCUMENT_START_EVENT:
                    let first = try next(&parser)
                    if first.type == YAML_DOCUMENT_END_EVENT { return ConfigNode(.null) }
                    return try node(from: first, &parser, path: "")
                default:
                    continue
                }
            }
        }

        static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            guard let p else { return nil }
            return String(cString: UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self))
        }

        mutating func node(from event: Event, _ parser: inout yaml_parser_t,
                           path: String) throws(SyntaxError) -> ConfigNode {
            let loc = event.location
            switch event.type {
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.raw.data.alias.anchor) ?? ""
                guard let target = anchors[name] else {
                    throw SyntaxError(issue: ConfigIssue(.error, file: file, location: loc, path: path,
                                                         message: "alias *\(name) names no anchor defined before it"))
                }
                return ConfigNode(target.value, at: loc)
            case YAML_SCALAR_EVENT:
                let s = event.raw.data.scalar
                let text: String
                if let v = s.value {
                    let buffer = UnsafeBufferPointer(start: UnsafeRawPointer(v).assumingMemoryBound(to: UInt8.self),
                                                     count: Int(s.length))
                    text = String(decoding: buffer, as: UTF8.self)
                } else {
                    text = ""
                }
                let quoted = s.style != YAML_PLAIN_SCALAR_STYLE
                let tag = Self.string(s.tag)
                let node: ConfigNode
                if !quoted && tag == nil && ["", "~", "null", "Null", "NULL"].contains(text) {
                    node = ConfigNode(.null, at: loc)
                } else {
                    node = ConfigNode(.scalar(text, quoted: quoted), at: loc)
                }
                if let anchor = Self.string(s.anchor) { anchors[anchor] = node }
                return node
            case YAML_SEQUENCE_START_EVENT:
                let anchor = Self.string(event.raw.data.sequence_start.anchor)
                var items: [ConfigNode] = []
                while true {
                    let e = try next(&parser)
                    if e.type == YAML_SEQUENCE_END_EVENT { break }
                    items.append(try node(from: e, &parser, path: "\(path)[\(items.count)]"))
                }
                let node = ConfigNode(.sequence(items), at: loc)
                if let anchor { anchors[anchor] = node }
                return node
            case YAML_MAPPING_START_EVENT:
                let anchor = Self.string(event.raw.data.mapping_start.anchor)
                var entries: [ConfigEntry] = []
                var indexOf: [String: Int] = [:]
                while true {
                    let k = try next(&parser)
                    if k.type == YAML_MAPPING_END_EVENT { break }
                    let keyNode = try node(from: k, &parser, path: path)
                    let key: String
                    switch keyNode.value {
                    case .scalar(let s, _): key = s
                    case .null: key = ""
                    default:
                        throw SyntaxError(issue: ConfigIssue(.error, file: file, location: keyNode.location, path: path,
                                                             message: "a key must be a plain name, not \(keyNode.kindDescription)"))
                    }
                    let childPath = path.isEmpty ? key : "\(path).\(key)"
                    let v = try next(&parser)
                    let value = try node(from: v, &parser, path: childPath)
                    let entry = ConfigEntry(key: key, keyLocation: keyNode.location, value: value)
                    if let i = indexOf[key] {
                        let firstLine = entries[i].keyLocation.map { "line \($0.line)" } ?? "earlier"
                        issues.append(ConfigIssue(
                            .warning, file: file, location: keyNode.location, path: childPath,
                            message: "given twice (first at \(firstLine)); the last value wins"))
                        entries[i] = entry
                    } else {
                        indexOf[key] = entries.count
                        entries.append(entry)
                    }
                }
                let node = ConfigNode(.mapping(entries), at: loc)
                if let anchor { anchors[anchor] = node }
                return node
            default:
                throw SyntaxError(issue: ConfigIssue(.error, file: file, location: loc, path: path,
                                                     message: "unexpected YAML event"))
            }
        }
    }
}
