import CorralCore
import PropertyBased
import Testing

@Suite struct ExecutorConfigTests {
    func load(_ yaml: String, env: [String: String] = [:]) throws(ConfigError) -> Loaded<ExecutorConfig> {
        try ExecutorConfig.load(yaml: yaml, file: "executor.yml", environment: env)
    }

    func errors(_ yaml: String, env: [String: String] = [:]) -> [ConfigIssue] {
        do {
            _ = try load(yaml, env: env)
            Issue.record("expected the config to be refused")
            return []
        } catch {
            return error.errors
        }
    }

    @Test func emptyFileGivesDefaults() throws {
        let l = try load("")
        #expect(l.config.server.applicationConnectors.map(\.port) == [8080])
        #expect(l.config.resources.numaPolicy == .require)
        #expect(l.config.options.maxOpenFiles == 470_000)
        #expect(l.config.options.logBufferSize.bytes == 10_000_000)
        #expect(l.warnings.count == 1)
    }

    @Test func readsEveryResourceAndOption() throws {
        let c = try load("""
        resources:
          osCores: [0, 1, 2, 3]
          exposedMemPercentage: 90
          disableNUMAPinning: false
          enableNvidiaGpu: true
          tags: [gpu, fast]
          numaPolicy: prefer
          fullPhysicalCores: true
        options:
          hostname: node-1
          cacheImages: true
          containerCommandTimeout: 45 seconds
          dockerSocketPath: unix:///run/podman/podman.sock
          maxOpenFiles: 10_000
          logBufferSize: 5m
          cacheFileSize: 30MiB
          cacheFileCount: 7
          stateDir: /var/lib/corral
        """).config
        #expect(c.resources.osCores == [0, 1, 2, 3])
        #expect(c.resources.exposedMemPercentage == 90)
        #expect(c.resources.enableNvidiaGpu)
        #expect(c.resources.tags == ["gpu", "fast"])
        #expect(c.resources.numaPolicy == .prefer)
        #expect(c.resources.fullPhysicalCores)
        #expect(c.options.hostname == "node-1")
        #expect(c.options.cacheImages)
        #expect(c.options.containerCommandTimeout == .seconds(45))
        #expect(c.options.dockerSocketPath == "/run/podman/podman.sock")
        #expect(c.options.maxOpenFiles == 10_000)
        #expect(c.options.logBufferSize.bytes == 5_000_000)
        #expect(c.options.cacheFileSize.bytes == 30 << 20)
        #expect(c.options.cacheFileCount == 7)
        #expect(c.options.stateDir == "/var/lib/corral")
    }

    @Test func osCoresAlsoTakeKernelListSyntax() throws {
        #expect(try load("resources:\n  osCores: \"0-1,40-41\"").config.resources.osCores == [0, 1, 40, 41])
    }

    @Test func overProvisioning() throws {
        let c = try load("""
        resources:
          disableNUMAPinning: true
          overProvisioning: { enabled: true, cpuMultiplier: 3, memoryMultiplier: 2 }
        """).config.resources
        #expect(c.overProvisioning == { var o = OverProvisioning(); o.enabled = true; o.cpuMultiplier = 3; o.memoryMultiplier = 2; return o }())
        let refused = errors("""
        resources:
          disableNUMAPinning: false
          overProvisioning: { enabled: true, cpuMultiplier: 21 }
        """)
        #expect(refused.map(\.path).sorted() == ["resources.overProvisioning.cpuMultiplier", "resources.overProvisioning.enabled"])
    }

    /// `corral run`'s two keys: defaults, a good value, a bad one named with what is allowed.
    @Test func theRunSocketAndConfigPaths() throws {
        let d = try load("").config.options
        #expect(d.runSocketPath == "/run/corral/run.sock" && d.runConfigPath == "/etc/corral/run.toml")
        let c = try load("options:\n  runSocketPath: /var/run/corral-run.sock\n  runConfigPath: /srv/corral/run.toml").config.options
        #expect(c.runSocketPath == "/var/run/corral-run.sock" && c.runConfigPath == "/srv/corral/run.toml")
        #expect(try load("options:\n  runSocketPath: \"\"").config.options.runSocketPath.isEmpty, "no socket")
        let issues = errors("options:\n  runSocketPath: run.sock\n  runConfigPath: run.toml")
        let byPath = Dictionary(grouping: issues, by: \.path)
        #expect(byPath["options.runSocketPath"]?.first?.value == "run.sock" && byPath["options.runSocketPath"]?.first?.allowed?.contains("absolute path") == true)
        #expect(byPath["options.runConfigPath"]?.first?.value == "run.toml" && byPath["options.runConfigPath"]?.first?.location?.line == 3)
    }

    @Test func everyErrorIsReportedWithPathValueAndAllowed() {
        let issues = errors("""
        server:
          applicationConnectors:
            - type: htp
              port: 70000
        resources:
          exposedMemPercentage: 120
          numaPolicy: strict
        options:
          logBufferSize: 200MB
          cacheFileSize: 5MB
          cacheFileCount: 2000
          containerCommandTimeout: 30
          cacheImages: maybe
        """)
        let byPath = Dictionary(grouping: issues, by: \.path)
        #expect(issues.count == 9)
        let mem = byPath["resources.exposedMemPercentage"]?.first
        #expect(mem?.value == "120")
        #expect(mem?.allowed == "an integer from 50 to 100")
        #expect(mem?.location == SourceLocation(line: 6, column: 25))
        #expect(byPath["server.applicationConnectors[0].type"]?.first?.message.contains("did you mean \"http\"") == true)
        #expect(byPath["server.applicationConnectors[0].port"]?.first?.allowed == "an integer from 0 to 65535")
        #expect(byPath["resources.numaPolicy"]?.first?.allowed == "require, prefer")
        #expect(byPath["options.logBufferSize"]?.first?.allowed == "1MB to 128MB")
        #expect(byPath["options.cacheFileSize"]?.first?.allowed == "10MB to 100GB")
        #expect(byPath["options.cacheFileCount"]?.first?.allowed == "an integer from 1 to 1024")
        #expect(byPath["options.containerCommandTimeout"] != nil)
        #expect(byPath["options.cacheImages"]?.first?.value == "maybe")
        let text = ConfigError(file: "executor.yml", issues: issues).message
        #expect(text.hasPrefix("executor.yml: 9 errors"))
        #expect(text.contains("executor.yml:6:25: error: resources.exposedMemPercentage: 120 is out of range (allowed: an integer from 50 to 100)"))
    }

    @Test func unknownKeysSuggestTheNearestKnownKey() {
        let issues = errors("""
        resources:
          exposedMemPercent: 90
          osCore: [0]
        optons:
          cacheImages: true
        """)
        let messages = issues.map(\.message)
        #expect(messages.contains("unknown key \"exposedMemPercent\"; did you mean \"exposedMemPercentage\"?"))
        #expect(messages.contains("unknown key \"osCore\"; did you mean \"osCores\"?"))
        #expect(messages.contains("unknown key \"optons\"; did you mean \"options\"?"))
        #expect(issues.first { $0.path == "optons" }?.location?.line == 4)
    }

    @Test func duplicateKeysWarnAndTheLastWins() throws {
        let l = try load("options:\n  cacheImages: true\n  maxOpenFiles: 100\n  cacheImages: false\n")
        #expect(l.config.options.cacheImages == false)
        #expect(l.warnings.count == 1)
        #expect(l.warnings[0].path == "options.cacheImages")
        #expect(l.warnings[0].message.contains("first at line 2"))
    }

    @Test func variablesAreSubstitutedInScalarsOnly() throws {
        let env = ["PCT": "70", "TAG": "a, b]\nresources: {exposedMemPercentage: 50}", "HOST": "n1"]
        let c = try load("""
        resources:
          exposedMemPercentage: ${PCT}
          tags: ["${TAG}", "${UNSET:-fallback}", "$${LITERAL}"]
        options:
          hostname: ${HOST}
        """, env: env).config
        #expect(c.resources.exposedMemPercentage == 70)
        // The variable's value stays one string: no structure was injected.
        #expect(c.resources.tags == [env["TAG"]!, "fallback", "${LITERAL}"])
        #expect(c.options.hostname == "n1")
    }

    @Test func aMissingVariableIsAnErrorNamingIt() {
        let issues = errors("zookeeper:\n  connectionString: ${ZK_CONNECTION_STRING}\n")
        #expect(issues.count == 1)
        #expect(issues[0].message == "environment variable ZK_CONNECTION_STRING is not set")
        #expect(issues[0].path == "zookeeper.connectionString")
    }

    @Test func secretsNeverAppearInMessages() throws {
        let secret = "s3cr3t-Value-9f8e7d"
        let l = try load("""
        clusterAuth:
          secrets:
            - nodeType: CONTROLLER
              secret: \(secret)
        """)
        let s = try #require(l.config.clusterAuth.secrets[.CONTROLLER])
        #expect(s.value == secret)
        #expect("\(s)" == "<redacted>")
        #expect(!String(describing: l.config).contains(secret))
        // An invalid neighbour must not echo the secret either.
        let issues = errors("""
        clusterAuth:
          secrets:
            - nodeType: CONTROLER
              secret: \(secret)
            - nodeType: EXECUTOR
              secret: ""
        """)
        #expect(issues.count == 2)
        #expect(issues[0].message.contains("did you mean \"CONTROLLER\""))
        for i in issues { #expect(!i.description.contains(secret)) }
    }

    @Test func timeZonesByIdOrCommonAbbreviation() throws {
        let c = try load("""
        logging:
          appenders:
            - type: console
              timeZone: IST
            - type: console
              timeZone: Europe/Berlin
            - type: console
              timeZone: GMT+05:30
        """).config
        let zones = c.logging.appenders.map(\.common.timeZone.identifier)
        #expect(zones[0] == "Asia/Kolkata")
        #expect(zones[1] == "Europe/Berlin")
        #expect(c.logging.appenders[2].common.timeZone.timeZone.secondsFromGMT() == 19_800)
        let issues = errors("logging:\n  appenders:\n    - type: console\n      timeZone: Mars/Olympus\n")
        #expect(issues.first?.path == "logging.appenders[0].timeZone")
    }

    @Test func fileAppendersFollowDropwizardRules() {
        let issues = errors("""
        logging:
          appenders:
            - type: file
              archive: true
              maxFileSize: 10MiB
              archivedLogFilenamePattern: /logs/x-%d.log
            - type: drove
              archivedFileCount: -1
            - type: syslog
        """)
        let paths = Set(issues.map(\.path))
        #expect(paths == ["logging.appenders[0].currentLogFilename", "logging.appenders[0].archivedLogFilenamePattern",
                          "logging.appenders[1].archivedFileCount", "logging.appenders[1].logPath",
                          "logging.appenders[2].type"])
    }

    @Test func yamlSyntaxErrorsPointAtTheLine() {
        let issues = errors("resources:\n  osCores: [0, 1\noptions: {}\n")
        #expect(issues.count == 1)
        #expect(issues[0].message.hasPrefix("YAML syntax:"))
        #expect(issues[0].location != nil)
    }

    @Test func wrongShapesAreNamed() {
        let issues = errors("resources: [1, 2]\noptions:\n  cacheImages: [true]\n")
        #expect(issues.map(\.path).sorted() == ["options.cacheImages", "resources"])
        #expect(issues.first { $0.path == "resources" }?.message == "expected a mapping of keys to values, found a list")
    }

    // MARK: properties

    @Test func exposedMemPercentageAcceptsExactlyFiftyToHundred() async {
        await propertyCheck(input: Gen.int(in: -1000...1000)) { n in
            let result = try? load("resources:\n  exposedMemPercentage: \(n)\n")
            #expect((result != nil) == (50...100).contains(n))
            if let result { #expect(result.config.resources.exposedMemPercentage == n) }
        }
    }

    @Test func multipliersAcceptExactlyOneToTwenty() async {
        await propertyCheck(input: Gen.int(in: -5...40), Gen.int(in: -5...40)) { cpu, mem in
            let yaml = "resources:\n  disableNUMAPinning: true\n  overProvisioning:\n    enabled: true\n    cpuMultiplier: \(cpu)\n    memoryMultiplier: \(mem)\n"
            let ok = (try? load(yaml)) != nil
            #expect(ok == ((1...20).contains(cpu) && (1...20).contains(mem)))
        }
    }

    @Test func logBufferSizeRangeHoldsInBytes() async {
        await propertyCheck(input: Gen.int(in: 0...300_000)) { kb in
            let ok = (try? load("options:\n  logBufferSize: \(kb)KB\n")) != nil
            #expect(ok == (1000...128_000).contains(kb))
        }
    }

    @Test func arbitraryTextNeverCrashesAndErrorsAlwaysSayWhere() async {
        let alphabet = Gen.element(of: Array("abc:{}[]-,'\"\n #&*!|>%@`0123456789$"))
        await propertyCheck(input: alphabet.array(of: 0...60)) { chars in
            do {
                _ = try load(String(chars.compactMap { $0 }))
            } catch let error as ConfigError {
                #expect(!error.errors.isEmpty)
                for i in error.errors { #expect(i.file == "executor.yml") }
            }
        }
    }
}
