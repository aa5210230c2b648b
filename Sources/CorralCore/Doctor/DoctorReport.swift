/// `corral doctor`'s answer: the findings, their counts, and the text and
/// JSON people and automation read.
public struct DoctorReport: Sendable, Encodable {
    public struct Counts: Sendable, Encodable, Equatable {
        public var ok = 0, warn = 0, fail = 0
    }

    public var hostname: String
    public var config: String?
    public var summary: Counts
    public var findings: [DoctorFinding]

    public init(hostname: String, config: String?, findings: [DoctorFinding]) {
        self.hostname = hostname
        self.config = config
        self.findings = findings
        var c = Counts()
        for f in findings {
            switch f.status {
            case .ok: c.ok += 1
            case .warn: c.warn += 1
            case .fail: c.fail += 1
            }
        }
        summary = c
    }

    /// 0 when nothing FAILs.
    public var exitStatus: Int32 { NodeDoctor.exitStatus(findings) }

    /// For people: the worst first; OK checks say what they saw, the others also why and the fix.
    public var text: String {
        var out = "corral doctor: \(hostname)\(config.map { ", \($0)" } ?? " (no --config: the defaults)"): \(summary.ok) OK, \(summary.warn) WARN, \(summary.fail) FAIL\n"
        let ordered = findings.enumerated().sorted { a, b in
            a.element.status != b.element.status ? a.element.status > b.element.status : a.offset < b.offset
        }.map(\.element)
        for f in ordered {
            out += "\n\(f.status.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)) \(f.check.rawValue)\(f.subject.map { " (\($0))" } ?? "")  \(f.check.title)\n"
            out += "      saw: \(f.saw)\n"
            if f.status != .ok {
                out += "      why: \(f.why)\n"
            }
            if let fix = f.fix, f.status != .ok { out += "      fix: \(fix)\n" }
        }
        return out
    }

    /// The directories Corral writes to under `config`, with what each is
    /// for: the state directory, instance logs, the executor's and the
    /// request log's files. Each path once.
    public static func writtenPaths(config: ExecutorConfig, stateDir: String) -> [(role: String, path: String)] {
        var out: [(String, String)] = [("state directory", stateDir)]
        func dir(_ file: String) -> String {
            guard let slash = file.lastIndex(of: "/") else { return "." }
            return slash == file.startIndex ? "/" : String(file[..<slash])
        }
        for a in config.logging.appenders {
            if case .drove(let d) = a, !d.logPath.isEmpty { out.append(("instance logs", d.logPath)) }
            if case .file(let f) = a, !f.currentLogFilename.isEmpty { out.append(("executor log", dir(f.currentLogFilename))) }
        }
        for a in config.server.requestLog.appenders {
            if case .file(let f) = a, !f.currentLogFilename.isEmpty { out.append(("request log", dir(f.currentLogFilename))) }
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0.1).inserted }
    }
}
