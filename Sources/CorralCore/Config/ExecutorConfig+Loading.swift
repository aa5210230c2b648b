import Foundation
/// A config that loaded, with the warnings found on the way.
public struct Loaded<Config: Sendable>: Sendable {
    public var config: Config
    public var warnings: [ConfigIssue]
}

extension ExecutorConfig {
    static let topLevelKeys = ["server", "logging", "zookeeper", "clusterAuth", "resources", "options", "processors",
                               "dockerAuth", "controllers", "metrics"]
    /// Dropwizard keys an old config may carry that Corral accepts and ignores.
    static let ignoredTopLevelKeys = ["health"]

    /// Loads Drove-style executor YAML. Throws every error found (with the
    /// warnings) when anything is wrong; nothing is half-loaded.
    public static func load(yaml: String, file: String,
                            environment: [String: String]) throws(ConfigError) -> Loaded<ExecutorConfig> {
        let composed = YAMLComposer.compose(yaml, file: file)
        let r = ConfigReader(file: file, environment: environment)
        r.append(composed.issues)
        var config = ExecutorConfig()
        if !r.hasErrors {
            if composed.root.isNull {
                r.warning("", composed.root, "the file is empty; every setting takes its default")
            } else if let top = r.mapping(composed.root, at: "", known: topLevelKeys, ignored: ignoredTopLevelKeys) {
                if let n = top["server"] { config.server = readServer(n, r, "server") }
                if let n = top["logging"] { config.logging = readLogging(n, r, "logging") }
                if let n = top["zookeeper"] { config.zookeeper = readZookeeper(n, r, "zookeeper") }
                if let n = top["clusterAuth"] { config.clusterAuth = readClusterAuth(n, r, "clusterAuth") }
                if let n = top["resources"] { config.resources = readResources(n, r, "resources") }
                if let n = top["options"] { config.options = readOptions(n, r, "options") }
                if let n = top["dockerAuth"] { config.dockerAuth = readDockerAuth(n, r, "dockerAuth") }
                if let n = top["controllers"] { config.controllers = readControllers(n, r, "controllers") }
                if let n = top["metrics"] {
                    // Dropwizard's metrics reporters (console, graphite, ...): Corral runs none of them.
                    r.warning("metrics", n, "Dropwizard's metrics reporters are not run by Corral (accepted, ignored):"
                              + " the executor's metrics are served as Prometheus text at /metrics on the admin port")
                }
                checkRemoteUpdate(config, r, controllersNode: top["controllers"], optionsNode: top["options"])
                if let n = top["processors"], let f = r.mapping(n, at: "processors", known: ["config", "logDir"]) {
                    if let c = f["config"], let v = r.string(c, at: f.path("config"), nonEmpty: true) {
                        // Relative to the executor config's directory.
                        config.processors.config = v.hasPrefix("/") ? v
                            : ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(v)
                    }
                    if let d = f["logDir"], let v = r.string(d, at: f.path("logDir"), nonEmpty: true) { config.processors.logDir = v }
                }
            }
        }
        if r.hasErrors { throw ConfigError(file: file, issues: r.issues) }
        return Loaded(config: config, warnings: r.issues)
    }

    // MARK: server

    static func readServer(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> ServerConfig {
        var s = ServerConfig()
        guard let f = r.mapping(node, at: path,
                                known: ["applicationConnectors", "adminConnectors", "applicationContextPath",
                                        "adminContextPath", "requestLog", "type", "rootPath"],
                                ignored: ["maxThreads", "minThreads", "maxQueuedRequests", "idleThreadTimeout",
                                          "gzip", "registerDefaultExceptionMappers", "shutdownGracePeriod",
                                          "adminMaxThreads", "adminMinThreads", "enableThreadNameFilter",
                                          "dumpAfterStart", "dumpBeforeStop", "responseMeteredLevel"])
        else { return s }
        if let n = f["type"], let t = r.string(n, at: f.path("type")), !["default"].contains(t) {
            r.error(f.path("type"), n, value: t, "\"\(t)\" server is not supported",
                    allowed: "default (separate application and admin connectors)")
        }
        if let n = f["applicationConnectors"] { s.applicationConnectors = readConnectors(n, r, f.path("applicationConnectors")) }
        if let n = f["adminConnectors"] { s.adminConnectors = readConnectors(n, r, f.path("adminConnectors")) }
        if let n = f["applicationContextPath"] ?? f["rootPath"],
           let p = r.string(n, at: f.path("applicationContextPath")) {
            if p.hasPrefix("/") { s.applicationContextPath = p } else {
                r.error(f.path("applicationContextPath"), n, value: p, "a context path must start with /", allowed: "/, /corral")
            }
        }
        if let n = f["adminContextPath"], let p = r.string(n, at: f.path("adminContextPath")) {
            if p.hasPrefix("/") { s.adminContextPath = p } else {
                r.error(f.path("adminContextPath"), n, value: p, "a context path must start with /", allowed: "/, /admin")
            }
        }
        if let n = f["requestLog"], let rl = r.mapping(n, at: f.path("requestLog"), known: ["appenders"]) {
            if let a = rl["appenders"] {
                s.requestLog.appenders = readAppenders(a, r, rl.path("appenders"), allowInstanceLogs: false)
            }
        }
        var seenPorts: [Int: String] = [:]
        for (name, list) in [("applicationConnectors", s.applicationConnectors), ("adminConnectors", s.adminConnectors)] {
            for (i, c) in list.enumerated() where c.port != 0 {
                let p = "\(path).\(name)[\(i)].port"
                if let other = seenPorts[c.port] {
                    r.error(p, f[name], value: String(c.port), "port \(c.port) is already used by \(other)",
                            allowed: "a distinct port per connector")
                }
                seenPorts[c.port] = p
            }
        }
        return s
    }

    static func readConnectors(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> [Connector] {
        guard let items = r.sequence(node, at: path) else { return [] }
        var out: [Connector] = []
        for (i, item) in items.enumerated() {
            let p = "\(path)[\(i)]"
            guard let f = r.mapping(item, at: p,
                                    known: ["type", "port", "bindHost", "keyStorePath", "keyStorePassword",
                                            "keyStoreType", "validateCerts", "idleTimeout"],
                                    ignored: ["acceptorThreads", "selectorThreads", "acceptQueueSize",
                                              "inheritChannel", "useServerHeader", "useDateHeader",
                                              "useForwardedHeaders", "outputBufferSize", "maxRequestHeaderSize",
                                              "reuseAddress"])
            else { continue }
            var c = Connector(port: 8080)
            if let n = f["type"], let t = r.choice(n, at: f.path("type"), as: Connector.Kind.self) { c.type = t }
            if let n = f["port"] {
                if let v = r.int(n, at: f.path("port"), in: 0...65_535) { c.port = v }
            } else {
                r.error(f.path("port"), item, "a connector needs a port", allowed: "an integer from 0 to 65535")
            }
            if let n = f["bindHost"], let h = r.string(n, at: f.path("bindHost"), nonEmpty: true) { c.bindHost = h }
            if let n = f["idleTimeout"], let d = r.duration(n, at: f.path("idleTimeout"), in: .seconds(1)...ConfigDuration.seconds(3600)) {
                c.idleTimeout = d
            }
            if let n = f["keyStorePath"] { c.keyStorePath = r.string(n, at: f.path("keyStorePath"), nonEmpty: true) }
            if let n = f["keyStorePassword"] { c.keyStorePassword = r.secret(n, at: f.path("keyStorePassword")) }
            if let n = f["keyStoreType"] { _ = r.string(n, at: f.path("keyStoreType")) }
            if let n = f["validateCerts"] { _ = r.bool(n, at: f.path("validateCerts")) }
            if c.type == .https && c.keyStorePath == nil {
                r.error(f.path("keyStorePath"), item, "an https connector needs keyStorePath",
                        allowed: "a path to a key store")
            }
            out.append(c)
        }
        return out
    }

    // MARK: logging

    static func readLogging(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> LoggingConfig {
        var l = LoggingConfig()
        guard let f = r.mapping(node, at: path, known: ["level", "loggers", "appenders"]) else { return l }
        if let n = f["level"], let v = r.choice(n, at: f.path("level"), as: LogLevel.self) { l.level = v }
        if let n = f["loggers"], let m = r.mapping(n, at: f.path("loggers"), known: mappingKeys(n)) {
            for (name, entry) in m.entries {
                let p = m.path(name)
                if case .mapping = entry.value.value {
                    // Dropwizard's long form: { level, additive, appenders }.
                    if let lf = r.mapping(entry.value, at: p, known: ["level", "additive", "appenders"]) {
                        if let ln = lf["level"], let v = r.choice(ln, at: lf.path("level"), as: LogLevel.self) {
                            l.loggers[name] = v
                        }
                        if let a = lf["additive"] { _ = r.bool(a, at: lf.path("additive")) }
                        if let a = lf["appenders"] { _ = readAppenders(a, r, lf.path("appenders"), allowInstanceLogs: false) }
                    }
                } else if !entry.value.isNull, let v = r.choice(entry.value, at: p, as: LogLevel.self) {
                    l.loggers[name] = v
                }
            }
        }
        if let n = f["appenders"] { l.appenders = readAppenders(n, r, f.path("appenders"), allowInstanceLogs: true) }
        return l
    }

    /// The keys of a mapping whose keys are free-form (logger names,
    /// registries, provider names): every key is known.
    static func mappingKeys(_ node: ConfigNode) -> [String] {
        if case .mapping(let entries) = node.value { return entries.map(\.key) }
        return []
    }

    static let commonAppenderKeys = ["type", "threshold", "timeZone", "logFormat", "queueSize",
                                     "discardingThreshold", "includeCallerData", "neverBlock"]
    static let ignoredAppenderKeys = ["filterFactories", "layout", "messageRate"]
    static let rotationKeys = ["archive", "archivedFileCount", "maxFileSize", "totalSizeCap", "bufferSize", "immediateFlush"]

    enum AppenderType: String, CaseIterable { case console, file, drove }

    static func readAppenders(_ node: ConfigNode, _ r: ConfigReader, _ path: String,
                              allowInstanceLogs: Bool) -> [AppenderConfig] {
        guard let items = r.sequence(node, at: path) else { return [] }
        var out: [AppenderConfig] = []
        var droveSeen = false
        for (i, item) in items.enumerated() {
            let p = "\(path)[\(i)]"
            // Peek at the type to know which keys are valid.
            var type: AppenderType? = nil
            if case .mapping(let entries) = item.value, let t = entries.first(where: { $0.key == "type" }) {
                type = r.choice(t.value, at: "\(p).type", as: AppenderType.self)
                if type == nil { continue }
            } else if case .mapping = item.value {
                r.error("\(p).type", item, "an appender needs a type", allowed: "console, file, drove")
                continue
            }
            switch type {
            case .console:
                guard let f = r.mapping(item, at: p, known: commonAppenderKeys + ["target"], ignored: ignoredAppenderKeys)
                else { continue }
                var a = ConsoleAppender()
                a.common = readCommon(f, r)
                if let n = f["target"], let t = r.choice(n, at: f.path("target"), as: ConsoleAppender.Target.self) { a.target = t }
                out.append(.console(a))
            case .file:
                guard let f = r.mapping(item, at: p,
                                        known: commonAppenderKeys + rotationKeys + ["currentLogFilename", "archivedLogFilenamePattern"],
                                        ignored: ignoredAppenderKeys)
                else { continue }
                var a = FileAppender()
                a.common = readCommon(f, r)
                a.rotation = readRotation(f, r, defaults: a.rotation)
                if let n = f["currentLogFilename"], let s = r.string(n, at: f.path("currentLogFilename"), nonEmpty: true) {
                    a.currentLogFilename = s
                } else if f["currentLogFilename"] == nil {
                    r.error(f.path("currentLogFilename"), item, "a file appender needs currentLogFilename",
                            allowed: "a file path such as /var/log/corral/executor.log")
                }
                if let n = f["archivedLogFilenamePattern"] {
                    a.archivedLogFilenamePattern = r.string(n, at: f.path("archivedLogFilenamePattern"), nonEmpty: true)
                }
                if a.rotation.archive {
                    if a.archivedLogFilenamePattern == nil && f["archivedLogFilenamePattern"] == nil {
                        r.error(f.path("archivedLogFilenamePattern"), item, "needed when archive is true",
                                allowed: "a pattern such as /var/log/corral/executor.log-%d-%i")
                    } else if let pat = a.archivedLogFilenamePattern, a.rotation.maxFileSize != nil, !pat.contains("%i") {
                        r.error(f.path("archivedLogFilenamePattern"), f["archivedLogFilenamePattern"], value: pat,
                                "with maxFileSize set, the pattern must contain %i (the index of archives of one day)",
                                allowed: "a pattern with %d and %i, e.g. executor.log-%d-%i")
                    }
                }
                out.append(.file(a))
            case .drove:
                guard allowInstanceLogs else {
                    r.error("\(p).type", item, value: "drove", "instance-log appenders belong under logging.appenders",
                            allowed: "console, file")
                    continue
                }
                guard let f = r.mapping(item, at: p,
                                        known: commonAppenderKeys + rotationKeys + ["logPath", "archivedLogFileSuffix"],
                                        ignored: ignoredAppenderKeys)
                else { continue }
                if droveSeen { r.error("\(p).type", item, value: "drove", "only one drove appender may be configured") }
                droveSeen = true
                var a = InstanceLogAppender()
                a.common = readCommon(f, r)
                a.rotation = readRotation(f, r, defaults: a.rotation)
                if let n = f["logPath"], let s = r.string(n, at: f.path("logPath"), nonEmpty: true) {
                    a.logPath = s
                } else if f["logPath"] == nil {
                    r.error(f.path("logPath"), item, "a drove appender needs logPath",
                            allowed: "a directory such as /var/log/corral/instance-logs")
                }
                if let n = f["archivedLogFileSuffix"], let s = r.string(n, at: f.path("archivedLogFileSuffix"), nonEmpty: true) {
                    a.archivedLogFileSuffix = s
                }
                out.append(.drove(a))
            case nil:
                _ = r.mapping(item, at: p, known: [])
            }
        }
        return out
    }

    static func readCommon(_ f: Fields, _ r: ConfigReader) -> AppenderCommon {
        var c = AppenderCommon()
        if let n = f["threshold"], let v = r.choice(n, at: f.path("threshold"), as: LogLevel.self) { c.threshold = v }
        if let n = f["timeZone"], let s = r.string(n, at: f.path("timeZone")) {
            if let tz = ConfigTimeZone(parsing: s) {
                c.timeZone = tz
            } else {
                r.error(f.path("timeZone"), n, value: s, "\"\(s)\" is not a time zone", allowed: ConfigTimeZone.allowedText)
            }
        }
        if let n = f["logFormat"], let s = r.string(n, at: f.path("logFormat")) { c.logFormat = s }
        if let n = f["queueSize"], let v = r.int(n, at: f.path("queueSize"), in: 1...1_000_000) { c.queueSize = v }
        if let n = f["discardingThreshold"], let v = r.int(n, at: f.path("discardingThreshold"), in: -1...1_000_000) {
            c.discardingThreshold = v
        }
        if let n = f["includeCallerData"], let v = r.bool(n, at: f.path("includeCallerData")) { c.includeCallerData = v }
        if let n = f["neverBlock"], let v = r.bool(n, at: f.path("neverBlock")) { c.neverBlock = v }
        return c
    }

    static func readRotation(_ f: Fields, _ r: ConfigReader, defaults: RotationOptions) -> RotationOptions {
        var o = defaults
        if let n = f["archive"], let v = r.bool(n, at: f.path("archive")) { o.archive = v }
        if let n = f["archivedFileCount"], let v = r.int(n, at: f.path("archivedFileCount"), in: 0...10_000) {
            o.archivedFileCount = v
        }
        if let n = f["maxFileSize"],
           let v = r.dataSize(n, at: f.path("maxFileSize"), in: DataSize(bytes: 1024)...DataSize(bytes: 1 << 50),
                              rangeText: "1KiB to 1PiB") {
            o.maxFileSize = v
        }
        if let n = f["totalSizeCap"],
           let v = r.dataSize(n, at: f.path("totalSizeCap"), in: DataSize(bytes: 1024)...DataSize(bytes: 1 << 60),
                              rangeText: "at least 1KiB") {
            o.totalSizeCap = v
        }
        if let n = f["bufferSize"],
           let v = r.dataSize(n, at: f.path("bufferSize"), in: DataSize(bytes: 1)...DataSize.mebibytes(64),
                              rangeText: "1B to 64MiB") {
            o.bufferSize = v
        }
        if let n = f["immediateFlush"], let v = r.bool(n, at: f.path("immediateFlush")) { o.immediateFlush = v }
        return o
    }

    // MARK: zookeeper, clusterAuth

    static func readZookeeper(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> ZookeeperConfig? {
        // Drove's docs write `namespace`, its Java field is `nameSpace`: both are read.
        guard let f = r.mapping(node, at: path, known: ["connectionString", "namespace", "nameSpace", "sessionTimeout"]) else { return nil }
        guard let n = f["connectionString"] else {
            r.error(f.path("connectionString"), node, "zookeeper needs a connectionString",
                    allowed: "host:port[,host:port...], e.g. 10.0.0.1:2181,10.0.0.2:2181")
            return nil
        }
        guard let cs = r.string(n, at: f.path("connectionString"), nonEmpty: true) else { return nil }
        let hostsPart = cs.split(separator: "/", maxSplits: 1).first.map(String.init) ?? cs
        for server in hostsPart.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = server.split(separator: ":", omittingEmptySubsequences: false)
            let ok = (parts.count == 1 && !parts[0].isEmpty)
                || (parts.count == 2 && !parts[0].isEmpty && Int(parts[1]).map { (1...65_535).contains($0) } == true)
            if !ok {
                r.error(f.path("connectionString"), n, value: cs, "\"\(server)\" is not host or host:port",
                        allowed: "host:port[,host:port...], e.g. 10.0.0.1:2181,10.0.0.2:2181")
                return nil
            }
        }
        var z = ZookeeperConfig(connectionString: cs)
        if f["namespace"] != nil && f["nameSpace"] != nil {
            r.error(f.path("nameSpace"), f["nameSpace"]!, "namespace and nameSpace are the same key; give one", allowed: "namespace (or Drove's nameSpace)")
        }
        let key = f["namespace"] != nil ? "namespace" : "nameSpace"
        if let ns = f[key], let s = r.string(ns, at: f.path(key), nonEmpty: true) {
            if s.contains("/") || s.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                r.error(f.path(key), ns, value: s, "a namespace is one path element", allowed: "a name without / or control characters")
            } else {
                z.namespace = s
            }
        }
        if let n = f["sessionTimeout"], let d = r.duration(n, at: f.path("sessionTimeout"), in: .seconds(2)...ConfigDuration.seconds(600)) {
            z.sessionTimeout = d
        }
        return z
    }

    static func readClusterAuth(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> ClusterAuthConfig {
        var c = ClusterAuthConfig()
        guard let f = r.mapping(node, at: path, known: ["secrets"]), let sn = f["secrets"],
              let items = r.sequence(sn, at: f.path("secrets"))
        else { return c }
        for (i, item) in items.enumerated() {
            let p = "\(f.path("secrets"))[\(i)]"
            guard let e = r.mapping(item, at: p, known: ["nodeType", "secret"]) else { continue }
            guard let tn = e["nodeType"] else {
                r.error(e.path("nodeType"), item, "each secret needs a nodeType", allowed: "CONTROLLER, EXECUTOR")
                continue
            }
            guard let type = r.choice(tn, at: e.path("nodeType"), as: ClusterAuthConfig.NodeType.self) else { continue }
            guard let secretNode = e["secret"] else {
                r.error(e.path("secret"), item, "the \(type.rawValue) entry has no secret", allowed: "a non-empty string")
                continue
            }
            guard let s = r.secret(secretNode, at: e.path("secret")) else { continue }
            if c.secrets[type] != nil {
                r.error(e.path("nodeType"), tn, value: type.rawValue, "\(type.rawValue) is given twice",
                        allowed: "one entry per node type")
            }
            c.secrets[type] = s
        }
        return c
    }

    // MARK: resources, options

    static func readResources(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> ResourcesConfig {
        var res = ResourcesConfig()
        guard let f = r.mapping(node, at: path,
                                known: ["osCores", "exposedMemPercentage", "disableNUMAPinning", "enableNvidiaGpu",
                                        "tags", "overProvisioning", "numaPolicy", "fullPhysicalCores", "metadata"])
        else { return res }
        if let n = f["osCores"], let v = r.cpuList(n, at: f.path("osCores")) { res.osCores = v }
        if let n = f["exposedMemPercentage"], let v = r.int(n, at: f.path("exposedMemPercentage"), in: 50...100) {
            res.exposedMemPercentage = v
        }
        if let n = f["disableNUMAPinning"], let v = r.bool(n, at: f.path("disableNUMAPinning")) { res.disableNUMAPinning = v }
        if let n = f["enableNvidiaGpu"], let v = r.bool(n, at: f.path("enableNvidiaGpu")) { res.enableNvidiaGpu = v }
        if let n = f["tags"], let v = r.stringList(n, at: f.path("tags")) {
            var seen = Set<String>()
            for (i, t) in v.enumerated() {
                if t.trimmingASCIIWhitespace().isEmpty {
                    r.error("\(f.path("tags"))[\(i)]", n, "a tag must not be empty")
                } else if !seen.insert(t).inserted {
                    r.warning("\(f.path("tags"))[\(i)]", n, "tag \"\(t)\" is listed twice")
                } else {
                    res.tags.append(t)
                }
            }
        }
        if let n = f["metadata"] { res.metadata = readMetadata(n, r, f.path("metadata")) }
        if let n = f["overProvisioning"],
           let o = r.mapping(n, at: f.path("overProvisioning"), known: ["enabled", "cpuMultiplier", "memoryMultiplier"]) {
            if let e = o["enabled"], let v = r.bool(e, at: o.path("enabled")) { res.overProvisioning.enabled = v }
            if let e = o["cpuMultiplier"], let v = r.int(e, at: o.path("cpuMultiplier"), in: 1...20) {
                res.overProvisioning.cpuMultiplier = v
            }
            if let e = o["memoryMultiplier"], let v = r.int(e, at: o.path("memoryMultiplier"), in: 1...20) {
                res.overProvisioning.memoryMultiplier = v
            }
            if res.overProvisioning.enabled && !res.disableNUMAPinning && f["disableNUMAPinning"] != nil {
                r.error(o.path("enabled"), o["enabled"], value: "true",
                        "over-provisioning turns pinning off, but disableNUMAPinning is false",
                        allowed: "set resources.disableNUMAPinning: true, or overProvisioning.enabled: false")
            }
        }
        if let n = f["numaPolicy"], let v = r.choice(n, at: f.path("numaPolicy"), as: NUMAPolicy.self) { res.numaPolicy = v }
        if let n = f["fullPhysicalCores"], let v = r.bool(n, at: f.path("fullPhysicalCores")) { res.fullPhysicalCores = v }
        if res.overProvisioning.enabled && f["disableNUMAPinning"] == nil {
            // Drove requires both; Corral reads enabled over-provisioning as unpinned.
            res.disableNUMAPinning = true
            r.warning(f.path("overProvisioning.enabled"), f["overProvisioning"],
                      "over-provisioning implies disableNUMAPinning: true; pinning is off")
        }
        return res
    }

    static func readOptions(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> ExecutorOptions {
        var o = ExecutorOptions()
        guard let f = r.mapping(node, at: path,
                                known: ["hostname", "cacheImages", "containerCommandTimeout", "dockerSocketPath",
                                        "maxOpenFiles", "logBufferSize", "cacheFileSize", "cacheFileCount", "stateDir",
                                        "secretKeyFile", "runSocketPath", "runConfigPath", "defaultUserSpec", "remoteUpdateMode",
                                        "controllerConnectTimeout", "controllerResponseTimeout"])
        else { return o }
        if let n = f["hostname"], let v = r.string(n, at: f.path("hostname"), nonEmpty: true) { o.hostname = v }
        if let n = f["cacheImages"], let v = r.bool(n, at: f.path("cacheImages")) { o.cacheImages = v }
        if let n = f["containerCommandTimeout"],
           let v = r.duration(n, at: f.path("containerCommandTimeout"), in: .milliseconds(100)...ConfigDuration.seconds(3600)) {
            o.containerCommandTimeout = v
        }
        if let n = f["dockerSocketPath"], let v = r.string(n, at: f.path("dockerSocketPath"), nonEmpty: true) {
            o.dockerSocketPath = v.hasPrefix("unix://") ? String(v.dropFirst("unix://".count)) : v
        }
        if let n = f["maxOpenFiles"], let v = r.int(n, at: f.path("maxOpenFiles"), in: 64...1_073_741_816) { o.maxOpenFiles = v }
        if let n = f["logBufferSize"],
           let v = r.dataSize(n, at: f.path("logBufferSize"), in: DataSize.megabytes(1)...DataSize.megabytes(128),
                              rangeText: "1MB to 128MB") {
            o.logBufferSize = v
        }
        if let n = f["cacheFileSize"],
           let v = r.dataSize(n, at: f.path("cacheFileSize"), in: DataSize.megabytes(10)...DataSize.gigabytes(100),
                              rangeText: "10MB to 100GB") {
            o.cacheFileSize = v
        }
        if let n = f["cacheFileCount"], let v = r.int(n, at: f.path("cacheFileCount"), in: 1...1024) { o.cacheFileCount = v }
        if let n = f["stateDir"], let v = r.string(n, at: f.path("stateDir"), nonEmpty: true) { o.stateDir = v }
        if let n = f["secretKeyFile"], let v = r.string(n, at: f.path("secretKeyFile"), nonEmpty: true) { o.secretKeyFile = v }
        if let n = f["defaultUserSpec"] { o.defaultUserSpec = readUserSpec(n, r, f.path("defaultUserSpec")) }
        if let n = f["remoteUpdateMode"], let v = r.choice(n, at: f.path("remoteUpdateMode"), as: RemoteUpdateMode.self) { o.remoteUpdateMode = v }
        for key in ["controllerConnectTimeout", "controllerResponseTimeout"] {
            if let n = f[key], let v = r.duration(n, at: f.path(key), in: .milliseconds(100)...ConfigDuration.seconds(60)) {
                if key == "controllerConnectTimeout" { o.controllerConnectTimeout = v } else { o.controllerResponseTimeout = v }
            }
        }
        if let n = f["runSocketPath"], let v = r.string(n, at: f.path("runSocketPath")) {
            if v.isEmpty || v.hasPrefix("/") { o.runSocketPath = v }
            else { r.error(f.path("runSocketPath"), n, value: v, "the run socket must be an absolute path", allowed: "an absolute path, or \"\" for no socket") }
        }
        if let n = f["runConfigPath"], let v = r.string(n, at: f.path("runConfigPath"), nonEmpty: true) {
            if v.hasPrefix("/") { o.runConfigPath = v }
            else { r.error(f.path("runConfigPath"), n, value: v, "the run configuration must be named by an absolute path", allowed: "an absolute path") }
        }
        return o
    }
}
