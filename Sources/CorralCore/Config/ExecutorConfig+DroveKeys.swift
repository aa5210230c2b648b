import Foundation

/// The keys of Drove v1.33's executor config beyond the seed's: registry
/// credentials, the metadata providers, the controllers for RPC mode, the
/// default user, and Dropwizard's `metrics` (accepted with a warning).
extension ExecutorConfig {
    static func readDockerAuth(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> DockerAuthConfig {
        var c = DockerAuthConfig()
        guard let f = r.mapping(node, at: path, known: ["entries"]) else { return c }
        guard let en = f["entries"], let entries = r.mapping(en, at: f.path("entries"), known: mappingKeys(en)) else { return c }
        for (registry, entry) in entries.entries.sorted(by: { $0.key < $1.key }) {
            let p = entries.path(registry)
            let name = DockerAuthConfig.registryName(registry)
            if name.isEmpty || name.contains(where: { $0.isWhitespace }) {
                r.error(p, entry.value, value: registry, "\"\(registry)\" is not a registry", allowed: "a registry host, e.g. registry.example.com:5000 or docker.io")
                continue
            }
            if c.entries.keys.contains(where: { DockerAuthConfig.registryName($0) == name }) {
                r.error(p, entry.value, value: registry, "registry \(name) is given twice", allowed: "one entry per registry")
                continue
            }
            guard let e = r.mapping(entry.value, at: p, known: ["type", "username", "password"]) else { continue }
            guard let tn = e["type"] else {
                r.error(e.path("type"), entry.value, "each entry needs a type", allowed: "CREDENTIALS")
                continue
            }
            guard r.choice(tn, at: e.path("type"), as: DockerAuthConfig.EntryType.self) != nil else { continue }
            let user = e["username"].flatMap { r.string($0, at: e.path("username"), nonEmpty: true) }
            if e["username"] == nil { r.error(e.path("username"), entry.value, "a CREDENTIALS entry needs a username", allowed: "a non-empty string") }
            let password = e["password"].flatMap { r.secret($0, at: e.path("password")) }
            if e["password"] == nil { r.error(e.path("password"), entry.value, "a CREDENTIALS entry needs a password", allowed: "a non-empty string (e.g. ${REGISTRY_PASSWORD})") }
            if let user, let password { c.entries[registry] = .init(username: user, password: password) }
        }
        if entries.entries.isEmpty { r.warning(f.path("entries"), en, "no registry credentials are given") }
        return c
    }

    static func readMetadata(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> MetadataConfig {
        var m = MetadataConfig()
        guard let f = r.mapping(node, at: path, known: ["metadataProviders", "valueMaxLimit", "blacklistedKeys"]) else { return m }
        if let n = f["valueMaxLimit"], let v = r.int(n, at: f.path("valueMaxLimit"), in: 1...1_048_576) { m.valueMaxLimit = v }
        if let n = f["blacklistedKeys"], let list = r.stringList(n, at: f.path("blacklistedKeys")) {
            for (i, pattern) in list.enumerated() { regex(pattern, r, "\(f.path("blacklistedKeys"))[\(i)]", n) }
            m.blacklistedKeys = list
        }
        guard let pn = f["metadataProviders"], let providers = r.mapping(pn, at: f.path("metadataProviders"), known: mappingKeys(pn)) else { return m }
        for (name, entry) in providers.entries.sorted(by: { $0.key < $1.key }) {
            let p = providers.path(name)
            guard let tn = field(entry.value, "type") else {
                r.error(p + ".type", entry.value, "each metadata provider needs a type", allowed: MetadataConfig.ProviderType.allCases.map(\.rawValue).joined(separator: ", "))
                continue
            }
            guard let type = r.choice(tn, at: p + ".type", as: MetadataConfig.ProviderType.self) else { continue }
            switch type {
            case .CONFIGURED:
                guard let e = r.mapping(entry.value, at: p, known: ["type", "metadata"]) else { continue }
                guard let mn = e["metadata"], let values = r.stringMap(mn, at: e.path("metadata")) else {
                    if e["metadata"] == nil { r.error(e.path("metadata"), entry.value, "a CONFIGURED provider needs metadata", allowed: "a mapping of keys to values") }
                    continue
                }
                m.providers[name] = .configured(values)
            case .ENVIRONMENT:
                guard let e = r.mapping(entry.value, at: p, known: ["type", "whitelistedVariables"]) else { continue }
                guard let wn = e["whitelistedVariables"], let list = r.stringList(wn, at: e.path("whitelistedVariables")), !list.isEmpty else {
                    r.error(e.path("whitelistedVariables"), entry.value, "an ENVIRONMENT provider needs whitelistedVariables", allowed: "a non-empty list of regular expressions (e.g. RACK_.*)")
                    continue
                }
                for (i, pattern) in list.enumerated() { regex(pattern, r, "\(e.path("whitelistedVariables"))[\(i)]", wn) }
                m.providers[name] = .environment(whitelistedVariables: list)
            case .DYNAMIC_COMMAND:
                guard let e = r.mapping(entry.value, at: p, known: ["type", "commandRerunInSecs", "commands"]) else { continue }
                var rerun = 60
                if let n = e["commandRerunInSecs"], let v = r.int(n, at: e.path("commandRerunInSecs"), in: 1...86_400) { rerun = v }
                else if e["commandRerunInSecs"] == nil {
                    r.error(e.path("commandRerunInSecs"), entry.value, "a DYNAMIC_COMMAND provider needs commandRerunInSecs", allowed: "seconds from 1 to 86400")
                }
                guard let cn = e["commands"], let commands = r.mapping(cn, at: e.path("commands"), known: mappingKeys(cn)) else {
                    if e["commands"] == nil { r.error(e.path("commands"), entry.value, "a DYNAMIC_COMMAND provider needs commands", allowed: "a mapping of keys to {type, command, defaultValue}") }
                    continue
                }
                var out: [String: MetadataConfig.Command] = [:]
                for (key, c) in commands.entries {
                    guard let cf = r.mapping(c.value, at: commands.path(key), known: ["type", "command", "defaultValue"]) else { continue }
                    let ct = cf["type"].flatMap { r.choice($0, at: cf.path("type"), as: MetadataConfig.CommandType.self) }
                    let command = cf["command"].flatMap { r.string($0, at: cf.path("command"), nonEmpty: true) }
                    let fallback = cf["defaultValue"].flatMap { r.string($0, at: cf.path("defaultValue"), nonEmpty: true) }
                    for (k, v) in [("type", cf["type"]), ("command", cf["command"]), ("defaultValue", cf["defaultValue"])] where v == nil {
                        r.error(cf.path(k), c.value, "each command needs \(k)", allowed: k == "type" ? "STATIC, DYNAMIC" : "a non-empty string")
                    }
                    if let ct, let command, let fallback { out[key] = .init(type: ct, command: command, defaultValue: fallback) }
                }
                m.providers[name] = .dynamicCommand(rerunSeconds: rerun, commands: out)
            }
        }
        return m
    }

    /// The value under `key` of a mapping node (before its keys are checked).
    static func field(_ node: ConfigNode, _ key: String) -> ConfigNode? {
        guard case .mapping(let entries) = node.value else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// Reports `pattern` when it is not a regular expression.
    static func regex(_ pattern: String, _ r: ConfigReader, _ path: String, _ node: ConfigNode) {
        if (try? NSRegularExpression(pattern: pattern)) == nil {
            r.error(path, node, value: pattern, "\"\(pattern)\" is not a regular expression", allowed: "a regular expression matched against the whole name, e.g. RACK_.*")
        }
    }

    static func readControllers(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> ControllersConfig? {
        guard let f = r.mapping(node, at: path, known: ["endpoints", "leadershipCheckInterval"]) else { return nil }
        var c = ControllersConfig(endpoints: [])
        if let n = f["leadershipCheckInterval"],
           let v = r.duration(n, at: f.path("leadershipCheckInterval"), in: .seconds(3)...ConfigDuration.seconds(60)) {
            c.leadershipCheckInterval = v
        }
        guard let en = f["endpoints"], let list = r.stringList(en, at: f.path("endpoints")), !list.isEmpty else {
            r.error(f.path("endpoints"), f["endpoints"] ?? node, "controllers needs endpoints", allowed: "a non-empty list of URLs, e.g. http://controller-1:10000")
            return nil
        }
        for (i, url) in list.enumerated() {
            guard let u = URL(string: url), ["http", "https"].contains(u.scheme ?? ""), u.host != nil else {
                r.error("\(f.path("endpoints"))[\(i)]", en, value: url, "\"\(url)\" is not a controller URL", allowed: "http://host:port or https://host:port")
                continue
            }
            c.endpoints.append(url.hasSuffix("/") ? String(url.dropLast()) : url)
        }
        return c
    }

    static func readUserSpec(_ node: ConfigNode, _ r: ConfigReader, _ path: String) -> UserSpec? {
        guard let f = r.mapping(node, at: path, known: ["user", "group"]) else { return nil }
        guard let un = f["user"], let user = r.string(un, at: f.path("user"), nonEmpty: true) else {
            if f["user"] == nil { r.error(f.path("user"), node, "defaultUserSpec needs a user", allowed: "a user name or uid, e.g. 1000") }
            return nil
        }
        let group = f["group"].flatMap { r.string($0, at: f.path("group"), nonEmpty: true) }
        for (key, v) in [("user", user), ("group", group ?? "x")] where !v.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) {
            r.error(f.path(key), f[key], value: v, "\"\(v)\" is not a user or group", allowed: "a name (letters, digits, ., _, -) or a numeric id")
        }
        return UserSpec(user: user, group: group)
    }

    /// Cross-checks of the new keys, once everything is read.
    static func checkRemoteUpdate(_ c: ExecutorConfig, _ r: ConfigReader, controllersNode: ConfigNode?, optionsNode: ConfigNode?) {
        guard c.options.remoteUpdateMode == .RPC else {
            if let n = controllersNode, c.zookeeper != nil {
                r.warning("controllers", n, "controllers.endpoints are used with options.remoteUpdateMode: RPC; in STORE mode (the default) the executor finds the leader in ZooKeeper")
            }
            return
        }
        if c.controllers?.endpoints.isEmpty ?? true, controllersNode == nil {
            r.error("options.remoteUpdateMode", optionsNode, value: "RPC", "RPC mode needs the controllers to talk to",
                    allowed: "controllers: {endpoints: [http://controller-1:10000, ...]}, or remoteUpdateMode: STORE with zookeeper")
        }
        if c.zookeeper != nil {
            r.warning("zookeeper", nil, "options.remoteUpdateMode is RPC: the executor does not use ZooKeeper (the controllers keep its node data)")
        }
    }
}
