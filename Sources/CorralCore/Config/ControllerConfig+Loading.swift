import Foundation

extension ControllerConfig {
    static let topLevelKeys = ["server", "logging", "zookeeper", "clusterAuth", "userAuth", "instanceAuth", "options"]
    /// Dropwizard and Drove keys a controller config may carry that Corral accepts and ignores.
    static let ignoredTopLevelKeys = ["metrics", "health", "view", "installation"]
    /// Options Drove reads that have no meaning here (MVEL rules are not run: see RULE_BASED in the docs).
    static let ignoredOptionKeys = ["auditedHttpMethods", "compiledRuleCacheCount", "allowedRuleImportPackages",
                                    "instanceStateCheckRetryInterval"]

    /// Loads Drove-style controller YAML. Throws every error found (with the
    /// warnings) when anything is wrong; nothing is half-loaded.
    public static func load(yaml: String, file: String,
                            environment: [String: String]) throws(ConfigError) -> Loaded<ControllerConfig> {
        let composed = YAMLComposer.compose(yaml, file: file)
        let r = ConfigReader(file: file, environment: environment)
        r.append(composed.issues)
        var config = ControllerConfig()
        var sawZookeeper = false
        if !r.hasErrors, let top = r.mapping(composed.root, at: "", known: topLevelKeys, ignored: ignoredTopLevelKeys) {
            if let n = top["server"] { config.server = ExecutorConfig.readServer(n, r, "server") }
            if let n = top["logging"] { config.logging = ExecutorConfig.readLogging(n, r, "logging") }
            if let n = top["zookeeper"] {
                sawZookeeper = true
                if let z = ExecutorConfig.readZookeeper(n, r, "zookeeper") { config.zookeeper = z }
            }
            if let n = top["clusterAuth"] { config.clusterAuth = ExecutorConfig.readClusterAuth(n, r, "clusterAuth") }
            if let n = top["userAuth"] { config.userAuth = readUserAuth(n, r, "userAuth") }
            if let n = top["instanceAuth"], let f = r.mapping(n, at: "instanceAuth", known: ["secret"]),
               let s = f["secret"] {
                config.instanceAuth = r.secret(s, at: f.path("secret"))
            }
            if let n = top["options"] { config.options = readOptions(n, r, "options") }
        }
        if !r.hasErrors && !sawZookeeper {
            r.error("zookeeper", composed.root, "a controller needs zookeeper.connectionString",
                    allowed: "host:port[,host:port...], e.g. 10.0.0.1:2181")
        }
        if r.hasErrors { throw ConfigError(file: file, issues: r.issues) }
        return Loaded(config: config, warnings: r.issues)
    }

    static func readUserAuth(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> UserAuthConfig {
        var u = UserAuthConfig()
        guard let f = r.mapping(node, at: path, known: ["enabled", "encoding", "users"], ignored: ["cachingPolicy"]) else { return u }
        if let n = f["enabled"], let v = r.bool(n, at: f.path("enabled")) { u.enabled = v }
        if let n = f["encoding"], let v = r.choice(n, at: f.path("encoding"), as: UserAuthConfig.Encoding.self) { u.encoding = v }
        if let n = f["users"], let items = r.sequence(n, at: f.path("users")) {
            var seen = Set<String>()
            for (i, item) in items.enumerated() {
                let p = "\(f.path("users"))[\(i)]"
                guard let e = r.mapping(item, at: p, known: ["username", "password", "role"]) else { continue }
                guard let un = e["username"], let name = r.string(un, at: e.path("username"), nonEmpty: true) else {
                    if e["username"] == nil { r.error(e.path("username"), item, "each user needs a username", allowed: "a non-empty string") }
                    continue
                }
                guard let pn = e["password"], let password = r.secret(pn, at: e.path("password")) else {
                    if e["password"] == nil { r.error(e.path("password"), item, "user \"\(name)\" has no password", allowed: "a password, or its crypt(3) hash with encoding: CRYPT") }
                    continue
                }
                var role = UserAuthConfig.Role.EXTERNAL_READ_ONLY
                if let rn = e["role"] {
                    guard let v = r.choice(rn, at: e.path("role"), as: UserAuthConfig.Role.self) else { continue }
                    role = v
                } else {
                    r.warning(e.path("role"), item, "user \"\(name)\" has no role: EXTERNAL_READ_ONLY")
                }
                if !seen.insert(name).inserted {
                    r.error(e.path("username"), un, value: name, "user \"\(name)\" is listed twice", allowed: "one entry per user")
                }
                if u.encoding == .CRYPT && !password.value.hasPrefix("$") {
                    r.error(e.path("password"), pn, "user \"\(name)\"'s password is not a crypt(3) hash (encoding is CRYPT)",
                            allowed: "a hash such as $2b$12$... (echo -n PASSWORD | corral password-hash), or encoding: PLAIN")
                }
                u.users.append(.init(username: name, password: password, role: role))
            }
        }
        if u.enabled && u.users.isEmpty {
            r.error(f.path("users"), f.node, "userAuth is enabled but lists no users: nobody could call the API",
                    allowed: "at least one user, or enabled: false")
        }
        return u
    }

    static func readOptions(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> ControllerOptions {
        var o = ControllerOptions()
        guard let f = r.mapping(node, at: path,
                                known: ["staleCheckInterval", "staleAppAge", "maxStaleInstancesCount", "staleInstanceAge",
                                        "staleTaskAge", "staleServiceAge", "staleExecutorAge", "maxEventsStorageDuration",
                                        "clusterOpTimeout", "clusterOpParallelism", "jobRetryCount", "jobRetryInterval",
                                        "allowedMountDirs", "disableReadAuth", "disableCmdlArgs", "enableRawDeviceAccess",
                                        "hostname", "placementStrategy", "spreadKey"],
                                ignored: ignoredOptionKeys)
        else { return o }
        let minute = ConfigDuration.seconds(60), year = ConfigDuration.seconds(366 * 86_400)
        func duration(_ key: String, _ range: ClosedRange<ConfigDuration>, _ set: (ConfigDuration) -> Void) {
            if let n = f[key], let d = r.duration(n, at: f.path(key), in: range) { set(d) }
        }
        let second = ConfigDuration.seconds(1)
        duration("staleCheckInterval", second...year) { o.staleCheckInterval = $0 }
        duration("staleAppAge", second...year) { o.staleAppAge = $0 }
        duration("staleInstanceAge", second...year) { o.staleInstanceAge = $0 }
        duration("staleTaskAge", second...year) { o.staleTaskAge = $0 }
        duration("staleServiceAge", second...year) { o.staleServiceAge = $0 }
        duration("staleExecutorAge", .seconds(2)...ConfigDuration.seconds(3600)) { o.staleExecutorAge = $0 }
        duration("maxEventsStorageDuration", minute...year) { o.maxEventsStorageDuration = $0 }
        duration("clusterOpTimeout", .seconds(1)...ConfigDuration.seconds(86_400)) { o.clusterOpTimeout = $0 }
        duration("jobRetryInterval", .milliseconds(100)...ConfigDuration.seconds(600)) { o.jobRetryInterval = $0 }
        if let n = f["maxStaleInstancesCount"], let v = r.int(n, at: f.path("maxStaleInstancesCount"), in: 0...4096) { o.maxStaleInstancesCount = v }
        if let n = f["clusterOpParallelism"], let v = r.int(n, at: f.path("clusterOpParallelism"), in: 1...512) { o.clusterOpParallelism = v }
        if let n = f["jobRetryCount"], let v = r.int(n, at: f.path("jobRetryCount"), in: 0...32) { o.jobRetryCount = v }
        if let n = f["allowedMountDirs"], let dirs = r.stringList(n, at: f.path("allowedMountDirs")) {
            for (i, d) in dirs.enumerated() where !d.hasPrefix("/") {
                r.error("\(f.path("allowedMountDirs"))[\(i)]", n, value: d, "a mount directory must be an absolute path", allowed: "e.g. /srv/data")
            }
            o.allowedMountDirs = dirs.map { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        }
        if let n = f["disableReadAuth"], let v = r.bool(n, at: f.path("disableReadAuth")) { o.disableReadAuth = v }
        if let n = f["disableCmdlArgs"], let v = r.bool(n, at: f.path("disableCmdlArgs")) { o.disableCmdlArgs = v }
        if let n = f["enableRawDeviceAccess"], let v = r.bool(n, at: f.path("enableRawDeviceAccess")) { o.enableRawDeviceAccess = v }
        if let n = f["hostname"], let v = r.string(n, at: f.path("hostname"), nonEmpty: true) { o.hostname = v }
        if let n = f["placementStrategy"], let v = r.choice(n, at: f.path("placementStrategy"), as: ClusterScheduler.Strategy.self) { o.placementStrategy = v }
        if let n = f["spreadKey"], let v = r.string(n, at: f.path("spreadKey"), nonEmpty: true) {
            o.spreadKey = v
            if o.placementStrategy != .spread {
                r.warning(f.path("spreadKey"), n, "spreadKey is used only with placementStrategy: spread")
            }
        }
        return o
    }
}
