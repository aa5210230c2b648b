import Foundation
import Logging

/// Renders Logback layout patterns, the conversion words Dropwizard configs use:
/// `%d`/`%date{pattern}` (SimpleDateFormat, default `yyyy-MM-dd HH:mm:ss,SSS`),
/// `%p`/`%le`/`%level`, `%c`/`%lo`/`%logger{N}` (`{0}`: the last segment),
/// `%m`/`%msg`/`%message`, `%n`, `%t`/`%thread`, `%X{key}` (log metadata),
/// `%r` (ms since start), `%%`; width and alignment (`%-5level`, `%30logger`,
/// `%.10msg`) and groups `%(...)` / `%highlight(...)`. Other words stay as written.
public struct LogPattern: Sendable {
    /// The largest width a conversion can ask for (`%5000m` pads to 4096).
    public static let widthLimit = 4096

    indirect enum Part: Sendable {
        case literal(String)
        case word(String, arg: String?, min: Int, max: Int?, left: Bool)
        case group([Part], min: Int, left: Bool)
    }

    let parts: [Part]
    public let timeZone: TimeZone
    static let started = Date()

    public static let defaultPattern = "%-5level [%date] %logger{0}: %message%n"

    public init(_ pattern: String, timeZone: TimeZone) {
        var i = pattern.startIndex
        parts = Self.parse(pattern, &i, inGroup: false)
        self.timeZone = timeZone
    }

    static func parse(_ s: String, _ i: inout String.Index, inGroup: Bool) -> [Part] {
        var out: [Part] = []
        var literal = ""
        func flush() { if !literal.isEmpty { out.append(.literal(literal)); literal = "" } }
        while i < s.endIndex {
            let c = s[i]
            if inGroup && c == ")" { s.formIndex(after: &i); break }
            guard c == "%" else { literal.append(c); s.formIndex(after: &i); continue }
            s.formIndex(after: &i)
            guard i < s.endIndex else { literal.append("%"); break }
            if s[i] == "%" { literal.append("%"); s.formIndex(after: &i); continue }
            var left = false, minWidth = 0, maxWidth: Int? = nil
            if s[i] == "-" { left = true; s.formIndex(after: &i) }
            let digits = s[i...].prefix { $0.isNumber }
            // Widths are capped: %333333333m would pad every line to 333 MB (found by fuzzing).
            minWidth = min(Int(digits) ?? 0, Self.widthLimit)
            i = s.index(i, offsetBy: digits.count)
            if i < s.endIndex, s[i] == "." {
                s.formIndex(after: &i)
                let d = s[i...].prefix { $0.isNumber }
                maxWidth = Int(d).map { min($0, Self.widthLimit) }
                i = s.index(i, offsetBy: d.count)
            }
            let word = String(s[i...].prefix { $0.isLetter })
            i = s.index(i, offsetBy: word.count)
            if i < s.endIndex, s[i] == "(" {
                s.formIndex(after: &i)
                flush()
                out.append(.group(parse(s, &i, inGroup: true), min: minWidth, left: left))
                continue
            }
            var arg: String? = nil
            if i < s.endIndex, s[i] == "{", let close = s[i...].firstIndex(of: "}") {
                arg = String(s[s.index(after: i)..<close])
                i = s.index(after: close)
            }
            flush()
            out.append(.word(word, arg: arg, min: minWidth, max: maxWidth, left: left))
        }
        flush()
        return out
    }

    public struct Event {
        public var date: Date
        public var level: Logger.Level
        public var label: String
        public var message: String
        public var metadata: Logger.Metadata

        public init(date: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata = [:]) {
            self.date = date
            self.level = level
            self.label = label
            self.message = message
            self.metadata = metadata
        }
    }

    public func render(_ e: Event) -> String { render(parts, e) }

    func render(_ parts: [Part], _ e: Event) -> String {
        var out = ""
        for p in parts {
            switch p {
            case .literal(let s): out += s
            case .group(let inner, let min, let left): out += pad(render(inner, e), min: min, max: nil, left: left)
            case .word(let w, let arg, let min, let max, let left):
                out += pad(value(w, arg, e), min: min, max: max, left: left)
            }
        }
        return out
    }

    func pad(_ s: String, min: Int, max: Int?, left: Bool) -> String {
        var v = s
        if let max, v.count > max { v = String(v.suffix(max)) }
        guard v.count < min else { return v }
        let fill = String(repeating: " ", count: min - v.count)
        return left ? v + fill : fill + v
    }

    static func logbackLevel(_ l: Logger.Level) -> String {
        switch l {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARN"
        case .error, .critical: "ERROR"
        }
    }

    func value(_ w: String, _ arg: String?, _ e: Event) -> String {
        switch w {
        case "d", "date":
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = timeZone
            f.dateFormat = arg.map { $0 == "ISO8601" ? "yyyy-MM-dd HH:mm:ss,SSS" : $0 } ?? "yyyy-MM-dd HH:mm:ss,SSS"
            return f.string(from: e.date)
        case "p", "le", "level": return Self.logbackLevel(e.level)
        case "c", "lo", "logger":
            if let n = arg.flatMap({ Int($0) }), n == 0 { return String(e.label.split(separator: ".").last ?? "") }
            return e.label
        case "m", "msg", "message": return e.message
        case "n": return "\n"
        case "t", "thread": return Thread.isMainThread ? "main" : "worker"
        case "X", "mdc":
            guard let key = arg?.split(separator: ":").first.map(String.init) else {
                return e.metadata.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ", ")
            }
            return e.metadata[key].map { "\($0)" } ?? ""
        case "r", "relative": return String(Int(e.date.timeIntervalSince(Self.started) * 1000))
        case "ex", "exception", "throwable", "xEx", "nopex": return ""
        default: return "%" + w + (arg.map { "{\($0)}" } ?? "")
        }
    }
}
