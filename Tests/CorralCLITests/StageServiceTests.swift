import Foundation
import Testing

/// Stage processors inside the real `corral executor`: jobs over the API and
/// the CLI, and a job in flight when the executor is killed is reported
/// INTERRUPTED after the restart, never lost.
@Suite(.serialized) struct StageServiceTests {
    static let script = CLI.packageRoot.appendingPathComponent("Tests/CorralEnginesTests/Processors/test-processor.py").path

    /// A processors TOML with one pc2 processor (the test processor) that
    /// holds the lock `gpu`, one pc2 job at a time.
    static func onePC2Pool() throws -> String {
        try CLI.writeTemp("""
        [processors.limitation.concurrent]
        pc2 = 1

        [processors.ext_locks]
        gpu = 1

        [[processors.pc2]]
        bin = "\(script)"
        args = ["pc2"]
        locks = ["gpu"]
        """, name: "processors.toml")
    }

    @Test func jobsRunThroughTheExecutorAndSurviveItsCrash() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-stages-\(UUID().uuidString)").path
        let toml = try Self.onePC2Pool()
        let check = try CLI.run(["processors", "check", toml])
        #expect(check.status == 0 && check.stdout.contains("pc2#0"), "\(check.stdout)\(check.stderr)")
        let config = try RecoveryTests.writeConfig("""
        options:
          dockerSocketPath: /nonexistent/docker.sock
        processors:
          config: \(toml)
        """)
        let rec = RecoveryTests()
        var daemon = try RecoveryTests.Daemon(config: config, stateDir: dir)
        let done = try rec.call(daemon.api, "POST", "/stages/pc2/jobs?wait=true", body: #"{"sector": 7}"#)
        #expect(done["state"] as? String == "SUCCEEDED", "\(done)")
        #expect(((done["output"] as? [String: Any])?["echo"] as? [String: Any])?["sector"] as? Int == 7)
        let payload = try CLI.writeTemp(#"{"sector": 8}"#, name: "task.json")
        let viaCLI = try CLI.run(["jobs", "submit", "pc2", payload, "--wait", "--url", daemon.api, "--secret", RecoveryTests.secret])
        #expect(viaCLI.status == 0 && viaCLI.stdout.contains("SUCCEEDED"), "\(viaCLI.stdout)\(viaCLI.stderr)")
        let stages = try CLI.run(["stages", "--url", daemon.api, "--secret", RecoveryTests.secret])
        #expect(stages.stdout.contains("pc2#0  ready"), "\(stages.stdout)")
        let unknown = try rec.call(daemon.api, "POST", "/stages/pc9/jobs", body: "{}")
        #expect((unknown["error"] as? [String: Any])?["code"] as? String == "unknown_stage")

        let long = try rec.call(daemon.api, "POST", "/stages/pc2/jobs", body: #"{"sleep": 30}"#)
        let longID = try #require(long["id"] as? String)
        let queued = try rec.call(daemon.api, "POST", "/stages/pc2/jobs", body: #"{"sector": 9}"#)
        let queuedID = try #require(queued["id"] as? String)
        _ = try await rec.waitFor(daemon.api, "/jobs/\(longID)", "RUNNING")
        #expect(try rec.call(daemon.api, "GET", "/jobs/\(queuedID)")["state"] as? String == "QUEUED", "the stage limit is 1")
        daemon.kill9()
        daemon = try RecoveryTests.Daemon(config: config, stateDir: dir)
        defer { daemon.kill9() }
        let interrupted = try rec.call(daemon.api, "GET", "/jobs/\(longID)")
        #expect(interrupted["state"] as? String == "INTERRUPTED", "\(interrupted)")
        #expect((interrupted["error"] as? String)?.contains("the executor stopped while the job ran on pc2#0") == true)
        let rerun = try await rec.waitFor(daemon.api, "/jobs/\(queuedID)", "SUCCEEDED")
        #expect(rerun["state"] as? String == "SUCCEEDED", "a queued job runs after the restart: \(rerun)")
    }

    /// Pool CPUs are withheld from new instances, but an instance adopted from
    /// before the pools were configured may hold some: the executor and
    /// `corral processors check` say so, naming the instance and the CPUs.
    @Test func cpusetsSharedWithPinnedInstancesAreReported() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-stages-\(UUID().uuidString)").path
        let rec = RecoveryTests()
        let plain = try RecoveryTests.writeConfig("""
        options:
          dockerSocketPath: /nonexistent/docker.sock
        """)
        var daemon = try RecoveryTests.Daemon(config: plain, stateDir: dir)
        let created = try rec.call(daemon.api, "POST", "/instances", body: """
        {"appId": "svc", "instanceId": "svc-pinned", "executable": {"type": "PROCESS", "command": ["sleep", "60"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
        """)
        let cpus = try #require((created["allocation"] as? [String: Any])?["cpus"] as? String, "\(created)")
        _ = try await rec.waitFor(daemon.api, "/instances/svc-pinned", "HEALTHY")
        daemon.kill9()

        let toml = try CLI.writeTemp("""
        [[processors.pc1]]
        bin = "\(Self.script)"
        args = ["pc1"]
        cgroup.cpuset = "\(cpus)"
        """, name: "processors.toml")
        let check = try CLI.run(["processors", "check", toml, "--state-dir", dir])
        #expect(check.status == 0, "a warning, not an error: \(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("processors.pc1[0].cgroup.cpuset") && check.stdout.contains("\(cpus) is also given to pinned instance svc-pinned"),
                "\(check.stdout)")
        let missing = try CLI.run(["processors", "check", toml, "--state-dir", dir + "-nowhere"])
        #expect(missing.status != 0 && missing.stderr.contains("no state database"), "\(missing.stderr)")

        let config = try RecoveryTests.writeConfig("""
        options:
          dockerSocketPath: /nonexistent/docker.sock
        processors:
          config: \(toml)
        """)
        daemon = try RecoveryTests.Daemon(config: config, stateDir: dir)
        defer { daemon.kill9() }
        let adopted = try await rec.waitFor(daemon.api, "/instances/svc-pinned", "HEALTHY")
        #expect(adopted["state"] as? String == "HEALTHY", "nothing running is lost: \(adopted); \(daemon.health)")
        let stages = try rec.call(daemon.api, "GET", "/stages")
        let warnings = stages["warnings"] as? [String] ?? []
        #expect(warnings.contains { $0.contains("also given to pinned instance svc-pinned") }, "\(stages)")
        let listed = try CLI.run(["stages", "--url", daemon.api, "--secret", RecoveryTests.secret])
        #expect(listed.stdout.contains("warning:") && listed.stdout.contains("pinned instance svc-pinned"), "\(listed.stdout)")
        _ = try rec.call(daemon.api, "POST", "/instances/svc-pinned/stop")
        #expect(try await rec.waitFor(daemon.api, "/instances/svc-pinned", "STOPPED")["state"] as? String == "STOPPED")
    }
}
