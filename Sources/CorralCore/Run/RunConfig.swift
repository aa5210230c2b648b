import Foundation

/// `corral run`'s site configuration: exorun's `dockerWrapper.toml` as
/// administrators wrote it (`/etc/corral/run.toml` by default). Every key
/// exorun documents is read with its meaning; `rand_backoff_ration` (exorun's
/// spelling) and `rand_backoff_ratio` are one key. docs/run.md.
public struct RunConfig: Sendable, Equatable {
    public enum LogLevel: String, Sendable, CaseIterable {
        case error, warn, info, debug, trace
    }

    /// The image used when `corral run` is given none (`-i`).
    public var containerImage = "docker-base"
    /// When non-empty, the only images that run (references normalised, see ``ImageReference``).
    public var approvedContainerImages: [String] = []
    public var logLevel = LogLevel.info
    /// Names and glob patterns (`*`, `?`) of the caller's variables NOT passed into the container.
    public var envVarFilter: [String] = []
    /// How long failed container starts are retried.
    public var containerStartTimeout: Duration = .seconds(30 * 60)
    /// The randomisation factor r of the start retries' backoff, 0 <= r < 1.
    public var randBackoffRatio = 0.5
    /// Scripts on the host (absolute paths), bound read-only into the
    /// container and run around the job in ``RunHook``'s order.
    public var hooks: [RunHook: String] = [:]
    /// The OCI runtime the engine starts the container with (runc, crun, runsc, ...); nil: the engine's default.
    public var runtime: String?
    /// Corral's own keys, beside exorun's:
    /// `stop_grace_period` (seconds, 0-3600, default 10): after a stop signal, how long the job has before SIGKILL.
    public var stopGracePeriod: Duration = .seconds(10)
    /// `hook_timeout` (seconds, 1-86400, default 300): how long each hook may run.
    public var hookTimeout: Duration = .seconds(300)
    /// `container_hostname`: the container's host name; default: the node's.
    public var containerHostname: String?

    public init() {}

    static let keys = ["container_image", "approved_container_images", "log_level", "env_var_filter",
                       "container_start_timeout", "rand_backoff_ration", "rand_backoff_ratio", "container_startup",
                       "job_startup_root", "job_startup_user", "job_cleanup_user", "job_cleanup_root", "runtime",
                       "stop_grace_period", "hook_timeout", "container_hostname"]

    /// Parses the TOML. Every problem is reported with file, line, key, the
    /// bad value and what is allowed; a config with any error is nil.
    public static func load(text: String, file: String) -> (RunConfig?, [ConfigIssue]) {
        let (node, issues) = TOMLSource.tree(text: text, file: file)
        guard let node else { return (nil, issues) }
        let r = TOMLSource.reader(file: file)
        var c = RunConfig()
        guard let f = r.mapping(node, at: "", known: keys) else { return (nil, TOMLSource.locateTopLevelKeys(r.issues, text: text)) }
        if let n = f["container_image"], let s = r.string(n, at: "container_image", nonEmpty: true) {
            if let why = ImageReference.problem(s) { r.error("container_image", n, value: s, why, allowed: "an image reference: name[:tag][@digest]") }
            else { c.containerImage = s }
        }
        if let n = f["approved_container_images"], let list = r.stringList(n, at: "approved_container_images") {
            for (i, s) in list.enumerated() {
                if let why = ImageReference.problem(s) {
                    r.error("approved_container_images[\(i)]", n, value: s, why, allowed: "image references: name[:tag][@digest]")
                }
            }
            c.approvedContainerImages = list
        }
        if let n = f["log_level"], let s = r.string(n, at: "log_level") {
            if let l = LogLevel(rawValue: s.lowercased()) { c.logLevel = l }
            else { r.error("log_level", n, value: s, "\"\(s)\" is not a log level", allowed: LogLevel.allCases.map(\.rawValue).joined(separator: ", ")) }
        }
        if let n = f["env_var_filter"], let list = r.stringList(n, at: "env_var_filter") {
            for (i, p) in list.enumerated() where !EnvFilter.isPattern(p) {
                r.error("env_var_filter[\(i)]", n, value: p, "\"\(p)\" is not a variable name or pattern",
                        allowed: "names of letters, digits and _, with * and ? as wildcards (e.g. SLURM_*)")
            }
            c.envVarFilter = list
        }
        if let n = f["container_start_timeout"] {
            // exorun's unit: minutes, a whole number; Corral also takes a fraction (0.5 = 30 s).
            if let s = r.text(n, at: "container_start_timeout"), let m = Double(s.trimmingCharacters(in: .whitespaces)), m.isFinite, m >= 0, m <= 24 * 60 {
                c.containerStartTimeout = .milliseconds(Int64((m * 60_000).rounded()))
            } else {
                r.error("container_start_timeout", n, value: r.text(n, at: "container_start_timeout") ?? "", "not a number of minutes",
                        allowed: "minutes from 0 to 1440 (exorun's default: 30)")
            }
        }
        let ratioKeys = ["rand_backoff_ration", "rand_backoff_ratio"].filter { f[$0] != nil }
        if ratioKeys.count == 2 {
            r.error("rand_backoff_ratio", f["rand_backoff_ratio"], "rand_backoff_ration (exorun's spelling) and rand_backoff_ratio are one key: give one",
                    allowed: "one of the two")
        } else if let key = ratioKeys.first, let n = f[key] {
            if let s = r.text(n, at: key), let v = Double(s.trimmingCharacters(in: .whitespaces)), v >= 0, v < 1 {
                c.randBackoffRatio = v
            } else {
                r.error(key, n, value: r.text(n, at: key) ?? "", "not a ratio in range", allowed: "a number x with 0 <= x < 1 (default 0.5)")
            }
        }
        func script(_ key: String) -> String? {
            guard let n = f[key], let s = r.string(n, at: key, nonEmpty: true) else { return nil }
            guard s.hasPrefix("/") else {
                r.error(key, n, value: s, "a script must be named by its absolute path on the host", allowed: "an absolute path, e.g. /etc/corral/run/\(key).sh")
                return nil
            }
            return s
        }
        for hook in RunHook.allCases {
            if let path = script(hook.rawValue) { c.hooks[hook] = path }
        }
        func seconds(_ key: String, _ range: ClosedRange<Double>, default d: Int) -> Duration? {
            guard let n = f[key] else { return nil }
            let s = r.text(n, at: key) ?? ""
            guard let v = Double(s.trimmingCharacters(in: .whitespaces)), v.isFinite, range.contains(v) else {
                r.error(key, n, value: s, "not a number of seconds in range",
                        allowed: "seconds from \(Int(range.lowerBound)) to \(Int(range.upperBound)) (default \(d))")
                return nil
            }
            return .milliseconds(Int64((v * 1000).rounded()))
        }
        if let g = seconds("stop_grace_period", 0...3600, default: 10) { c.stopGracePeriod = g }
        if let t = seconds("hook_timeout", 1...86_400, default: 300) { c.hookTimeout = t }
        if let n = f["container_hostname"], let s = r.string(n, at: "container_hostname", nonEmpty: true) {
            let ok = s.count <= 64 && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
                !label.isEmpty && !label.hasPrefix("-") && !label.hasSuffix("-") && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
            if ok { c.containerHostname = s }
            else { r.error("container_hostname", n, value: s, "\"\(s)\" is not a host name", allowed: "up to 64 characters: letters, digits and -, in dot-separated labels") }
        }
        if let n = f["runtime"], let s = r.string(n, at: "runtime", nonEmpty: true) {
            if s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) { c.runtime = s }
            else { r.error("runtime", n, value: s, "\"\(s)\" is not a runtime name", allowed: "an OCI runtime the engine knows: runc, crun, runsc, ...") }
        }
        return (r.hasErrors ? nil : c, TOMLSource.locateTopLevelKeys(r.issues, text: text))
    }

    public static func load(path: String) -> (RunConfig?, [ConfigIssue]) {
        TOMLSource.load(path: path, load(text:file:))
    }

    /// Whether `image` may run: any image when the allow-list is empty,
    /// else only one whose normalised reference is on it.
    public func approves(_ image: String) -> Bool {
        guard !approvedContainerImages.isEmpty else { return true }
        let want = ImageReference.normalized(image)
        return approvedContainerImages.contains { ImageReference.normalized($0) == want }
    }
}
