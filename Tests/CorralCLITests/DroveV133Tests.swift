import Foundation
import Testing

/// Drove v1.33's executor keys, each switched on in a live executor:
/// the default user, the metadata providers, registry credentials against
/// a real registry (Debian's docker-registry with htpasswd auth), and RPC
/// mode against a real controller and ZooKeeper.
@Suite(.serialized) struct DroveV133Tests {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    static func waitFor<T>(_ what: String, timeout: Duration = .seconds(20), _ probe: () throws -> T?) async throws -> T {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if let v = try probe() { return v }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CLI.Failure("timed out waiting for \(what)")
    }

    /// A task's output through `corral tasks run --wait` on `api`.
    static func runTask(_ api: String, _ json: String) throws -> CLI.Result {
        let spec = try CLI.writeTemp(json, name: "task.json")
        return try CLI.run(["tasks", "run", spec, "--wait", "--url", api, "--secret", RecoveryTests.secret])
    }

    @Test func theDefaultUserRunsWhatNamesNone() throws {
        guard RunTests.ready(RecoveryTests.podman) else { return }
        let config = try RecoveryTests.writeConfig("""
        options:
          dockerSocketPath: \(RecoveryTests.podman)
          cacheImages: true
          defaultUserSpec: { user: 4321, group: 4322 }
        """)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-v133-\(UUID().uuidString.prefix(8))").path
        let daemon = try RecoveryTests.Daemon(config: config, stateDir: dir)
        defer { daemon.kill9() }
        let resources = #""resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 32}]"#
        let native = try Self.runTask(daemon.api, #"{"sourceAppName": "u", "taskId": "native", "executable": {"type": "PROCESS", "command": ["/bin/sh", "-c", "echo ids=$(id -u):$(id -g)"]}, "# + resources + "}")
        #expect(native.status == 0 && native.stdout.contains("ids=4321:4322"), "\(native.stdout)\(native.stderr)")
        let container = try Self.runTask(daemon.api, #"{"sourceAppName": "u", "taskId": "boxed", "executable": {"type": "DOCKER", "url": "localhost/corral-test:1"}, "args": ["sh", "-c", "echo ids=$(id -u):$(id -g)"], "# + resources + "}")
        #expect(container.status == 0 && container.stdout.contains("ids=4321:4322"), "\(container.stdout)\(container.stderr)")
        // A spec that names its user keeps it.
        let named = try Self.runTask(daemon.api, #"{"sourceAppName": "u", "taskId": "named", "executable": {"type": "PROCESS", "command": ["/bin/sh", "-c", "echo ids=$(id -u):$(id -g)"]}, "user": {"user": "0", "group": "0"}, "# + resources + "}")
        #expect(named.status == 0 && named.stdout.contains("ids=0:0"), "\(named.stdout)\(named.stderr)")
    }

    @Test func metadataFromEveryProviderIsPublished() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-meta-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let probe = dir + "/probe"
        try "first".write(toFile: probe, atomically: true, encoding: .utf8)
        // ENVIRONMENT reads the executor's own environment: HOME and PATH are always there.
        let config = try RecoveryTests.writeConfig("""
        options:
          dockerSocketPath: /nonexistent/docker.sock
        resources:
          metadata:
            valueMaxLimit: 4096
            blacklistedKeys: ["hidden.*"]
            metadataProviders:
              site:
                type: CONFIGURED
                metadata: { rack: r7, hiddenKey: x, clash: one, long: "\(String(repeating: "z", count: 5000))" }
              env:
                type: ENVIRONMENT
                whitelistedVariables: ["HO.E"]
              probes:
                type: DYNAMIC_COMMAND
                commandRerunInSecs: 1
                commands:
                  kernel: { type: STATIC, command: "uname -s", defaultValue: unknown }
                  probe: { type: DYNAMIC, command: "cat \(probe)", defaultValue: none }
                  broken: { type: DYNAMIC, command: "exit 3", defaultValue: fallback }
                  clash: { type: STATIC, command: "echo two", defaultValue: two }
        """)
        let daemon = try RecoveryTests.Daemon(config: config, stateDir: dir + "/state")
        defer { daemon.kill9() }
        let r = RecoveryTests()
        let metadata = try #require(try r.call(daemon.api, "GET", "/executor")["metadata"] as? [String: String])
        #expect(metadata["rack"] == "r7" && metadata["HOME"] == ProcessInfo.processInfo.environment["HOME"])
        #expect(metadata["kernel"] == "Linux" && metadata["probe"] == "first" && metadata["broken"] == "fallback")
        #expect(metadata["hiddenKey"] == nil, "blacklisted")
        #expect(metadata["clash"] == nil, "given by two providers: published by neither")
        #expect(metadata["long"] == nil, "over valueMaxLimit")
        // DYNAMIC commands run again every commandRerunInSecs.
        try "second".write(toFile: probe, atomically: true, encoding: .utf8)
        let updated = try await Self.waitFor("the probe's new value") { () -> [String: String]? in
            let m = try r.call(daemon.api, "GET", "/executor")["metadata"] as? [String: String]
            return m?["probe"] == "second" ? m : nil
        }
        #expect(updated["rack"] == "r7")
        let log = try String(contentsOf: daemon.output, encoding: .utf8)
        #expect(log.contains("metadata key clash is given by probes and site") && log.contains("matches blacklistedKeys"), "\(log.suffix(2000))")
    }

    /// A private registry that wants a password (Debian's docker-registry,
    /// htpasswd with a bcrypt hash from `corral password-hash`), the image
    /// pushed to it through the test dockerd; the executor pulls it with
    /// dockerAuth's credentials, and says clearly when they are wrong.
    @Test func imagesArePulledWithTheRegistrysCredentials() async throws {
        guard RunTests.ready(RunTests.dockerd) else { return }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry") else {
            let why = "docker-registry is not installed: scripts/test installs it"
            if Self.isCI { Issue.record(Comment(rawValue: why)) } else { print("skipped: \(why)") }
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-registry-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        let password = "reg-\(UUID().uuidString.prefix(8))"
        let hash = Process()
        hash.executableURL = CLI.binary
        hash.arguments = ["password-hash", "--rounds", "4"]
        let input = Pipe(), out = Pipe()
        hash.standardInput = input
        hash.standardOutput = out
        try hash.run()
        input.fileHandleForWriting.write(Data((password + "\n").utf8))
        try input.fileHandleForWriting.close()
        let bcrypt = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        hash.waitUntilExit()
        try "puller:\(bcrypt)\n".write(toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
        let port = Int.random(in: 35_000...39_000)
        try """
        version: 0.1
        storage:
          filesystem: { rootdirectory: \(dir)/data }
        http:
          addr: 127.0.0.1:\(port)
        auth:
          htpasswd: { realm: corral-test, path: \(dir)/htpasswd }
        """.write(toFile: dir + "/config.yml", atomically: true, encoding: .utf8)
        let registry = Process()
        registry.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        registry.arguments = ["serve", dir + "/config.yml"]
        registry.standardOutput = FileHandle.nullDevice
        registry.standardError = FileHandle.nullDevice
        try registry.run()
        defer {
            kill(registry.processIdentifier, SIGKILL)
            registry.waitUntilExit()
        }
        let host = "127.0.0.1:\(port)"
        _ = try await Self.waitFor("the registry") { () -> Bool? in
            (try RunTests.sh("curl -s -o /dev/null -w '%{http_code}' http://\(host)/v2/").out) == "401" ? true : nil
        }
        // The test image, pushed to it as puller through the private dockerd.
        let sock = RunTests.dockerd
        let auth = Data(#"{"username":"puller","password":"\#(password)","serveraddress":"\#(host)"}"#.utf8).base64EncodedString()
        let tag = try RunTests.sh("curl -sf --unix-socket \(sock) -X POST 'http://d/images/localhost/corral-test:1/tag?repo=\(host)/corral/private&tag=1' -o /dev/null -w '%{http_code}'")
        #expect(tag.out == "201", "\(tag)")
        let push = try RunTests.sh("curl -s --unix-socket \(sock) -X POST -H 'X-Registry-Auth: \(auth)' 'http://d/images/\(host)/corral/private/push?tag=1'")
        #expect(!push.out.contains("error"), "push: \(push.out)")
        _ = try RunTests.sh("curl -s --unix-socket \(sock) -X DELETE 'http://d/images/\(host)/corral/private:1'")

        func executor(password given: String) throws -> RecoveryTests.Daemon {
            let config = try RecoveryTests.writeConfig("""
            options:
              dockerSocketPath: \(sock)
              cacheImages: false
            dockerAuth:
              entries:
                \(host):
                  type: CREDENTIALS
                  username: puller
                  password: \(given)
            """)
            return try RecoveryTests.Daemon(config: config, stateDir: dir + "/state-\(UUID().uuidString.prefix(6))")
        }
        let task = #"{"sourceAppName": "pull", "taskId": "TASK", "executable": {"type": "DOCKER", "url": "\#(host)/corral/private:1", "dockerPullTimeout": "60s"}, "args": ["sh", "-c", "echo pulled-and-ran"], "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 32}]}"#
        let good = try executor(password: password)
        let ran = try Self.runTask(good.api, task.replacingOccurrences(of: "TASK", with: "good"))
        #expect(ran.status == 0 && ran.stdout.contains("pulled-and-ran"), "\(ran.stdout)\(ran.stderr)")
        let goodLog = try String(contentsOf: good.output, encoding: .utf8)
        good.kill9()
        #expect(!goodLog.contains(password), "the password is in no log line")
        // Wrong credentials: a clear failure that names the registry and the user, never the password.
        let wrongPassword = "not-\(password)"
        let bad = try executor(password: wrongPassword)
        defer { bad.kill9() }
        let refused = try Self.runTask(bad.api, task.replacingOccurrences(of: "TASK", with: "bad"))
        #expect(refused.status != 0)
        let shown = try RecoveryTests().call(bad.api, "GET", "/tasks/bad")
        let why = shown["lastError"] as? String ?? ""
        #expect(why.contains("refused the credentials") && why.contains(host) && why.contains("puller"), "\(why)")
        #expect(!why.contains(wrongPassword) && !refused.stdout.contains(wrongPassword) && !refused.stderr.contains(wrongPassword))
        #expect(!(try String(contentsOf: bad.output, encoding: .utf8)).contains(wrongPassword))
    }

    /// RPC mode: the executor uses no ZooKeeper. It finds the leader through
    /// `/apis/v1/ping`, pushes EXECUTOR_SNAPSHOT messages, and the controller
    /// keeps its node data; Drove's CLI sees it and an app is placed on it.
    /// When the executor dies its snapshots stop and the node goes.
    @Test func anExecutorInRPCModeJoinsThroughTheControllers() async throws {
        try await LocalCluster.with { cluster in
            let controller = try cluster.startController(extra: "  staleExecutorAge: 10s")
            _ = try await cluster.leader()
            // A "controller" that takes connections and never answers, listed
            // first: controllerResponseTimeout bounds how long it holds the search.
            let silent = Process()
            silent.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            let silentPort = Int.random(in: 40_000...44_000)
            silent.arguments = ["-c", "import socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',\(silentPort)));s.listen(16)\nc=[]\nwhile True:\n  c.append(s.accept())"]
            // Its own output: an inherited pipe would hold the test runner's open.
            silent.standardOutput = FileHandle.nullDevice
            silent.standardError = FileHandle.nullDevice
            try silent.run()
            defer {
                // SIGKILL: a child of the test runner may inherit SIGTERM ignored.
                kill(silent.processIdentifier, SIGKILL)
                silent.waitUntilExit()
            }
            let config = cluster.dir.appendingPathComponent("rpc-executor.yml").path
            try """
            server:
              applicationConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
              adminConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
            clusterAuth:
              secrets:
              - { nodeType: CONTROLLER, secret: \(LocalCluster.controllerSecret) }
              - { nodeType: EXECUTOR, secret: \(LocalCluster.executorSecret) }
            resources:
              metadata:
                metadataProviders:
                  site: { type: CONFIGURED, metadata: { rack: r9 } }
            options:
              hostname: 127.0.0.1
              dockerSocketPath: /nonexistent/docker.sock
              remoteUpdateMode: RPC
              controllerConnectTimeout: 500ms
              controllerResponseTimeout: 500ms
            controllers:
              endpoints: [http://127.0.0.1:1, http://127.0.0.1:\(silentPort), \(controller.endpoint)]
              leadershipCheckInterval: 3s
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let executor = try LocalCluster.Node(role: "executor", args: ["executor", "--config", config, "--state-dir",
                                                                          cluster.dir.appendingPathComponent("rpc-state").path],
                                                 listening: "corral executor listening:")
            cluster.executors.append(executor)
            let listed = try await DroveCLI.await(controller.endpoint, ["executor", "list"]) { $0.contains("ACTIVE") }
            #expect(listed.contains("127.0.0.1"), "\(listed)")
            // The executor's own view: RPC, the leader found through its ping.
            let status = try await Self.waitFor("the executor's link") { () -> [String: Any]? in
                let c = (try RecoveryTests().call(executor.endpoint, "GET", "/executor", secret: LocalCluster.controllerSecret))["cluster"] as? [String: Any]
                return c?["connected"] as? Bool == true ? c : nil
            }
            #expect(status["mode"] as? String == "RPC" && status["leader"] as? String == controller.endpoint, "\(status)")
            let log = try String(contentsOf: executor.output, encoding: .utf8)
            let started = try #require(log.range(of: "joining the cluster through the controllers"))
            let found = try #require(log.range(of: "the leader controller is"))
            func stamp(_ r: Range<String.Index>) -> Double {
                // "INFO  [2026-12-07 14:35:42,350] ..." on the line of the match.
                let lineStart = log[..<r.lowerBound].lastIndex(of: "\n").map { log.index(after: $0) } ?? log.startIndex
                let line = log[lineStart..<r.lowerBound]
                let time = line.split(separator: " ").dropFirst(2).first ?? ""
                let parts = time.replacingOccurrences(of: ",", with: ".").split(separator: ":").compactMap { Double($0) }
                return parts.count == 3 ? parts[0] * 3600 + parts[1] * 60 + parts[2] : -1
            }
            #expect(stamp(found) - stamp(started) < 3, "a silent controller held the search past controllerResponseTimeout")
            // The metadata rides in the node data: the controller places by it.
            let ruled = try CLI.writeTemp(#"{"sourceAppName": "rpc", "taskId": "rule", "executable": {"type": "PROCESS", "command": ["/bin/true"]}, "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}], "placementPolicy": {"type": "RULE_BASED", "ruleType": "HOPE", "rule": "metadata.rack == \"r9\""}}"#, name: "rule.json")
            let placed = try CLI.run(["tasks", "run", ruled, "--wait", "--url", controller.endpoint])
            #expect(placed.status == 0, "\(placed.stdout)\(placed.stderr)")
            let elsewhere = try CLI.writeTemp(#"{"sourceAppName": "rpc", "taskId": "nowhere", "executable": {"type": "PROCESS", "command": ["/bin/true"]}, "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}], "placementPolicy": {"type": "RULE_BASED", "ruleType": "HOPE", "rule": "metadata.rack == \"r1\""}}"#, name: "nowhere.json")
            let refused = try CLI.run(["tasks", "run", elsewhere, "--wait", "--url", controller.endpoint])
            #expect(refused.status != 0 && refused.stderr.contains("placement policy"), "\(refused.stdout)\(refused.stderr)")
            // Work is placed on it as on any executor.
            let spec = try CLI.writeTemp(#"{"sourceAppName": "rpc", "taskId": "t1", "executable": {"type": "PROCESS", "command": ["/bin/sh", "-c", "echo via-rpc; exit 3"]}, "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}"#, name: "task.json")
            let ran = try CLI.run(["tasks", "run", spec, "--wait", "--url", controller.endpoint])
            #expect(ran.status == 3 && ran.stdout.contains("via-rpc"), "\(ran.stdout)\(ran.stderr)")
            // Its node is the controller's to keep: it goes when the snapshots stop.
            executor.kill9()
            let gone = try await DroveCLI.await(controller.endpoint, ["executor", "list"], timeout: .seconds(40)) { !$0.contains("ACTIVE") }
            #expect(!gone.contains("ACTIVE"), "\(gone)")
        }
    }
}
