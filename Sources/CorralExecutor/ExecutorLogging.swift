import CorralCore
import Foundation
import Hummingbird
import Logging

/// Renders Logback layout patterns, the conversion words Dropwizard configs use:
/// `%d`/`%date{pattern}` (SimpleDateFormat, default `yyyy-MM-dd HH:mm:ss,SSS`),
/// `%p`/`%le`/`%level`, `%c`/`%lo`/`%logger{N}` (`{0}`: the last segment),
/// `%m`/`%msg`/`%message`, `%n`, `%t`/`%thread`, `%X{key}` (log metadata),
/// `%r` (ms since start), `%%`; width and alignment (`%-5level`, `%30logger`,
/// `%.10msg`) and groups `%(...)` / `%highlight(...)`. Other words stay as written.
public struct LogPattern: Sendable {
    indirect enum Part: Sendable {
        case literal(String)
        case word(String, arg: String?, min: Int, max: Int?, left: Bool)
        case group([Part], min: Int, left: Bool)
    }

    let parts: [Part]
    let timeZone: TimeZone
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
            minWidth = Int(digits) ?? 0
            i = s.index(i, offsetBy: digits.count)
            if i < s.endIndex, s[i] == "." {
                s.formIndex(after: &i)
                let d = s[i...].prefix { $0.isNumber }
                maxWidth = Int(d)
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

/// Where a configured appender writes.
final class AppenderOutput: @unchecked Sendable {
    // @unchecked: all state is guarded by `lock`.
    private let lock = NSLock()
    let threshold: Logger.Level?
    let pattern: LogPattern
    private let console: FileHandle?
    private let file: FileAppender?
    private var fd: Int32 = -1
    private var size: UInt64 = 0

    init(threshold: LogLevel, pattern: LogPattern, console: FileHandle?, file: FileAppender?) {
        self.threshold = ExecutorLogging.level(threshold)
        self.pattern = pattern
        self.console = console
        self.file = file
        if file != nil { reopen() }
    }

    private func reopen() {
        guard let file else { return }
        let path = file.currentLogFilename
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        var st = stat()
        size = fd >= 0 && fstat(fd, &st) == 0 ? UInt64(st.st_size) : 0
    }

    func write(_ line: String) {
        let bytes = Array(line.utf8)
        lock.lock()
        defer { lock.unlock() }
        if let console { console.write(Data(bytes)) }
        guard let file, fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress!, bytes.count) }
        size += UInt64(bytes.count)
        if file.rotation.archive, let max = file.rotation.maxFileSize?.bytes, size >= max,
           let pattern = file.archivedLogFilenamePattern {
            close(fd)
            let f = DateFormatter()
            f.dateFormat = "yyyy-MM-dd"
            f.timeZone = self.pattern.timeZone
            // Without %i every archive of a day would get the same name: add one.
            let indexed = pattern.contains("%i") ? pattern
                : pattern.hasSuffix(".gz") ? String(pattern.dropLast(3)) + ".%i.gz" : pattern + ".%i"
            let dated = indexed.replacingOccurrences(of: "%d", with: f.string(from: Date()))
            var index = 0
            func name(_ i: Int) -> String { dated.replacingOccurrences(of: "%i", with: String(i)) }
            func taken(_ n: String) -> Bool {
                let plain = n.hasSuffix(".gz") ? String(n.dropLast(3)) : n
                return FileManager.default.fileExists(atPath: plain) || FileManager.default.fileExists(atPath: plain + ".gz")
            }
            while taken(name(index)) { index += 1 }
            let archived = name(index)
            if archived.hasSuffix(".gz") {
                // As Logback does for a pattern ending in .gz: archive, then compress
                // (in the background; the writer only pays for the rename).
                let plain = String(archived.dropLast(3))
                rename(file.currentLogFilename, plain)
                let count = file.rotation.archivedFileCount
                LogArchiver.shared.compress(plain, to: archived) { Self.prune(dated, keep: count) }
            } else {
                rename(file.currentLogFilename, archived)
                Self.prune(dated, keep: file.rotation.archivedFileCount)
            }
            reopen()
        }
    }

    /// Keeps the newest `keep` archives of the dated pattern (0: all).
    static func prune(_ dated: String, keep: Int) {
        let prefix = (dated.components(separatedBy: "%i")[0] as NSString).lastPathComponent
        LogArchiver.shared.prune(in: (dated as NSString).deletingLastPathComponent, prefix: prefix, keep: keep)
    }
}

/// The executor's own log, as `logging` configures it: the root level,
/// per-logger levels, and console and file appenders each with its threshold,
/// time zone and Logback pattern. (`drove` appenders are the instances' logs.)
public enum ExecutorLogging {
    static func level(_ l: LogLevel) -> Logger.Level? {
        switch l {
        case .OFF: nil
        case .ERROR: .error
        case .WARN: .warning
        case .INFO: .info
        case .DEBUG: .debug
        case .TRACE, .ALL: .trace
        }
    }

    static func outputs(_ appenders: [AppenderConfig]) -> [AppenderOutput] {
        appenders.compactMap { a -> AppenderOutput? in
            let c = a.common
            let pattern = LogPattern(c.logFormat ?? LogPattern.defaultPattern + "", timeZone: c.timeZone.timeZone)
            switch a {
            case .console(let console):
                return AppenderOutput(threshold: c.threshold, pattern: pattern,
                                      console: console.target == .stderr ? .standardError : .standardOutput, file: nil)
            case .file(let file):
                return AppenderOutput(threshold: c.threshold, pattern: pattern, console: nil, file: file)
            case .drove:
                return nil
            }
        }
    }

    /// A swift-log handler factory for `config.logging`.
    public static func factory(_ config: LoggingConfig) -> @Sendable (String) -> any LogHandler {
        let outs = outputs(config.appenders)
        return { label in
            var root = config.level
            // The longest configured logger name that prefixes the label decides.
            if let match = config.loggers.keys.filter({ label == $0 || label.hasPrefix($0 + ".") }).max(by: { $0.count < $1.count }) {
                root = config.loggers[match]!
            }
            return Handler(label: label, outputs: outs, minimum: level(root))
        }
    }

    struct Handler: LogHandler {
        let label: String
        let outputs: [AppenderOutput]
        var logLevel: Logger.Level
        var metadata: Logger.Metadata = [:]
        let off: Bool

        init(label: String, outputs: [AppenderOutput], minimum: Logger.Level?) {
            self.label = label
            self.outputs = outputs
            logLevel = minimum ?? .critical
            off = minimum == nil
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            guard !off else { return }
            var all = metadata
            if let m = event.metadata { all.merge(m) { $1 } }
            let e = LogPattern.Event(date: Date(), level: event.level, label: label, message: "\(event.message)", metadata: all)
            for o in outputs {
                guard let t = o.threshold, event.level >= t else { continue }
                var line = o.pattern.render(e)
                if !line.hasSuffix("\n") { line += "\n" }
                o.write(line)
            }
        }
    }
}

/// The request log: one line per API request to `server.requestLog.appenders`,
/// in the combined format Dropwizard writes:
/// `- - - [22/Nov/2026:10:00:00 +0000] "GET /apis/v1/ping HTTP/1.1" 200 15 3`
/// (the last field is milliseconds). The Cluster-Authorization header is never logged.
struct RequestLog<Context: RequestContext>: RouterMiddleware {
    let outputs: [AppenderOutput]

    /// The client's address as the combined format's first field (`-` when unknown).
    static func peer(_ context: Context) -> String {
        guard let address = (context as? any RemoteAddressRequestContext)?.remoteAddress else { return "-" }
        switch address {
        case .v4, .v6: return address.ipAddress ?? "-"
        case .unixDomainSocket: return "unix"
        }
    }

    init(appenders: [AppenderConfig]) {
        outputs = ExecutorLogging.outputs(appenders)
    }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let ms = (ContinuousClock.now - start).components
        let millis = ms.seconds * 1000 + ms.attoseconds / 1_000_000_000_000_000
        let remote = Self.peer(context)
        let length = response.body.contentLength.map(String.init) ?? "-"
        for o in outputs {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = o.pattern.timeZone
            f.dateFormat = "dd/MMM/yyyy:HH:mm:ss Z"
            o.write("\(remote) - - [\(f.string(from: Date()))] \"\(request.method.rawValue) \(request.uri.path) HTTP/1.1\" "
                    + "\(response.status.code) \(length) \(millis)\n")
        }
        return response
    }
}
