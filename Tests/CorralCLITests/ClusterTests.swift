import CorralTestSupport
import Foundation
import Logging
import Testing
import ZooKeeperClient

/// The real `corral executor` in a Drove-style cluster on a real ZooKeeper:
/// it registers the way Drove's executors do, takes Drove's controller
/// messages, reports to the leader it finds through a watch, and rides out
/// ZooKeeper outages with everything still running.
@Suite(.serialized) struct ClusterTests {
    static let controllerSecret = "cluster-controller-secret"
    static let executorSecret = "cluster-executor-secret"

    static func withCluster(_ body: (ZooKeeperEnsemble) async throws -> Void) async throws {
        if let reason = ZooKeeperEnsemble.unavailableReason {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record(Comment(rawValue: "ZooKeeper is required under CI=true: \(reason)")) }
            else { print("skipped: \(reason)") }
            return
        }
        let zk = try await ZooKeeperEnsemble.start()
        defer { zk.stopAll() }
        try await body(zk)
    }

    static func config(_ zk: ZooKeeperEnsemble, sessionTimeout: String = "4s", connectionString: String? = nil) throws -> String {
        try CLI.writeTemp("""
        server:
          applicationConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
          adminConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
        zookeeper:
          connectionString: \(connectionString ?? zk.connectionString())
          sessionTimeout: \(sessionTimeout)
        clusterAuth:
          secrets:
          - { nodeType: CONTROLLER, secret: \(controllerSecret) }
          - { nodeType: EXECUTOR, secret: \(executorSecret) }
        resources:
          tags: [ssd]
        options:
          hostname: corral-test-host
          dockerSocketPath: /nonexistent/docker.sock

        """)
    }

    static func zkClient(_ zk: ZooKeeperEnsemble, sessionTimeout: Duration = .seconds(10)) async throws -> ZooKeeperClient {
        var logger = Logger(label: "zk-test")
        logger.logLevel = .warning
        let c = ZooKeeperClient(ZooKeeperClientConfiguration(connectionString: try ZooKeeperConnectionString(zk.connectionString()),
                                                             sessionTimeout: sessionTimeout, logger: logger))
        await c.start()
        return c
    }

    static func nodeData(_ c: ZooKeeperClient, _ path: String) async throws -> [String: Any] {
        let bytes = try await c.getData(path).data
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// POST /apis/v1/messages with a secret; (HTTP status, reply).
    static func message(_ api: String, _ body: String, secret: String = controllerSecret) throws -> (Int, [String: Any]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["curl", "-s", "-m", "10", "-w", "\n%{http_code}", "-X", "POST", "-H", "Cluster-Authorization: \(secret)",
                       "-H", "NodeId: controller-1", "-H", "Content-Type: application/json", "-d", body, api + "/apis/v1/messages"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let lines = text.split(separator: "\n")
        let code = Int(lines.last ?? "") ?? 0
        let json = (try? JSONSerialization.jsonObject(with: Data(lines.dropLast().joined(separator: "\n").utf8))) as? [String: Any] ?? [:]
        return (code, json)
    }

    static func envelope(_ type: String, _ rest: String = "") -> String {
        let id = UUID().uuidString.lowercased()
        return #"{"type": "\#(type)", "header": {"id": "\#(id)", "senderType": "CONTROLLER", "direction": "REQUEST", "messageTime": 1714000000000}\#(rest.isEmpty ? "" : ", " + rest)}"#
    }

    /// START_INSTANCE with Drove's exact allocation (`cores`), or a request the
    /// executor places (nil).
    static func startInstance(_ id: String, cores: [Int]?) -> String {
        let resources = cores.map { #"[{"type": "CPU", "cores": {"0": \#($0)}}, {"type": "MEMORY", "memoryInMB": {"0": 16}}]"# }
            ?? #"[{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]"#
        return envelope("START_INSTANCE", #"""
        "address": {"executorId": "x", "hostname": "corral-test-host", "port": 0, "transportType": "HTTP"},
        "spec": {"appId": "web-1", "appName": "web", "instanceId": "\#(id)",
                 "executable": {"type": "PROCESS", "command": ["sleep", "300"]},
                 "resources": \#(resources),
                 "ports": [], "volumes": [], "configs": [], "env": {"TOKEN": "s3cr3t-value"}, "args": [], "devices": [],
                 "loggingSpec": {"type": "LOCAL"}, "instanceAuthToken": "token-abc"}
        """#)
    }

    @Test func executorRegistersAsDrovesControllerExpectsAndTakesItsMessages() async throws {
        try await Self.withCluster { zk in
            let dir = TemporaryDirectory.path("corral-cluster")
            let daemon = try RecoveryTests.Daemon(config: try Self.config(zk), stateDir: dir)
            defer { daemon.kill9() }
            let port = try #require(Int(daemon.api.split(separator: ":").last ?? ""))
            let c = try await Self.zkClient(zk)
            defer { Task { await c.close() } }
            let path = "/drove/executor/corral-test-host-\(port)"
            #expect(await eventually { (try? await c.exists(path)) != nil }, "\(daemon.health)")

            // Ephemeral, parents as containers, Drove's fields and units.
            let stat = try #require(try await c.exists(path))
            #expect(stat.ephemeralOwner != 0)
            #expect(try await c.exists("/drove/executor")?.ephemeralOwner == 0)
            var node = try await Self.nodeData(c, path)
            #expect(node["type"] as? String == "EXECUTOR" && node["hostname"] as? String == "corral-test-host")
            #expect(node["port"] as? Int == port && node["transportType"] as? String == "HTTP" && node["executorState"] as? String == "ACTIVE")
            let updated = try #require(node["updated"] as? Int64)
            #expect(abs(Double(updated) / 1000 - Date().timeIntervalSince1970) < 60)
            #expect(node["tags"] as? [String] == ["corral-test-host", "ssd"])
            let state = try #require(node["state"] as? [String: Any])
            // Drove's executorId: UUID.nameUUIDFromBytes("corral-test-host:PORT").
            #expect(state["executorId"] as? String == Self.javaNameUUID("corral-test-host:\(port)"))
            let cpus = try #require(state["cpus"] as? [String: Any])
            #expect(cpus["type"] as? String == "CPU")
            let free = try #require(cpus["freeCores"] as? [String: [Int]])
            let layout = try #require((state["layout"] as? [String: Any])?["cores"] as? [String: [Int]])
            #expect(free == layout && !(free["0"] ?? []).isEmpty)
            let memory = try #require(state["memory"] as? [String: Any])
            let freeMB = try #require((memory["freeMemory"] as? [String: Int])?["0"])
            #expect(freeMB > 16 && freeMB < 1 << 24, "memory is in MB")

            // An executor's secret does not open the messages endpoint.
            #expect(try Self.message(daemon.api, Self.envelope("BLACKLIST"), secret: Self.executorSecret).0 == 401)

            // START naming exact cores: honoured; the same cores again: FAILED.
            let core = try #require(free["0"]?.last)
            var (code, reply) = try Self.message(daemon.api, Self.startInstance("AI-one", cores: [core]))
            #expect(code == 200 && reply["status"] as? String == "ACCEPTED", "\(reply)")
            (code, reply) = try Self.message(daemon.api, Self.startInstance("AI-two", cores: [core]))
            #expect(reply["status"] as? String == "FAILED" && (reply["message"] as? String ?? "").contains("not free"), "\(reply)")
            // The same START again (a controller retrying an answer that was
            // slow to come): the same instance, not a refusal, not a second one.
            (code, reply) = try Self.message(daemon.api, Self.startInstance("AI-one", cores: [core]))
            #expect(reply["status"] as? String == "ACCEPTED" && (reply["message"] as? String ?? "").contains("AI-one is already started here"), "\(reply)")
            // Malformed: REJECTED with the reason.
            (code, reply) = try Self.message(daemon.api, Self.envelope("START_INSTANCE", #""spec": {"appId": "x"}"#))
            #expect(reply["status"] as? String == "REJECTED" && (reply["message"] as? String ?? "").contains("executable"), "\(reply)")
            (code, reply) = try Self.message(daemon.api, Self.envelope("REBOOT"))
            #expect(code == 400 && reply["status"] as? String == "REJECTED")

            // The node follows: the instance with its exact core, in Drove's InstanceInfo shape.
            #expect(await eventually(seconds: 45) {
                guard let n = try? await Self.nodeData(c, path), let list = n["instances"] as? [[String: Any]] else { return false }
                return list.contains { $0["instanceId"] as? String == "AI-one" && $0["state"] as? String == "HEALTHY" }
            })
            node = try await Self.nodeData(c, path)
            #expect((node["instances"] as? [[String: Any]])?.filter { $0["instanceId"] as? String == "AI-one" }.count == 1)
            let instance = try #require((node["instances"] as? [[String: Any]])?.first { $0["instanceId"] as? String == "AI-one" })
            #expect(instance["appId"] as? String == "web-1" && instance["appName"] as? String == "web")
            let resources = try #require(instance["resources"] as? [[String: Any]])
            #expect(resources.contains { ($0["cores"] as? [String: [Int]]) == ["0": [core]] })
            #expect(resources.contains { ($0["memoryInMB"] as? [String: Int]) == ["0": 16] })
            let usedNow = try #require((((node["state"] as? [String: Any])?["cpus"] as? [String: Any])?["usedCores"] as? [String: [Int]])?["0"])
            #expect(usedNow.contains(core))
            // Nothing secret reaches ZooKeeper.
            let raw = String(decoding: try await c.getData(path).data, as: UTF8.self)
            #expect(!raw.contains("s3cr3t-value") && !raw.contains("token-abc") && !raw.contains(Self.controllerSecret))

            // Blacklisted: shown in ZooKeeper, nothing new starts; back to ACTIVE.
            #expect(try Self.message(daemon.api, Self.envelope("BLACKLIST")).1["status"] as? String == "ACCEPTED")
            #expect(await eventually { (try? await Self.nodeData(c, path))?["executorState"] as? String == "BLACKLISTED" })
            reply = try Self.message(daemon.api, Self.startInstance("AI-three", cores: nil)).1
            #expect(reply["status"] as? String == "FAILED" && (reply["message"] as? String ?? "").contains("BLACKLISTED"), "\(reply)")
            #expect(try Self.message(daemon.api, Self.envelope("UNBLACKLIST")).1["status"] as? String == "ACCEPTED")
            #expect(await eventually { (try? await Self.nodeData(c, path))?["executorState"] as? String == "ACTIVE" })

            // STOP: the instance leaves the node.
            reply = try Self.message(daemon.api, Self.envelope("STOP_INSTANCE", #""instanceId": "AI-one""#)).1
            #expect(reply["status"] as? String == "ACCEPTED")
            #expect(await eventually {
                guard let n = try? await Self.nodeData(c, path) else { return false }
                return (n["instances"] as? [[String: Any]] ?? []).isEmpty
            })
            // A local service instance: published under serviceInstances, named by its service.
            let service = #""spec": {"serviceId": "agent-1", "serviceName": "agent", "instanceId": "SI-one", "hostLevelInstance": false, "executable": {"type": "PROCESS", "command": ["sleep", "300"]}, "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}], "ports": []}"#
            reply = try Self.message(daemon.api, Self.envelope("START_LOCAL_SERVICE_INSTANCE", service)).1
            #expect(reply["status"] as? String == "ACCEPTED", "\(reply)")
            #expect(await eventually {
                guard let n = try? await Self.nodeData(c, path) else { return false }
                let services = n["serviceInstances"] as? [[String: Any]] ?? []
                return services.contains { $0["serviceId"] as? String == "agent-1" && $0["serviceName"] as? String == "agent"
                    && $0["instanceId"] as? String == "SI-one" && $0["state"] as? String == "HEALTHY" }
                    && (n["instances"] as? [[String: Any]] ?? []).isEmpty
            })
            // A host-level one: its port is bound at its own number, and a second one for that port is refused, naming the holder.
            let fixedPort = try ZooKeeperEnsemble.freePort()
            let hostLevel = service.replacingOccurrences(of: #""hostLevelInstance": false"#, with: #""hostLevelInstance": true"#)
                .replacingOccurrences(of: #""ports": []"#, with: #""ports": [{"name": "main", "port": \#(fixedPort), "type": "TCP"}]"#)
            reply = try Self.message(daemon.api, Self.envelope("START_LOCAL_SERVICE_INSTANCE", hostLevel.replacingOccurrences(of: "SI-one", with: "SI-two"))).1
            #expect(reply["status"] as? String == "ACCEPTED", "\(reply)")
            #expect(await eventually {
                guard let n = try? await Self.nodeData(c, path) else { return false }
                return (n["serviceInstances"] as? [[String: Any]] ?? []).contains {
                    $0["instanceId"] as? String == "SI-two"
                        && (($0["localInfo"] as? [String: Any])?["ports"] as? [String: Any])?["main"].flatMap { ($0 as? [String: Any])?["hostPort"] as? Int } == fixedPort
                }
            }, "SI-two bound at \(fixedPort)")
            // SI-one gives back its CPU (this machine may have two), so that only the port can refuse SI-three.
            reply = try Self.message(daemon.api, Self.envelope("STOP_LOCAL_SERVICE_INSTANCE", #""instanceId": "SI-one""#)).1
            #expect(reply["status"] as? String == "ACCEPTED")
            #expect(await eventually {
                guard let n = try? await Self.nodeData(c, path) else { return false }
                return !(n["serviceInstances"] as? [[String: Any]] ?? []).contains { $0["instanceId"] as? String == "SI-one" }
            })
            reply = try Self.message(daemon.api, Self.envelope("START_LOCAL_SERVICE_INSTANCE", hostLevel.replacingOccurrences(of: "SI-one", with: "SI-three"))).1
            #expect(reply["status"] as? String != "ACCEPTED" && (reply["message"] as? String ?? "").contains("host port \(fixedPort) is held by SI-two"), "\(reply)")
            reply = try Self.message(daemon.api, Self.envelope("STOP_LOCAL_SERVICE_INSTANCE", #""instanceId": "SI-two""#)).1
            #expect(reply["status"] as? String == "ACCEPTED")

            // The executor's own API shows the membership.
            let status = try CLI.run(["status", "--url", daemon.api, "--secret", Self.controllerSecret])
            #expect(status.stdout.contains("cluster: connected, session 0x") && status.stdout.contains("node \(path)"), "\(status.stdout)\(status.stderr)")
        }
    }

    @Test func stateChangesAreReportedToTheLeaderFoundThroughAWatch() async throws {
        try await Self.withCluster { zk in
            let out = TemporaryDirectory.path("corral-reports", suffix: ".jsonl")
            let controller = Process()
            controller.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            controller.arguments = ["python3", CLI.packageRoot.appendingPathComponent("Tests/CorralCLITests/Tools/fake-controller.py").path,
                                    out, Self.executorSecret]
            let pipe = Pipe()
            controller.standardOutput = pipe
            controller.standardError = FileHandle.nullDevice
            try controller.run()
            defer {
                kill(controller.processIdentifier, SIGKILL)
                controller.waitUntilExit()
            }
            let controllerPort = try #require(Int(String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)))

            let daemon = try RecoveryTests.Daemon(config: try Self.config(zk), stateDir: TemporaryDirectory.path("corral-cluster"))
            defer { daemon.kill9() }
            let c = try await Self.zkClient(zk)
            defer { Task { await c.close() } }
            // A follower first, then the leader appears: the executor follows the watch.
            try await c.create("/drove/controller/c1-4000", data: Array(#"{"type":"CONTROLLER","hostname":"127.0.0.1","port":1,"transportType":"HTTP","updated":1,"leader":false}"#.utf8),
                               mode: .ephemeral, createParents: true)
            try await c.create("/drove/controller/c2-4000", data: Array(#"{"type":"CONTROLLER","hostname":"127.0.0.1","port":\#(controllerPort),"transportType":"HTTP","updated":1,"leader":true}"#.utf8),
                               mode: .ephemeral)
            #expect(await eventually { CLI.run(["status", "--url", daemon.api, "--secret", Self.controllerSecret], orEmpty: ()).contains("leader controller: http://127.0.0.1:\(controllerPort)") })

            let reply = try Self.message(daemon.api, Self.startInstance("AI-rep", cores: nil)).1
            #expect(reply["status"] as? String == "ACCEPTED", "\(reply)")
            func reports() -> [[String: Any]] {
                ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n")
                    .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            }
            #expect(await eventually(seconds: 45) {
                reports().contains { (($0["body"] as? [String: Any])?["instanceInfo"] as? [String: Any])?["state"] as? String == "HEALTHY" }
            })
            let all = reports()
            #expect(all.allSatisfy { $0["authorized"] as? Bool == true && $0["nodeId"] as? String == "corral-test-host" && $0["path"] as? String == "/apis/v1/messages" })
            let states = all.compactMap { (($0["body"] as? [String: Any])?["instanceInfo"] as? [String: Any])?["state"] as? String }
            #expect(Array(states.prefix(3)) == ["PROVISIONING", "STARTING", "UNREADY"] || states.contains("STARTING"), "\(states)")
            let first = try #require(all.first?["body"] as? [String: Any])
            #expect(first["type"] as? String == "INSTANCE_STATE_REPORT")
            #expect((first["header"] as? [String: Any])?["senderType"] as? String == "EXECUTOR")
            #expect((first["resourceSnapshot"] as? [String: Any])?["cpus"] != nil)
        }
    }

    @Test func aZooKeeperOutageLeavesEverythingRunningAndTheExecutorReRegisters() async throws {
        try await Self.withCluster { zk in
            let daemon = try RecoveryTests.Daemon(config: try Self.config(zk, sessionTimeout: "3s"), stateDir: TemporaryDirectory.path("corral-cluster"))
            defer { daemon.kill9() }
            let port = try #require(Int(daemon.api.split(separator: ":").last ?? ""))
            let path = "/drove/executor/corral-test-host-\(port)"
            #expect(try Self.message(daemon.api, Self.startInstance("AI-keep", cores: nil)).1["status"] as? String == "ACCEPTED")
            let c = try await Self.zkClient(zk)
            // Room for a loaded machine (the whole suite runs beside it).
            #expect(await eventually(seconds: 45) {
                ((try? await Self.nodeData(c, path))?["instances"] as? [[String: Any]] ?? []).contains { $0["state"] as? String == "HEALTHY" }
            })
            let owner = try #require(try await c.exists(path)).ephemeralOwner
            await c.close()

            // ZooKeeper gone for well past the session timeout (8 s; the long
            // run: CORRAL_TEST_ZK_OUTAGE_SECONDS=60).
            let outage = Int(ProcessInfo.processInfo.environment["CORRAL_TEST_ZK_OUTAGE_SECONDS"] ?? "") ?? 8
            zk.kill(1)
            try await Task.sleep(for: .seconds(outage))
            let health = CLI.run(["status", "--url", daemon.api, "--secret", Self.controllerSecret], orEmpty: ())
            #expect(health.contains("NOT connected") && health.contains("ZooKeeper unreachable for"), "\(health)")
            #expect(health.contains("1 HEALTHY"), "the instance keeps running: \(health)")
            let log = (try? String(contentsOf: daemon.output, encoding: .utf8)) ?? ""
            #expect(log.components(separatedBy: "ZooKeeper is unreachable").count - 1 == 1, "the outage is logged once")

            try zk.start(1)
            try await zk.waitServing(1)
            let back = try await Self.zkClient(zk)
            defer { Task { await back.close() } }
            // Re-registered by a new session (the restarted server may still
            // hold the old one's node for a while), with its current state.
            #expect(await eventually(seconds: 30) {
                guard let stat = try? await back.exists(path), stat.ephemeralOwner != owner,
                      let n = try? await Self.nodeData(back, path) else { return false }
                return (n["instances"] as? [[String: Any]] ?? []).contains { $0["instanceId"] as? String == "AI-keep" && $0["state"] as? String == "HEALTHY" }
            }, "\(daemon.health)")
            let after = (try? String(contentsOf: daemon.output, encoding: .utf8)) ?? ""
            #expect(after.contains("ZooKeeper is reachable again"))
        }
    }

    /// A partition shorter than the session timeout: the session stays, and
    /// what changed meanwhile reaches the node as soon as it is back (not at
    /// the next heartbeat, 30 s later).
    @Test func changesDuringAShortPartitionReachTheNodeWhenItEnds() async throws {
        try await Self.withCluster { zk in
            let proxy = try await TCPProxy(targetPort: zk.member(1).clientPort)
            defer { Task { await proxy.shutdown() } }
            let daemon = try RecoveryTests.Daemon(config: try Self.config(zk, sessionTimeout: "20s", connectionString: "127.0.0.1:\(proxy.port)"),
                                                  stateDir: TemporaryDirectory.path("corral-cluster"))
            defer { daemon.kill9() }
            let port = try #require(Int(daemon.api.split(separator: ":").last ?? ""))
            let path = "/drove/executor/corral-test-host-\(port)"
            let c = try await Self.zkClient(zk)
            defer { Task { await c.close() } }
            #expect(try Self.message(daemon.api, Self.startInstance("AI-part", cores: nil)).1["status"] as? String == "ACCEPTED")
            func instances() async -> [[String: Any]] { ((try? await Self.nodeData(c, path))?["instances"] as? [[String: Any]]) ?? [] }
            // Room for a loaded machine (the whole suite runs beside it).
            #expect(await eventually(seconds: 45) { await instances().contains { $0["state"] as? String == "HEALTHY" } })
            let owner = try #require(try await c.exists(path)).ephemeralOwner

            proxy.cut()
            #expect(await eventually { CLI.run(["status", "--url", daemon.api, "--secret", Self.controllerSecret], orEmpty: ()).contains("NOT connected") })
            #expect(try Self.message(daemon.api, Self.envelope("STOP_INSTANCE", #""instanceId": "AI-part""#)).1["status"] as? String == "ACCEPTED")
            try await Task.sleep(for: .seconds(2))
            #expect(await instances().count == 1, "nothing reaches ZooKeeper during the partition")
            proxy.restore()
            // Well inside the heartbeat (30 s after the last write, ~26 s from
            // here), with room for a machine the whole suite loads.
            let restored = ContinuousClock.now
            let reached = await eventually(seconds: 20) { await instances().isEmpty }
            print("the change reached the node \(ContinuousClock.now - restored) after the partition ended")
            let log = (try? String(contentsOf: daemon.output, encoding: .utf8)) ?? ""
            #expect(reached, "\(daemon.health)\n\(log.split(separator: "\n").suffix(30).joined(separator: "\n"))")
            #expect(try await c.exists(path)?.ephemeralOwner == owner, "the same session")
        }
    }

    /// The Drove seed's executor YAML exactly as written (its variables set,
    /// ZK_CONNECTION_STRING at a local ZooKeeper), on a recorded 96-CPU
    /// machine (the seed keeps CPUs 0-1 for the OS, all this machine has):
    /// kazoo, an independent client, finds it registered as Drove's
    /// controller expects.
    @Test func theSeedsExecutorConfigJoinsAsWritten() async throws {
        let md = CLI.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/seeds/drove-executor-setup.md")
        guard let text = try? String(contentsOf: md, encoding: .utf8) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("CI=true but \(md.path) is missing") }
            return
        }
        guard KazooPeer.python != nil else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("CI=true but kazoo is not installed (scripts/python-tools)") }
            return
        }
        let start = try #require(text.range(of: "```yaml\nserver: #(1)!"))
        let body = text[start.upperBound...]
        let yaml = "server: #(1)!" + body[..<(try #require(body.range(of: "\n```")).lowerBound)]
        let config = try CLI.writeTemp(String(yaml))
        try await Self.withCluster { zk in
            let p = Process()
            p.executableURL = CLI.binary
            p.arguments = ["executor", "--config", config, "--state-dir", TemporaryDirectory.path("corral-seed"),
                           "--fsroot", CLI.fixture("epyc7642-2s48c")]
            var env = ProcessInfo.processInfo.environment
            for (k, v) in ["DROVE_TIMEZONE": "IST", "DROVE_LOG_LEVEL": "INFO", "ZK_CONNECTION_STRING": zk.connectionString(),
                           "DROVE_CONTROLLER_SECRET": Self.controllerSecret, "DROVE_EXECUTOR_SECRET": Self.executorSecret,
                           "DROVE_DISABLE_NUMA_PINNING": "false", "DROVE_ENABLE_NVIDIA_GPU": "false"] { env[k] = v }
            p.environment = env
            let log = TemporaryDirectory.path("corral-seed", suffix: ".log")
            FileManager.default.createFile(atPath: log, contents: nil)
            p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            p.standardError = p.standardOutput
            try p.run()
            defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            func kazoo(_ args: String...) -> [String: Any] { (try? KazooPeer.run(zk.connectionString(), args)) ?? [:] }
            var names: [String] = []
            #expect(await eventually(seconds: 30) {
                names = (kazoo("children", "/drove/executor")["children"] as? [String]) ?? []
                return names.count == 1
            }, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            let name = try #require(names.first)
            #expect(name.hasSuffix("-3000"))
            let read = kazoo("read", "/drove/executor/" + name)
            #expect((read["ephemeralOwner"] as? NSNumber)?.int64Value ?? 0 != 0)
            let node = try #require(try JSONSerialization.jsonObject(with: Data(((read["data"] as? String) ?? "").utf8)) as? [String: Any])
            #expect(node["type"] as? String == "EXECUTOR" && node["port"] as? Int == 3000 && node["executorState"] as? String == "ACTIVE")
            let layout = try #require(((node["state"] as? [String: Any])?["layout"] as? [String: Any])?["cores"] as? [String: [Int]])
            // osCores [0, 1] are kept for the OS; the rest of the machine is offered, per NUMA node.
            #expect(layout.count >= 2 && layout.values.map(\.count).reduce(0, +) > 90 && !layout.values.contains { $0.contains(0) || $0.contains(1) })
            let raw = (read["data"] as? String) ?? ""
            #expect(!raw.contains(Self.controllerSecret) && !raw.contains(Self.executorSecret))
        }
    }

    /// Java's `UUID.nameUUIDFromBytes`, computed independently with md5sum.
    static func javaNameUUID(_ name: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import hashlib,uuid,sys; b=bytearray(hashlib.md5(sys.argv[1].encode()).digest()); b[6]=b[6]&0x0f|0x30; b[8]=b[8]&0x3f|0x80; print(uuid.UUID(bytes=bytes(b)))", name]
        let out = Pipe()
        p.standardOutput = out
        try? p.run()
        let s = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return s.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension CLI {
    /// stdout+stderr of a run, "" when it could not run.
    static func run(_ args: [String], orEmpty: Void) -> String {
        guard let r = try? run(args) else { return "" }
        return r.stdout + r.stderr
    }
}
