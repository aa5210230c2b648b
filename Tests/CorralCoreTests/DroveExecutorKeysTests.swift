import CorralCore
import PropertyBased
import Testing

/// Drove v1.33's executor keys: an executor config written the way Drove's
/// own examples are (defaultUserSpec, remoteUpdateMode RPC with controllers,
/// a metrics section, registry credentials, metadata providers) loads with
/// their meaning; each bad value is named with what is allowed.
@Suite struct DroveExecutorKeysTests {
    func load(_ yaml: String, env: [String: String] = [:]) throws(ConfigError) -> Loaded<ExecutorConfig> {
        try ExecutorConfig.load(yaml: yaml, file: "executor.yml", environment: env)
    }

    func errors(_ yaml: String) -> [ConfigIssue] {
        do {
            _ = try load(yaml)
            Issue.record("expected the config to be refused")
            return []
        } catch {
            return error.errors
        }
    }

    @Test func aDroveStyleConfigLoadsWithEveryNewKey() throws {
        let l = try load("""
        options:
          hostname: localhost
          cacheImages: true
          maxOpenFiles: 10_000
          defaultUserSpec:
            user: 1000
            group: 1000
          remoteUpdateMode: RPC
          controllerConnectTimeout: 2s
          controllerResponseTimeout: 3 seconds
        resources:
          osCores: [0, 1]
          metadata:
            valueMaxLimit: 64
            blacklistedKeys: ["secret.*"]
            metadataProviders:
              site:
                type: CONFIGURED
                metadata: { rack: r1, row: "7" }
              env:
                type: ENVIRONMENT
                whitelistedVariables: ["DC_.*"]
              probes:
                type: DYNAMIC_COMMAND
                commandRerunInSecs: 30
                commands:
                  kernel: { type: STATIC, command: "uname -r", defaultValue: unknown }
                  load: { type: DYNAMIC, command: "cut -d' ' -f1 /proc/loadavg", defaultValue: "0" }
        dockerAuth:
          entries:
            registry.example.com:5000:
              type: CREDENTIALS
              username: puller
              password: ${REGISTRY_PASSWORD}
        metrics:
          frequency: 1 minute
          reporters:
            - type: console
        controllers:
          endpoints:
            - http://host-1:10000
            - http://host-2:10010/
          leadershipCheckInterval: 5s
        """, env: ["REGISTRY_PASSWORD": "pa55-w0rd"])
        let c = l.config
        #expect(c.options.defaultUserSpec == UserSpec(user: "1000", group: "1000"))
        #expect(c.options.remoteUpdateMode == .RPC)
        #expect(c.options.controllerConnectTimeout == .seconds(2) && c.options.controllerResponseTimeout == .seconds(3))
        #expect(c.controllers?.endpoints == ["http://host-1:10000", "http://host-2:10010"])
        #expect(c.controllers?.leadershipCheckInterval == .seconds(5))
        let creds = try #require(c.dockerAuth.credentials(for: "registry.example.com:5000/team/app:1"))
        #expect(creds.registry == "registry.example.com:5000" && creds.credentials.username == "puller" && creds.credentials.password.value == "pa55-w0rd")
        #expect(c.dockerAuth.credentials(for: "docker.io/library/busybox") == nil)
        #expect(c.resources.metadata.valueMaxLimit == 64 && c.resources.metadata.blacklistedKeys == ["secret.*"])
        #expect(c.resources.metadata.providers["site"] == .configured(["rack": "r1", "row": "7"]))
        #expect(c.resources.metadata.providers["env"] == .environment(whitelistedVariables: ["DC_.*"]))
        guard case .dynamicCommand(30, let commands) = c.resources.metadata.providers["probes"] else {
            Issue.record("probes: \(String(describing: c.resources.metadata.providers["probes"]))")
            return
        }
        #expect(commands["kernel"] == .init(type: .STATIC, command: "uname -r", defaultValue: "unknown"))
        #expect(commands["load"]?.type == .DYNAMIC)
        // Dropwizard's metrics reporters: accepted, with a warning naming what Corral offers.
        let metrics = try #require(l.warnings.first { $0.path == "metrics" })
        #expect(metrics.message.contains("/metrics") && metrics.message.contains("Prometheus"))
        // The password is in no message.
        #expect(!l.warnings.map(\.description).joined().contains("pa55-w0rd"))
    }

    @Test func theDefaultsAreDroves() throws {
        let c = try load("").config
        #expect(c.options.remoteUpdateMode == .STORE && c.options.defaultUserSpec == nil)
        #expect(c.options.controllerConnectTimeout == .seconds(1) && c.options.controllerResponseTimeout == .seconds(1))
        #expect(c.controllers == nil && c.dockerAuth.entries.isEmpty)
        #expect(c.resources.metadata.valueMaxLimit == 1024 && c.resources.metadata.providers.isEmpty)
    }

    @Test func everyBadValueIsNamedWithWhatIsAllowed() {
        let issues = errors("""
        options:
          remoteUpdateMode: RCP
          defaultUserSpec: { group: 1000 }
          controllerConnectTimeout: 0ms
        resources:
          metadata:
            valueMaxLimit: 0
            blacklistedKeys: ["(["]
            metadataProviders:
              a: { type: CONFIGURD, metadata: {} }
              b: { type: ENVIRONMENT, whitelistedVariables: [] }
              c: { type: DYNAMIC_COMMAND, commandRerunInSecs: 0, commands: { k: { type: SOMETIMES, command: "true" } } }
        dockerAuth:
          entries:
            registry.example.com: { type: TOKEN, username: u, password: p }
            other.example.com: { type: CREDENTIALS, username: u }
        controllers:
          endpoints: ["ftp://host-1:10000"]
          leadershipCheckInterval: 2s
        """)
        let text = issues.map(\.description).joined(separator: "\n")
        for needle in ["options.remoteUpdateMode", "STORE, RPC", "options.defaultUserSpec.user", "a user name or uid",
                       "options.controllerConnectTimeout", "resources.metadata.valueMaxLimit", "resources.metadata.blacklistedKeys[0]",
                       "is not a regular expression", "resources.metadata.metadataProviders.a.type", "CONFIGURED, ENVIRONMENT, DYNAMIC_COMMAND",
                       "metadataProviders.b.whitelistedVariables", "metadataProviders.c.commandRerunInSecs",
                       "metadataProviders.c.commands.k.type", "STATIC, DYNAMIC", "commands.k.defaultValue",
                       "dockerAuth.entries.registry.example.com.type", "CREDENTIALS", "dockerAuth.entries.other.example.com.password",
                       "controllers.endpoints[0]", "http://host:port", "controllers.leadershipCheckInterval"] {
            #expect(text.contains(needle), "missing \(needle) in:\n\(text)")
        }
        // RPC without controllers: nowhere to send the snapshots.
        let rpc = errors("options:\n  remoteUpdateMode: RPC")
        #expect(rpc.contains { $0.path == "options.remoteUpdateMode" && $0.allowed?.contains("controllers") == true }, "\(rpc)")
    }

    /// What is published: never a blacklisted key, never a value over the
    /// limit, never a key two providers give; and everything else is.
    @Test func publishedMetadataFollowsDrovesRules() async {
        let key = Gen.letterOrNumber.string(of: 1...3)
        let value = Gen.letterOrNumber.string(of: 0...12)
        let provider = zip(key, value).dictionary(ofAtMost: 0...6)
        let input = zip(provider, provider, provider, Gen.int(in: 1...10))
        await propertyCheck(count: 300, input: input) { a, b, c, limit in
            var config = MetadataConfig()
            config.valueMaxLimit = limit
            config.blacklistedKeys = ["a.*", "[0-9]"]
            let byProvider = ["a": a, "b": b, "c": c]
            let (out, dropped) = config.publish(byProvider)
            for (k, v) in out {
                #expect(!k.hasPrefix("a") && !(k.count == 1 && k.first!.isNumber), "blacklisted \(k) published")
                #expect(v.count <= limit)
                #expect(byProvider.values.filter { $0[k] != nil }.count == 1)
            }
            let all = Set(byProvider.values.flatMap(\.keys))
            #expect(out.count + dropped.count == all.count, "every key is published or dropped, once")
        }
    }
}
