import Foundation
import Testing

/// The real `corral executor`, killed with SIGKILL and started again on the same state.
@Suite(.serialized) struct RecoveryTests {
    final class Daemon {
        let process = Process()
        let out = Pipe()
        var api = ""

        init(config: String, stateDir: String) throws {
            process.executableURL = CLI.binary
            process.arguments = ["executor", "--config", config, "--state-dir", stateDir]
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait for "corral executor listening: API 127.0.0.1:PORT, admin ...".
            var text = ""
            let end = Date().addingTimeInterval(20)
            while Date() < end, !text.contains("corral executor listening:") || !text.hasSuffix("\n") {
                let d = out.fileHandleForReading.availableData
                if d.isEmpty { break }
                text += String(decoding: d, as: UTF8.self)
            }
            // The executor keeps logging (requests included) to stdout: keep the pipe drained.
            out.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
            guard let line = text.range(of: "corral executor listening:"), let r = text[line.upperBound...].range(of: "API "), let comma = text[r.upperBound...].firstIndex(of: ",") else {
                process.terminate()
                throw CLI.Failure("executor did not start: \(text)")
            }
            api = "http://" + text[r.upperBound..<comma]
        }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static let secret = "recovery-secret"

    /// One API call with curl (installed by scripts/test).
    func call(_ base: String, _ method: String, _ path: String, body: String? = nil) throws -> [String: Any] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var args = ["curl", "-s", "-m", "10", "-X", method, "-H", "Cluster-Authorization: \(Self.secret)"]
        if let body { args += ["-H", "Content-Type: application/json", "-d", body] }
        p.arguments = args + [base + "/apis/v1" + path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
    }

    func waitFor(_ base: String, _ path: String, field: String = "state", _ value: String) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        for _ in 0..<200 {
            last = try call(base, "GET", path)
            if "\(last[field] ?? "")" == value { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        return last
    }

    @Test func killedExecutorAdoptsEverythingAndLosesNoResult() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-recovery-\(UUID().uuidString)").path
        let config = try CLI.writeTemp("""
        server:
          applicationConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
          adminConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
        clusterAuth:
          secrets: [{ nodeType: CONTROLLER, secret: \(Self.secret) }]
        options:
          dockerSocketPath: /nonexistent/docker.sock
        """)
        var daemon = try Daemon(config: config, stateDir: dir)
        let created = try call(daemon.api, "POST", "/instances", body: """
        {"appId": "svc", "instanceId": "svc-1", "executable": {"type": "PROCESS", "command": ["sleep", "60"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
        """)
        let cpus = try #require((created["allocation"] as? [String: Any])?["cpus"] as? String)
        _ = try await waitFor(daemon.api, "/instances/svc-1", "HEALTHY")
        _ = try call(daemon.api, "POST", "/tasks", body: """
        {"sourceAppName": "jobs", "taskId": "job-7", "executable": {"type": "PROCESS", "command": ["sh", "-c", "sleep 1.5; exit 7"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
        """)
        _ = try await waitFor(daemon.api, "/tasks/job-7", "RUNNING")
        let pid = try #require(((try call(daemon.api, "GET", "/instances/svc-1"))["handle"] as? [String: Any])?["pid"] as? Int32)

        daemon.kill9()
        // The workloads do not notice: the instance's runner is alive, the task goes on and ends while nobody watches.
        #expect(kill(pid, 0) == 0)
        try await Task.sleep(for: .seconds(2))

        daemon = try Daemon(config: config, stateDir: dir)
        defer { daemon.kill9() }
        let adopted = try await waitFor(daemon.api, "/instances/svc-1", "HEALTHY")
        #expect(adopted["state"] as? String == "HEALTHY", "\(adopted)")
        #expect((adopted["allocation"] as? [String: Any])?["cpus"] as? String == cpus, "adopted with its exact allocation")
        #expect((adopted["history"] as? [String])?.contains("UNKNOWN") == true)
        let task = try await waitFor(daemon.api, "/tasks/job-7", "STOPPED")
        #expect(task["exitCode"] as? Int == 7, "the result recorded while the executor was down: \(task)")
        // Nothing double-booked: the instance's CPU is busy, the task's is free again.
        let summary = try call(daemon.api, "GET", "/executor")
        let total = try #require(summary["totalCpus"] as? Int)
        #expect(summary["freeCpus"] as? Int == total - 1)
        // And it still stops cleanly, freeing its CPU.
        _ = try call(daemon.api, "POST", "/instances/svc-1/stop")
        _ = try await waitFor(daemon.api, "/instances/svc-1", "STOPPED")
        #expect(try call(daemon.api, "GET", "/executor")["freeCpus"] as? Int == total)
        #expect(kill(pid, 0) != 0 || ProcReaderLite.isZombie(pid))
    }
}

enum ProcReaderLite {
    static func isZombie(_ pid: Int32) -> Bool {
        (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z") ?? true
    }
}
