import CorralCore
import Foundation
import Testing

@Suite struct SpecTests {
    static let documentedInstance = """
    {
      "appId": "billing-1",
      "appName": "billing",
      "executable": { "type": "DOCKER", "url": "localhost/corral-test:1", "pullPolicy": "IF_NOT_PRESENT" },
      "resources": [ { "type": "CPU", "count": 2 }, { "type": "MEMORY", "sizeInMB": 512 }, { "type": "GPU", "count": 1 } ],
      "exposedPorts": [ { "name": "main", "port": 8000, "type": "HTTP" } ],
      "volumes": [ { "pathInContainer": "/data", "pathOnHost": "/srv/data", "mode": "READ_WRITE" } ],
      "env": { "LOG_LEVEL": "info", "TZ": "" },
      "args": [ "--serve" ],
      "readiness":   { "mode": { "type": "HTTP", "portName": "main", "path": "/ready",
                                 "verb": "GET", "successCodes": [200], "connectionTimeout": "1s" },
                       "timeout": "1s", "interval": "1s", "attempts": 10, "initialDelay": "0s" },
      "healthcheck": { "mode": { "type": "CMD", "command": "test -f /tmp/healthy" },
                       "timeout": "1s", "interval": "5s", "attempts": 3, "initialDelay": "0s" },
      "preShutdown": { "hooks": [ { "type": "HTTP", "portName": "main", "path": "/drain", "verb": "POST" } ],
                       "waitBeforeKill": "3s" },
      "user": { "user": "1000", "group": "1000" }
    }
    """

    @Test func theDocumentedInstanceSpecParses() throws {
        let s = try InstanceSpec.parse(json: Data(Self.documentedInstance.utf8), environment: ["TZ": "Asia/Kolkata"])
        #expect(s.appId == "billing-1")
        #expect(s.executable == .docker(image: "localhost/corral-test:1", pullPolicy: .IF_NOT_PRESENT))
        #expect(s.resources == ResourceRequest(cpus: 2, memoryBytes: 512 << 20, gpus: 1))
        #expect(s.exposedPorts == [PortSpec(name: "main", port: 8000, type: .HTTP)])
        #expect(s.env == ["LOG_LEVEL": "info", "TZ": "Asia/Kolkata"], "an empty value copies the executor's variable")
        #expect(s.readiness?.attempts == 10)
        if case .http(let h) = s.readiness?.mode {
            #expect(h.path == "/ready" && h.successCodes == [200] && h.verb == .GET)
        } else {
            Issue.record("readiness must be HTTP")
        }
        #expect(s.healthcheck?.mode == .cmd(command: "test -f /tmp/healthy"))
        #expect(s.healthcheck?.interval == .seconds(5))
        #expect(s.preShutdownHooks.count == 1)
        #expect(s.waitBeforeKill == .seconds(3))
        #expect(s.user == UserSpec(user: "1000", group: "1000"))
    }

    @Test func aProcessExecutable() throws {
        let s = try InstanceSpec.parse(json: Data("""
        {"appId": "web-1", "executable": {"type": "PROCESS", "command": ["/usr/bin/python3", "-m", "http.server", "8000"],
         "workingDir": "/srv/app"}, "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 64}]}
        """.utf8))
        #expect(s.executable == .process(command: ["/usr/bin/python3", "-m", "http.server", "8000"], workingDir: "/srv/app"))
        #expect(s.appName == "web-1")
    }

    @Test func everyProblemIsListedWithItsPath() {
        do {
            _ = try InstanceSpec.parse(json: Data("""
            {"appId": "bad id!", "executable": {"type": "DOCKR"}, "resources": [{"type": "CPU", "count": 0.5}],
             "readiness": {"mode": {"type": "HTTP", "portName": "nope"}, "attempts": 500}, "colour": "blue"}
            """.utf8))
            Issue.record("expected errors")
        } catch {
            let paths = Set(error.issues.filter { $0.severity == .error }.map(\.path))
            #expect(paths.isSuperset(of: ["appId", "executable.type", "resources[0].count", "resources",
                                          "readiness.mode.portName", "readiness.attempts", "colour"]))
            #expect(error.message.contains("did you mean \"DOCKER\""))
            #expect(error.message.contains("no MEMORY resource"))
        }
    }

    static func withConfigs(_ configs: String) -> Data {
        Data("""
        {"appId": "web-1", "executable": {"type": "PROCESS", "command": ["/bin/true"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 64}], "configs": \(configs)}
        """.utf8)
    }

    /// Drove's configs as drove-cli sends them: INLINE (base64) and EXECUTOR_LOCAL_FILE.
    @Test func configsAreReadAsDroveWritesThem() throws {
        let data = Data("password=hunter2\n".utf8).base64EncodedString()
        let s = try InstanceSpec.parse(json: Self.withConfigs("""
        [{"type": "INLINE", "localFilename": "/etc/app/app.conf", "data": "\(data)"},
         {"type": "EXECUTOR_LOCAL_FILE", "localFilename": "/etc/app/ca.pem", "filePathOnHost": "/etc/ssl/certs/ca.pem"}]
        """))
        #expect(s.configs == [ConfigSpec(localFilename: "/etc/app/app.conf", source: .inline(base64: data)),
                              ConfigSpec(localFilename: "/etc/app/ca.pem", source: .hostFile("/etc/ssl/certs/ca.pem"))])
        #expect(try s.configs[0].contents() == Data("password=hunter2\n".utf8))
        // Through JSON and back, as the executor keeps and sends specs.
        let again = try JSONDecoder().decode(InstanceSpec.self, from: JSONEncoder().encode(s))
        #expect(again.configs == s.configs)
    }

    /// Every bad config entry is named with its index and field; the data
    /// itself (it may be a secret) is never quoted.
    @Test func badConfigsAreEachNamedAndTheirDataNeverShown() {
        let secret = "c2VjcmV0LXZhbHVl!!"  // not base64
        let big = Data(repeating: 7, count: ConfigSpec.maxInlineBytes + 1).base64EncodedString()
        do {
            _ = try InstanceSpec.parse(json: Self.withConfigs("""
            [{"type": "INLINE", "localFilename": "etc/relative", "data": "YQ=="},
             {"type": "INLINE", "localFilename": "/etc/a", "data": "\(secret)"},
             {"type": "INLNE", "localFilename": "/etc/b", "data": "YQ=="},
             {"type": "CONTROLLER_HTTP_FETCH", "localFilename": "/etc/c", "http": {}},
             {"type": "INLINE", "localFilename": "/etc/../shadow", "data": "YQ=="},
             {"type": "INLINE", "localFilename": "/etc/a", "data": "YQ=="},
             {"type": "EXECUTOR_LOCAL_FILE", "localFilename": "/etc/d"},
             {"type": "INLINE", "localFilename": "/etc/big", "data": "\(big)"},
             {"type": "INLINE", "localFilename": "/etc/e", "data": "YQ==", "colour": "red"},
             {"type": "INLINE", "localFilename": "/etc/dir/"}]
            """))
            Issue.record("expected errors")
        } catch {
            let paths = error.issues.filter { $0.severity == .error }.map(\.path)
            #expect(Set(paths).isSuperset(of: ["configs[0].localFilename", "configs[1].data", "configs[2].type", "configs[3].type",
                                               "configs[4].localFilename", "configs[5].localFilename", "configs[6].filePathOnHost",
                                               "configs[7].data", "configs[8].colour", "configs[9].localFilename", "configs[9].data"]), "\(paths)")
            #expect(error.message.contains("did you mean \"INLINE\""))
            #expect(error.message.contains("CONTROLLER_HTTP_FETCH configs are not fetched by Corral"))
            #expect(error.message.contains("/etc/a is written by an earlier config too"))
            #expect(error.message.contains("must not hold empty, '.' or '..' components"))
            #expect(error.message.contains("at most \(ConfigSpec.maxInlineBytes) bytes"))
            #expect(!error.message.contains(secret) && !error.issues.contains { $0.value?.contains(secret) == true })
        }
    }

    @Test func malformedJSONIsOneClearError() {
        do {
            _ = try TaskSpec.parse(json: Data("{\"taskId\": ".utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.issues.count == 1)
            #expect(error.message.hasPrefix("invalid spec: not valid JSON"))
        }
    }

    @Test func theDocumentedTaskSpecParses() throws {
        let t = try TaskSpec.parse(json: Data("""
        { "sourceAppName": "reports", "taskId": "nightly-42",
          "executable": { "type": "DOCKER", "url": "localhost/corral-test:1" },
          "resources": [ { "type": "CPU", "count": 1 }, { "type": "MEMORY", "sizeInMB": 128 } ],
          "env": {}, "args": ["sh", "-c", "echo done"], "volumes": [] }
        """.utf8))
        #expect(t.taskId == "nightly-42")
        #expect(t.args == ["sh", "-c", "echo done"])
        #expect(t.resources.memoryBytes == 128 << 20)
    }

    @Test func booleansAndNumbersAreNotConfused() {
        // count: true must not read as 1.
        #expect(throws: SpecError.self) {
            try TaskSpec.parse(json: Data("""
            {"sourceAppName": "a", "taskId": "b", "executable": {"type": "PROCESS", "command": ["true"]},
             "resources": [{"type": "CPU", "count": true}, {"type": "MEMORY", "sizeInMB": 1}]}
            """.utf8))
        }
    }
}
