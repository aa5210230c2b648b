import CorralCore
import Foundation
import Testing

@Suite struct ControllerConfigTests {
    func load(_ yaml: String, env: [String: String] = [:]) throws(ConfigError) -> Loaded<ControllerConfig> {
        try ControllerConfig.load(yaml: yaml, file: "controller.yml", environment: env)
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

    static let drove = """
    server:
      applicationConnectors:
        - type: http
          port: 10000
      adminConnectors:
        - type: http
          port: 10001
      applicationContextPath: /
      requestLog:
        appenders: []
    logging:
      level: INFO
      loggers:
        com.phonepe.drove: DEBUG
      appenders:
        - type: console
          threshold: TRACE
          timeZone: IST
          logFormat: "%(%-5level) [%date] [%logger{0} - %X{appId}] %message%n"
    zookeeper:
      connectionString: localhost:2181
    clusterAuth:
      secrets:
      - nodeType: CONTROLLER
        secret: LocalControllerSecret
      - nodeType: EXECUTOR
        secret: LocalExecutorSecret
    userAuth:
      enabled: true
      encoding: CRYPT
      users:
        - username: admin
          password: "$2a$12$7ADQPo.ahYCksfRggvn6cut/BpwjahoNkvwPARIjCSbIvPdyTbEEK"
          role: EXTERNAL_READ_WRITE
        - username: guest
          password: "$2a$12$YHtK/Rc52bjEmVOF7Tz6jeKZ62kFZP98jJF0Ml9Cuwv4lW8w9ZbNm"
          role: EXTERNAL_READ_ONLY
    instanceAuth:
      secret: RandomSecret
    options:
      maxStaleInstancesCount: 3
      staleCheckInterval: 1m
      staleAppAge: 2d
      staleInstanceAge: 1d
      staleTaskAge: 1d
      clusterOpParallelism: 32
      allowedMountDirs:
       - /tmp
       - /home/
      disableReadAuth: true
      compiledRuleCacheCount: 2
      enableRawDeviceAccess: true
      allowedRuleImportPackages:
        - com.phonepe.drove.rules
    """

    @Test func drovesControllerConfigLoadsAsWritten() throws {
        let l = try load(Self.drove)
        let c = l.config
        #expect(c.server.applicationConnectors.map(\.port) == [10000])
        #expect(c.zookeeper.connectionString == "localhost:2181" && c.zookeeper.namespace == "drove")
        #expect(c.clusterAuth.secrets[.CONTROLLER]?.value == "LocalControllerSecret")
        #expect(c.userAuth.enabled && c.userAuth.encoding == .CRYPT)
        #expect(c.userAuth.users.map(\.username) == ["admin", "guest"])
        #expect(c.userAuth.users.map(\.role) == [.EXTERNAL_READ_WRITE, .EXTERNAL_READ_ONLY])
        #expect(c.instanceAuth?.value == "RandomSecret")
        #expect(c.options.maxStaleInstancesCount == 3 && c.options.clusterOpParallelism == 32)
        #expect(c.options.staleAppAge == .seconds(2 * 86_400) && c.options.staleCheckInterval == .seconds(60))
        #expect(c.options.allowedMountDirs == ["/tmp", "/home"])
        #expect(c.options.disableReadAuth && c.options.enableRawDeviceAccess)
        // Drove's MVEL rule options mean nothing here: accepted, with a warning each.
        let warned = Set(l.warnings.map(\.path))
        #expect(warned.isSuperset(of: ["options.compiledRuleCacheCount", "options.allowedRuleImportPackages"]))
        // Secrets never appear in what is printed about the config.
        #expect(!"\(c.clusterAuth.secrets)".contains("LocalControllerSecret"))
        #expect(!"\(c.userAuth.users)".contains("$2a$12$7ADQ"))
    }

    @Test func everyProblemIsNamedWithItsKeyAndWhatIsAllowed() {
        let errs = errors("""
        zookeeper:
          connectionString: "zk1:99999"
        userAuth:
          enabled: true
          encoding: CRYPT
          users:
          - { username: ops, password: "$2b$05$abc", role: EXTERNAL_READ_WRTE }
          - { username: admin, password: plain-text, role: EXTERNAL_READ_ONLY }
          - { username: admin, password: "$2b$05$abc", role: EXTERNAL_READ_ONLY }
        options:
          clusterOpParallelism: 0
          staleAppAge: 0s
          allowedMountDirs: [relative/dir]
          staleInstanceAgee: 1d
          placementStrategy: sprad
        """)
        let paths = Set(errs.map(\.path))
        #expect(errs.contains { $0.path == "options.placementStrategy" && $0.message.contains("did you mean \"spread\"") && $0.allowed == "pack, spread" })
        for p in ["zookeeper.connectionString", "userAuth.users[0].role", "userAuth.users[1].password", "userAuth.users[2].username", "options.clusterOpParallelism",
                  "options.staleAppAge", "options.allowedMountDirs[0]", "options.staleInstanceAgee"] {
            #expect(paths.contains(p), "\(p) in \(paths)")
        }
        #expect(errs.contains { $0.path == "options.staleInstanceAgee" && $0.message.contains("did you mean \"staleInstanceAge\"") })
        #expect(errs.contains { $0.path == "userAuth.users[0].role" && $0.message.contains("EXTERNAL_READ_WRITE") })
        // The CRYPT check names the user, never the password.
        let crypt = errs.first { $0.message.contains("crypt(3)") }
        #expect(crypt?.message.contains("admin") == true)
        #expect(!errs.contains { $0.description.contains("plain-text") })
    }

    @Test func theSpreadStrategyAndItsKeyAreRead() throws {
        let l = try load("""
        zookeeper: { connectionString: "zk:2181" }
        options: { placementStrategy: SPREAD, spreadKey: rack }
        """)
        #expect(l.config.options.placementStrategy == .spread && l.config.options.spreadKey == "rack")
        let w = try load("""
        zookeeper: { connectionString: "zk:2181" }
        options: { spreadKey: rack }
        """)
        #expect(w.config.options.placementStrategy == .pack)
        #expect(w.warnings.contains { $0.path == "options.spreadKey" && $0.severity == .warning })
    }

    @Test func aControllerNeedsZooKeeperAndUsersWhenAuthIsOn() {
        #expect(errors("clusterAuth: {}").contains { $0.path == "zookeeper" })
        #expect(errors("""
        zookeeper: { connectionString: "zk:2181" }
        userAuth: { enabled: true }
        """).contains { $0.path == "userAuth.users" && $0.message.contains("nobody could call") })
    }

    @Test func theShippedExampleLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("examples/controller.yml"), encoding: .utf8)
        let l = try load(text, env: ["DROVE_CONTROLLER_SECRET": "c", "DROVE_EXECUTOR_SECRET": "e"])
        #expect(l.config.options.allowedMountDirs == ["/srv"])
        #expect(l.config.clusterAuth.secrets[.EXECUTOR]?.value == "e")
    }
}
