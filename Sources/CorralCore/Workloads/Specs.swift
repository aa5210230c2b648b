import Foundation

/// A readiness or health check.
public struct CheckSpec: Sendable, Hashable, Codable {
    public enum Mode: Sendable, Hashable, Codable {
        case http(HTTPCheck)
        case cmd(command: String)
    }

    public struct HTTPCheck: Sendable, Hashable, Codable {
        public enum Verb: String, Sendable, Codable, CaseIterable { case GET, POST, PUT, HEAD }
        public var portName: String
        public var path: String
        public var verb: Verb
        public var successCodes: Set<Int>
        public var payload: String?
        public var connectionTimeout: ConfigDuration
        public var https: Bool
    }

    public var mode: Mode
    public var timeout: ConfigDuration
    public var interval: ConfigDuration
    /// Consecutive failures before the check is failed (1-100).
    public var attempts: Int
    public var initialDelay: ConfigDuration
}

/// A pre-shutdown hook (HTTP or CMD), bounded by its timeout.
public struct HookSpec: Sendable, Hashable, Codable {
    public var mode: CheckSpec.Mode
    public var timeout: ConfigDuration
}

public struct PortSpec: Sendable, Hashable, Codable {
    public enum PortType: String, Sendable, Codable, CaseIterable { case HTTP, HTTPS, TCP, UDP }
    public var name: String
    public var port: Int
    public var type: PortType

    public init(name: String, port: Int, type: PortType) {
        self.name = name
        self.port = port
        self.type = type
    }
}

/// Resources a spec asks for.
public struct ResourceRequest: Sendable, Hashable, Codable {
    public var cpus: Int
    public var memoryBytes: UInt64
    public var gpus: Int

    public init(cpus: Int, memoryBytes: UInt64, gpus: Int = 0) {
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.gpus = gpus
    }

    public var allocationRequest: AllocationRequest {
        AllocationRequest(cpus: cpus, memoryBytes: memoryBytes, gpus: gpus)
    }
}

/// An application instance spec (POST /apis/v1/instances), Drove's vocabulary.
public struct InstanceSpec: Sendable, Hashable, Codable {
    public var appId: String
    public var appName: String
    public var instanceId: String?
    public var executable: Executable
    public var resources: ResourceRequest
    public var exposedPorts: [PortSpec]
    public var volumes: [VolumeMount]
    public var configs: [ConfigSpec]
    public var env: [String: String]
    public var args: [String]
    public var readiness: CheckSpec?
    public var healthcheck: CheckSpec?
    public var preShutdownHooks: [HookSpec]
    public var waitBeforeKill: ConfigDuration
    public var user: UserSpec?
    public var tags: [String]
    /// Drove's host-level instance: each exposed port is bound on the host
    /// at the same number (host port = container port) instead of a free
    /// port of the executor's range. nil (absent) is false.
    public var hostLevelInstance: Bool? = nil
}

/// A task spec (POST /apis/v1/tasks).
public struct TaskSpec: Sendable, Hashable, Codable {
    public var sourceAppName: String
    public var taskId: String
    public var executable: Executable
    public var resources: ResourceRequest
    public var volumes: [VolumeMount]
    public var configs: [ConfigSpec]
    public var env: [String: String]
    public var args: [String]
    public var user: UserSpec?
    public var tags: [String]
    /// Set for a `corral run` job (never from a spec's JSON: only the
    /// executor's run socket makes one).
    public var job: RunJob? = nil

    public init(sourceAppName: String, taskId: String, executable: Executable, resources: ResourceRequest, volumes: [VolumeMount] = [],
                configs: [ConfigSpec] = [], env: [String: String] = [:], args: [String] = [], user: UserSpec? = nil,
                tags: [String] = [], job: RunJob? = nil) {
        self.sourceAppName = sourceAppName
        self.taskId = taskId
        self.executable = executable
        self.resources = resources
        self.volumes = volumes
        self.configs = configs
        self.env = env
        self.args = args
        self.user = user
        self.tags = tags
        self.job = job
    }
}

/// A spec that failed validation: every problem, with its field path.
public struct SpecError: CorralError {
    public var issues: [ConfigIssue]
    public var codeName: String { "invalid_spec" }
    public var message: String {
        "invalid spec: " + issues.filter { $0.severity == .error }.map { i in
            (i.path.isEmpty ? "" : "\(i.path): ") + i.message + (i.allowed.map { " (allowed: \($0))" } ?? "")
        }.joined(separator: "; ")
    }
    public var context: [String: String] { ["errors": String(issues.filter { $0.severity == .error }.count)] }
}

extension InstanceSpec {
    static let keys = ["appId", "appName", "instanceId", "executable", "resources", "exposedPorts", "volumes", "configs", "env",
                       "args", "readiness", "healthcheck", "preShutdown", "user", "tags", "version", "name", "hostLevelInstance"]
    static let ignored = ["placementPolicy", "devices", "logging"]

    /// Parses and validates a JSON body; `environment` fills `env` values left empty.
    public static func parse(json: Data, environment: [String: String] = [:]) throws(SpecError) -> InstanceSpec {
        let (root, parseIssue) = JSONTree.parse(json, file: "instance spec")
        if let parseIssue { throw SpecError(issues: [parseIssue]) }
        let r = ConfigReader(file: "instance spec", environment: [:])
        r.stringsAreTyped = true
        guard let f = r.mapping(root!, at: "", known: keys, ignored: ignored) else { throw SpecError(issues: r.issues) }
        let appId = SpecFields.identifier(f, "appId", r, required: true) ?? ""
        let appName = SpecFields.identifier(f, "appName", r, required: false) ?? appId
        let instanceId = SpecFields.identifier(f, "instanceId", r, required: false)
        let executable = SpecFields.executable(f, r)
        let resources = SpecFields.resources(f, r)
        var ports: [PortSpec] = []
        if let n = f["exposedPorts"], let items = r.sequence(n, at: "exposedPorts") {
            var names = Set<String>()
            for (i, item) in items.enumerated() {
                let p = "exposedPorts[\(i)]"
                guard let pf = r.mapping(item, at: p, known: ["name", "port", "type"]) else { continue }
                guard let name = pf["name"].flatMap({ r.string($0, at: pf.path("name"), nonEmpty: true) }) else {
                    if pf["name"] == nil { r.error(pf.path("name"), item, "a port needs a name", allowed: "e.g. main") }
                    continue
                }
                if !names.insert(name).inserted { r.error(pf.path("name"), pf["name"], value: name, "port name \(name) is used twice") }
                guard let portNode = pf["port"], let port = r.int(portNode, at: pf.path("port"), in: 1...65_535) else {
                    if pf["port"] == nil { r.error(pf.path("port"), item, "a port needs a number", allowed: "1 to 65535") }
                    continue
                }
                let type = pf["type"].flatMap { r.choice($0, at: pf.path("type"), as: PortSpec.PortType.self) } ?? .HTTP
                ports.append(PortSpec(name: name, port: port, type: type))
            }
        }
        let volumes = SpecFields.volumes(f, r)
        let configs = SpecFields.configs(f, r)
        let env = SpecFields.env(f, r, environment: environment)
        let args = f["args"].flatMap { r.stringList($0, at: "args") } ?? []
        let portNames = Set(ports.map(\.name))
        let readiness = f["readiness"].flatMap { SpecFields.check($0, "readiness", r, ports: portNames) }
        let health = f["healthcheck"].flatMap { SpecFields.check($0, "healthcheck", r, ports: portNames) }
        var hooks: [HookSpec] = []
        var waitBeforeKill = ConfigDuration.seconds(0)
        if let n = f["preShutdown"], let pf = r.mapping(n, at: "preShutdown", known: ["hooks", "waitBeforeKill"]) {
            if let hn = pf["hooks"], let items = r.sequence(hn, at: "preShutdown.hooks") {
                for (i, item) in items.enumerated() {
                    let p = "preShutdown.hooks[\(i)]"
                    if let mode = SpecFields.mode(item, p, r, ports: portNames, extraKeys: ["timeout"]) {
                        var timeout = ConfigDuration.seconds(10)
                        if case .mapping(let entries) = item.value, let t = entries.first(where: { $0.key == "timeout" }) {
                            timeout = r.duration(t.value, at: "\(p).timeout", in: .milliseconds(1)...ConfigDuration.seconds(600)) ?? timeout
                        }
                        hooks.append(HookSpec(mode: mode, timeout: timeout))
                    }
                }
            }
            if let w = pf["waitBeforeKill"] {
                waitBeforeKill = r.duration(w, at: "preShutdown.waitBeforeKill", in: ConfigDuration(nanoseconds: 0)...ConfigDuration.seconds(600)) ?? waitBeforeKill
            }
        }
        let user = SpecFields.user(f, r)
        let tags = f["tags"].flatMap { r.stringList($0, at: "tags") } ?? []
        let hostLevel = f["hostLevelInstance"].flatMap { r.bool($0, at: "hostLevelInstance") } ?? false
        guard !r.hasErrors, let executable, let resources else { throw SpecError(issues: r.issues) }
        return InstanceSpec(appId: appId, appName: appName, instanceId: instanceId, executable: executable,
                            resources: resources, exposedPorts: ports, volumes: volumes, configs: configs, env: env, args: args,
                            readiness: readiness, healthcheck: health, preShutdownHooks: hooks,
                            waitBeforeKill: waitBeforeKill, user: user, tags: tags, hostLevelInstance: hostLevel ? true : nil)
    }
}

extension TaskSpec {
    static let keys = ["sourceAppName", "taskId", "executable", "resources", "volumes", "configs", "env", "args", "user", "tags"]

    public static func parse(json: Data, environment: [String: String] = [:]) throws(SpecError) -> TaskSpec {
        let (root, parseIssue) = JSONTree.parse(json, file: "task spec")
        if let parseIssue { throw SpecError(issues: [parseIssue]) }
        let r = ConfigReader(file: "task spec", environment: [:])
        r.stringsAreTyped = true
        guard let f = r.mapping(root!, at: "", known: keys, ignored: ["placementPolicy", "devices"]) else {
            throw SpecError(issues: r.issues)
        }
        let source = SpecFields.identifier(f, "sourceAppName", r, required: true) ?? ""
        let taskId = SpecFields.identifier(f, "taskId", r, required: true) ?? ""
        let executable = SpecFields.executable(f, r)
        let resources = SpecFields.resources(f, r)
        let volumes = SpecFields.volumes(f, r)
        let configs = SpecFields.configs(f, r)
        let env = SpecFields.env(f, r, environment: environment)
        let args = f["args"].flatMap { r.stringList($0, at: "args") } ?? []
        let user = SpecFields.user(f, r)
        let tags = f["tags"].flatMap { r.stringList($0, at: "tags") } ?? []
        guard !r.hasErrors, let executable, let resources else { throw SpecError(issues: r.issues) }
        return TaskSpec(sourceAppName: source, taskId: taskId, executable: executable, resources: resources,
                        volumes: volumes, configs: configs, env: env, args: args, user: user, tags: tags)
    }
}

/// Field readers shared by the spec types.
enum SpecFields {
    static let idAllowed = "letters, digits, '-', '_' and '.', 1 to 128 characters"

    static func identifier(_ f: Fields, _ key: String, _ r: ConfigReader, required: Bool) -> String? {
        guard let n = f[key] else {
            if required { r.error(key, f.node, "\(key) is required", allowed: idAllowed) }
            return nil
        }
        guard let s = r.string(n, at: key) else { return nil }
        let ok = !s.isEmpty && s.count <= 128 && s != "." && s != ".."
            && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
        if !ok { r.error(key, n, value: s, "\"\(s)\" is not a valid \(key)", allowed: idAllowed); return nil }
        return s
    }

    enum ExecutableType: String, CaseIterable { case DOCKER, PROCESS }

    static func executable(_ f: Fields, _ r: ConfigReader) -> Executable? {
        guard let n = f["executable"] else {
            r.error("executable", f.node, "executable is required",
                    allowed: "{\"type\": \"DOCKER\", \"url\": IMAGE} or {\"type\": \"PROCESS\", \"command\": [...]}")
            return nil
        }
        guard case .mapping(let entries) = n.value, let typeEntry = entries.first(where: { $0.key == "type" }) else {
            r.error("executable.type", n, "executable needs a type", allowed: "DOCKER, PROCESS")
            return nil
        }
        guard let type = r.choice(typeEntry.value, at: "executable.type", as: ExecutableType.self) else { return nil }
        switch type {
        case .DOCKER:
            guard let e = r.mapping(n, at: "executable", known: ["type", "url", "pullPolicy", "dockerPullTimeout"]) else { return nil }
            guard let url = e["url"].flatMap({ r.string($0, at: "executable.url", nonEmpty: true) }) else {
                if e["url"] == nil { r.error("executable.url", n, "a DOCKER executable needs url (the image)", allowed: "e.g. localhost/app:1") }
                return nil
            }
            let policy = e["pullPolicy"].flatMap { r.choice($0, at: "executable.pullPolicy", as: Executable.PullPolicy.self) }
                ?? .IF_NOT_PRESENT
            if let t = e["dockerPullTimeout"] { _ = r.duration(t, at: "executable.dockerPullTimeout") }
            return .docker(image: url, pullPolicy: policy)
        case .PROCESS:
            guard let e = r.mapping(n, at: "executable", known: ["type", "command", "workingDir"]) else { return nil }
            guard let c = e["command"], let command = r.stringList(c, at: "executable.command"), !command.isEmpty,
                  !command[0].isEmpty else {
                r.error("executable.command", e["command"] ?? n, "a PROCESS executable needs a non-empty command",
                        allowed: "[\"/usr/bin/python3\", \"-m\", \"http.server\"]")
                return nil
            }
            let wd = e["workingDir"].flatMap { r.string($0, at: "executable.workingDir", nonEmpty: true) }
            if let wd, !wd.hasPrefix("/") {
                r.error("executable.workingDir", e["workingDir"], value: wd, "workingDir must be an absolute path")
            }
            return .process(command: command, workingDir: wd)
        }
    }

    enum ResourceType: String, CaseIterable { case CPU, MEMORY, GPU }

    static func resources(_ f: Fields, _ r: ConfigReader) -> ResourceRequest? {
        guard let n = f["resources"], let items = r.sequence(n, at: "resources") else {
            if f["resources"] == nil {
                r.error("resources", f.node, "resources are required",
                        allowed: "[{\"type\": \"CPU\", \"count\": N}, {\"type\": \"MEMORY\", \"sizeInMB\": M}]")
            }
            return nil
        }
        var cpus: Int?, memory: UInt64?, gpus = 0
        for (i, item) in items.enumerated() {
            let p = "resources[\(i)]"
            guard case .mapping(let entries) = item.value, let t = entries.first(where: { $0.key == "type" }) else {
                r.error("\(p).type", item, "each resource needs a type", allowed: "CPU, MEMORY, GPU")
                continue
            }
            guard let type = r.choice(t.value, at: "\(p).type", as: ResourceType.self) else { continue }
            switch type {
            case .CPU, .GPU:
                guard let rf = r.mapping(item, at: p, known: ["type", "count"]) else { continue }
                guard let c = rf["count"], let v = r.int(c, at: "\(p).count", in: type == .CPU ? 1...4096 : 0...64) else {
                    if rf["count"] == nil { r.error("\(p).count", item, "\(type.rawValue) needs a count", allowed: "a whole number") }
                    continue
                }
                if type == .CPU {
                    if cpus != nil { r.error(p, item, "CPU is given twice") }
                    cpus = v
                } else {
                    gpus = v
                }
            case .MEMORY:
                guard let rf = r.mapping(item, at: p, known: ["type", "sizeInMB"]) else { continue }
                guard let s = rf["sizeInMB"], let v = r.int(s, at: "\(p).sizeInMB", in: 1...(1 << 30)) else {
                    if rf["sizeInMB"] == nil { r.error("\(p).sizeInMB", item, "MEMORY needs sizeInMB", allowed: "a whole number of MiB") }
                    continue
                }
                if memory != nil { r.error(p, item, "MEMORY is given twice") }
                memory = UInt64(v) << 20
            }
        }
        if cpus == nil { r.error("resources", n, "no CPU resource", allowed: "{\"type\": \"CPU\", \"count\": N} with N >= 1 (whole cores)") }
        if memory == nil { r.error("resources", n, "no MEMORY resource", allowed: "{\"type\": \"MEMORY\", \"sizeInMB\": M}") }
        guard let cpus, let memory else { return nil }
        return ResourceRequest(cpus: cpus, memoryBytes: memory, gpus: gpus)
    }

    static func volumes(_ f: Fields, _ r: ConfigReader) -> [VolumeMount] {
        guard let n = f["volumes"], let items = r.sequence(n, at: "volumes") else { return [] }
        var out: [VolumeMount] = []
        for (i, item) in items.enumerated() {
            let p = "volumes[\(i)]"
            guard let v = r.mapping(item, at: p, known: ["pathInContainer", "pathOnHost", "mode"]) else { continue }
            let inside = v["pathInContainer"].flatMap { r.string($0, at: "\(p).pathInContainer", nonEmpty: true) }
            let host = v["pathOnHost"].flatMap { r.string($0, at: "\(p).pathOnHost", nonEmpty: true) }
            let mode = v["mode"].flatMap { r.choice($0, at: "\(p).mode", as: VolumeMount.Mode.self) } ?? .READ_ONLY
            for (key, value) in [("pathInContainer", inside), ("pathOnHost", host)] {
                if value == nil && v[key] == nil { r.error("\(p).\(key)", item, "\(key) is required", allowed: "an absolute path") }
                if let value, !value.hasPrefix("/") { r.error("\(p).\(key)", v[key], value: value, "must be an absolute path") }
            }
            if let inside, let host, inside.hasPrefix("/"), host.hasPrefix("/") {
                out.append(VolumeMount(pathInContainer: inside, pathOnHost: host, mode: mode))
            }
        }
        return out
    }

    /// `configs`: Drove's config files. Every entry is checked (paths, base64,
    /// sizes); the kinds fetched over HTTP are refused by name.
    static func configs(_ f: Fields, _ r: ConfigReader) -> [ConfigSpec] {
        guard let n = f["configs"], let items = r.sequence(n, at: "configs") else { return [] }
        var out: [ConfigSpec] = [], seen = Set<String>(), total = 0
        let allowedKinds = ConfigSpec.Kind.supported.map(\.rawValue).joined(separator: ", ")
        for (i, item) in items.enumerated() {
            let p = "configs[\(i)]"
            guard let c = r.mapping(item, at: p, known: ["type", "localFilename", "data", "filePathOnHost", "http"]) else { continue }
            guard let typeNode = c["type"] else {
                r.error("\(p).type", item, "a config needs a type", allowed: allowedKinds)
                continue
            }
            guard let kind = r.choice(typeNode, at: "\(p).type", as: ConfigSpec.Kind.self) else { continue }
            guard ConfigSpec.Kind.supported.contains(kind) else {
                r.error("\(p).type", typeNode, value: kind.rawValue, "\(kind.rawValue) configs are not fetched by Corral; put the file's bytes in an INLINE config",
                        allowed: allowedKinds)
                continue
            }
            var path: String?
            if let ln = c["localFilename"], let name = r.string(ln, at: "\(p).localFilename", nonEmpty: true) {
                if let problem = Self.pathProblem(name) {
                    r.error("\(p).localFilename", ln, value: name, problem, allowed: "an absolute file path such as /etc/app/settings.conf")
                } else if !seen.insert(name).inserted {
                    r.error("\(p).localFilename", ln, value: name, "\(name) is written by an earlier config too")
                } else {
                    path = name
                }
            } else if c["localFilename"] == nil {
                r.error("\(p).localFilename", item, "a config needs the path it is written to", allowed: "an absolute file path such as /etc/app/settings.conf")
            }
            var source: ConfigSpec.Source?
            switch kind {
            case .INLINE:
                guard let dn = c["data"] else {
                    r.error("\(p).data", item, "an INLINE config needs its data", allowed: "the file's bytes, base64-encoded")
                    break
                }
                // The data may be secret: problems never quote it.
                guard let b64 = r.text(dn, at: "\(p).data", secret: true) else { break }
                guard let bytes = Data(base64Encoded: b64) else {
                    r.error("\(p).data", dn, "is not base64 (the value is not shown)", allowed: "the file's bytes, base64-encoded")
                    break
                }
                total += bytes.count
                if bytes.count > ConfigSpec.maxInlineBytes {
                    r.error("\(p).data", dn, "holds \(bytes.count) bytes, more than one config may", allowed: "at most \(ConfigSpec.maxInlineBytes) bytes")
                    break
                }
                source = .inline(base64: b64)
            default:
                guard let hn = c["filePathOnHost"], let host = r.string(hn, at: "\(p).filePathOnHost", nonEmpty: true) else {
                    if c["filePathOnHost"] == nil { r.error("\(p).filePathOnHost", item, "an EXECUTOR_LOCAL_FILE config needs the file to read", allowed: "an absolute path on the executor") }
                    break
                }
                guard host.hasPrefix("/") else {
                    r.error("\(p).filePathOnHost", hn, value: host, "must be an absolute path", allowed: "an absolute path on the executor")
                    break
                }
                source = .hostFile(host)
            }
            if let path, let source { out.append(ConfigSpec(localFilename: path, source: source)) }
        }
        if total > ConfigSpec.maxInlineTotalBytes {
            r.error("configs", n, "INLINE configs hold \(total) bytes in all", allowed: "at most \(ConfigSpec.maxInlineTotalBytes) bytes together")
        }
        return out
    }

    /// Why `path` cannot name a config file, or nil.
    static func pathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "must be an absolute path" }
        guard path.utf8.count <= 255 else { return "is longer than 255 bytes" }
        guard !path.hasSuffix("/") else { return "names a directory, not a file" }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) { return "must not hold empty, '.' or '..' components" }
        if path.contains("\0") { return "must not hold a NUL byte" }
        if parts.contains(where: { $0.utf8.count > 100 }) { return "has a component longer than 100 bytes" }
        return nil
    }

    /// `env`: an empty value copies the variable from the executor's environment (Drove's rule).
    static func env(_ f: Fields, _ r: ConfigReader, environment: [String: String]) -> [String: String] {
        guard let n = f["env"], let m = r.mapping(n, at: "env", known: ConfigReaderKeys.all(n)) else { return [:] }
        var out: [String: String] = [:]
        for (k, e) in m.entries {
            guard ConfigReader.isVariableName(Substring(k)) else {
                r.error("env.\(k)", e.value, value: k, "\"\(k)\" is not a valid variable name", allowed: "letters, digits and _, not starting with a digit")
                continue
            }
            let v: String
            // A value may be a number or a boolean too, taken as its JSON text (as Drove's Jackson does).
            if e.value.isNull { v = "" } else { guard let s = r.text(e.value, at: "env.\(k)", secret: true) else { continue }; v = s }
            out[k] = v.isEmpty ? (environment[k] ?? "") : v
        }
        return out
    }

    static func user(_ f: Fields, _ r: ConfigReader) -> UserSpec? {
        guard let n = f["user"], let u = r.mapping(n, at: "user", known: ["user", "group"]) else { return nil }
        guard let name = u["user"].flatMap({ r.string($0, at: "user.user", nonEmpty: true) }) else {
            if u["user"] == nil { r.error("user.user", n, "user needs a user (name or uid)") }
            return nil
        }
        return UserSpec(user: name, group: u["group"].flatMap { r.string($0, at: "user.group", nonEmpty: true) })
    }

    enum ModeType: String, CaseIterable { case HTTP, CMD }

    static func mode(_ n: ConfigNode, _ p: String, _ r: ConfigReader, ports: Set<String>, extraKeys: [String] = []) -> CheckSpec.Mode? {
        guard case .mapping(let entries) = n.value, let t = entries.first(where: { $0.key == "type" }) else {
            r.error("\(p).type", n, "needs a type", allowed: "HTTP, CMD")
            return nil
        }
        guard let type = r.choice(t.value, at: "\(p).type", as: ModeType.self) else { return nil }
        switch type {
        case .CMD:
            guard let m = r.mapping(n, at: p, known: ["type", "command"] + extraKeys) else { return nil }
            guard let c = m["command"].flatMap({ r.string($0, at: "\(p).command", nonEmpty: true) }) else {
                if m["command"] == nil { r.error("\(p).command", n, "a CMD check needs a command", allowed: "a shell command") }
                return nil
            }
            return .cmd(command: c)
        case .HTTP:
            guard let m = r.mapping(n, at: p, known: ["type", "protocol", "portName", "path", "verb", "successCodes",
                                                      "payload", "connectionTimeout"] + extraKeys) else { return nil }
            guard let port = m["portName"].flatMap({ r.string($0, at: "\(p).portName", nonEmpty: true) }) else {
                if m["portName"] == nil { r.error("\(p).portName", n, "an HTTP check needs portName", allowed: ports.sorted().joined(separator: ", ")) }
                return nil
            }
            if !ports.contains(port) {
                r.error("\(p).portName", m["portName"], value: port, "no exposed port is named \"\(port)\"",
                        allowed: ports.isEmpty ? "declare it under exposedPorts" : ports.sorted().joined(separator: ", "))
            }
            let path = m["path"].flatMap { r.string($0, at: "\(p).path") } ?? "/"
            if !path.hasPrefix("/") { r.error("\(p).path", m["path"], value: path, "a path starts with /") }
            let verb = m["verb"].flatMap { r.choice($0, at: "\(p).verb", as: CheckSpec.HTTPCheck.Verb.self) } ?? .GET
            var codes: Set<Int> = [200]
            if let sc = m["successCodes"], let items = r.sequence(sc, at: "\(p).successCodes") {
                codes = Set(items.enumerated().compactMap { r.int($1, at: "\(p).successCodes[\($0)]", in: 100...599) })
                if codes.isEmpty { r.error("\(p).successCodes", sc, "at least one success code is needed", allowed: "100 to 599") }
            }
            let https = m["protocol"].flatMap { r.string($0, at: "\(p).protocol") }?.uppercased() == "HTTPS"
            let ct = m["connectionTimeout"].flatMap { r.duration($0, at: "\(p).connectionTimeout") } ?? .seconds(1)
            return .http(CheckSpec.HTTPCheck(portName: port, path: path, verb: verb, successCodes: codes,
                                             payload: m["payload"].flatMap { r.string($0, at: "\(p).payload") },
                                             connectionTimeout: ct, https: https))
        }
    }

    static func check(_ n: ConfigNode, _ p: String, _ r: ConfigReader, ports: Set<String>) -> CheckSpec? {
        guard let c = r.mapping(n, at: p, known: ["mode", "timeout", "interval", "attempts", "initialDelay"]) else { return nil }
        guard let mn = c["mode"] else {
            r.error("\(p).mode", n, "a check needs a mode", allowed: "{\"type\": \"HTTP\", ...} or {\"type\": \"CMD\", ...}")
            return nil
        }
        let mode = mode(mn, "\(p).mode", r, ports: ports)
        let range = ConfigDuration.milliseconds(1)...ConfigDuration.seconds(3600)
        let timeout = c["timeout"].flatMap { r.duration($0, at: "\(p).timeout", in: range) } ?? .seconds(1)
        let interval = c["interval"].flatMap { r.duration($0, at: "\(p).interval", in: range) } ?? .seconds(5)
        let attempts = c["attempts"].flatMap { r.int($0, at: "\(p).attempts", in: 1...100) } ?? 3
        let delay = c["initialDelay"].flatMap { r.duration($0, at: "\(p).initialDelay", in: ConfigDuration(nanoseconds: 0)...ConfigDuration.seconds(3600)) }
            ?? ConfigDuration(nanoseconds: 0)
        guard let mode else { return nil }
        return CheckSpec(mode: mode, timeout: timeout, interval: interval, attempts: attempts, initialDelay: delay)
    }
}

/// Keys of a free-form mapping (env): every key is known.
enum ConfigReaderKeys {
    static func all(_ n: ConfigNode) -> [String] {
        if case .mapping(let entries) = n.value { return entries.map(\.key) }
        return []
    }
}
