import CorralTestSupport
import Foundation
import Testing

/// A standalone executor's one-node console, in headless Chromium against a
/// real `corral executor` with a pinned instance and a stage pool: what it
/// shows is what the API says, a stage job's busy slot and lock holder appear
/// and go without a reload, and when the executor is killed the page says the
/// stream is lost, then recovers by itself when it is back.
@Suite(.serialized) struct NodeConsoleTests {
    @Test func theNodePageFollowsTheExecutorAndShowsALostStreamAndItsRecovery() async throws {
        guard ConsoleTests.browserReady() else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-node-console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try ZooKeeperEnsemble.freePort()
        let toml = try StageServiceTests.onePC2Pool()
        let config = try CLI.writeTemp("""
        server:
          applicationConnectors: [{ type: http, port: \(port), bindHost: 127.0.0.1 }]
          adminConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
        clusterAuth:
          secrets: [{ nodeType: CONTROLLER, secret: \(RecoveryTests.secret) }]
        options:
          dockerSocketPath: /nonexistent/docker.sock
        processors:
          config: \(toml)
        """)
        let state = dir.appendingPathComponent("state").path
        let daemon = try RecoveryTests.Daemon(config: config, stateDir: state)
        defer { if daemon.process.isRunning { daemon.kill9() } }
        let rec = RecoveryTests()
        let created = try rec.call(daemon.api, "POST", "/instances", body: """
        {"appId": "web", "instanceId": "web-on-node", "executable": {"type": "PROCESS", "command": ["sleep", "600"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
        """)
        let cpus = try #require((created["allocation"] as? [String: Any])?["cpus"] as? String, "\(created)")
        _ = try await rec.waitFor(daemon.api, "/instances/web-on-node", "HEALTHY")

        // Without the secret, no page and no stream.
        #expect(try ControllerTests.curl(["-o", "/dev/null", "-w", "%{http_code}", daemon.api + "/"]) == "401")
        #expect(try ControllerTests.curl(["-o", "/dev/null", "-w", "%{http_code}", "-u", "x:wrong", daemon.api + "/ui/events"]) == "401")
        let page = try ControllerTests.curl(["-u", "any:\(RecoveryTests.secret)", daemon.api + "/"])
        #expect(page.contains("web-on-node") && page.contains("pc2#0"), "\(page.prefix(400))")
        #expect(!page.contains(RecoveryTests.secret), "the secret is not in the page")

        let log = dir.appendingPathComponent("restarted.log").path
        let restart = try JSONSerialization.data(withJSONObject: [
            "argv": [CLI.binary.path, "executor", "--config", config, "--state-dir", state], "log": log])
        let shots = dir.appendingPathComponent("shots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let seen = try ConsoleTests.runTool("node-console-check.py", [daemon.api, RecoveryTests.secret, shots.path,
                                                                      String(daemon.process.processIdentifier), String(decoding: restart, as: UTF8.self)])
        if let pid = seen["restartedPid"] as? Int { kill(pid_t(pid), SIGKILL) }

        #expect((seen["title"] as? String ?? "").hasPrefix("Node "), "\(seen["title"] ?? "")")
        #expect(seen["usedCores"] as? String == "1", "one one-core instance; pool CPUs are not offered")
        #expect(seen["instanceRows"] as? [String] == ["web-on-node HEALTHY"], "\(seen["instanceRows"] ?? "")")
        #expect((seen["mapText"] as? String ?? "").contains("web-on-node"), "the map names the instance on CPU \(cpus)")
        #expect(seen["stageRows"] as? [String] == ["pc2 0"], "\(seen["stageRows"] ?? "")")
        // The stage job, seen busy and then done, with the lock holder named, without a reload.
        #expect(seen["busySeen"] as? Bool == true && seen["idleSeen"] as? Bool == true)
        #expect((seen["lockHolders"] as? String ?? "") == (seen["jobId"] as? String ?? "-"), "\(seen["lockHolders"] ?? "") holds gpu")
        #expect(seen["reloaded"] as? Bool == false)
        // Lost and recovered.
        #expect((seen["lostText"] as? String ?? "").contains("connection lost"))
        #expect(seen["recoveredText"] as? String == "live")
        #expect(seen["instanceRowsAfter"] as? [String] == ["web-on-node HEALTHY"], "adopted after the restart: \(seen["instanceRowsAfter"] ?? "")")
        #expect(seen["reloadedAfterRestart"] as? Bool == false, "the page recovered without a reload")
        try ConsoleTests.expectPicture(shots.appendingPathComponent("console-node.png").path)
    }
}
