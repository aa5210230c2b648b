import CorralCore
import Foundation
import Hummingbird
import Logging

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
