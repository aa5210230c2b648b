import Foundation
import Testing

/// The real `corral executor`, killed with SIGKILL and started again on the same state.
@Suite(.serialized) struct RecoveryTests {
    final class Daemon {
        let process = Process()
        var api = ""
        /// The executor's stdout. A file, not a pipe: it logs every request there,
        /// and a pipe the test process is slow to drain would block the daemon.
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("corral-daemon-\(UUID().uuidString).log")

        init(config: String, stateDir: String) throws {
            process.executableURL = CLI.binary
            process.arguments = ["executor", "--config", config, "--state-dir", stateDir]
            FileManager.default.createFile(atPath: output.path, contents: nil)
            // Both streams: a crash report (Swift runtime backtrace) lands beside the request log.
            let log = try FileHandle(forWritingTo: output)
            process.standardOutput = log
            process.standardError = log
            try process.run()
            // Wait for "corral executor listening: API 127.0.0.1:PORT, admin ...".
            var text = ""
            let end = Date().addingTimeInterval(20)
            while Date() < end, process.isRunning {
                text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                if let line = text.range(of: "corral executor listening:"), text[line.upperBound...].contains("\n") { break }
                usleep(20_000)
            }
            guard let line = text.range(of: "corral executor listening:"), let r = text[line.upperBound...].range(of: "API "), let comma = text[r.upperBound...].firstIndex(of: ",") else {
                process.terminate()
                throw CLI.Failure("executor did not start: \(text)")
            }
            api = "http://" + text[r.upperBound..<comma]
        }

        /// Whether it is still up, and if not how it ended (for failure messages).
        var health: String {
            process.isRunning ? "executor running" : "executor DIED (status \(process.terminationStatus)); log: \(output.path)"
        }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static let secret = "recovery-secret"

    /// An executor config on ephemeral loopback ports with the test secret, plus `rest` (YAML).
    static func writeConfig(_ rest: String) throws -> String {
        try CLI.writeTemp("""
        server:
          applicationConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
          adminConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
        clusterAuth:
          secrets: [{ nodeType: CONTROLLER, secret: \(secret) }]

        """ + rest)
    }

    /// One API call with curl (installed by scripts/test).
    func call(_ base: String, _ method: String, _ path: String, body: String? = nil, secret: String = RecoveryTests.secret) throws -> [String: Any] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var args = ["curl", "-s", "-m", "10", "-X", method, "-H", "Cluster-Authorization: \(secret)"]
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
        let config = try Self.writeConfig("""
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
        #expect((adopted["history"] as? [[String: Any]])?.compactMap({ $0["state"] as? String }).contains("UNKNOWN") == true)
        let task = try await waitFor(daemon.api, "/tasks/job-7", "STOPPED")
        #expect(task["exitCode"] as? Int == 7, "the result recorded while the executor was down: \(task)")
        // Nothing double-booked: the instance's CPU is busy, the task's is free again.
        let summary = try call(daemon.api, "GET", "/executor")
        let total = try #require(summary["totalCpus"] as? Int)
        let now = try call(daemon.api, "GET", "/instances/svc-1")
        #expect(summary["freeCpus"] as? Int == total - 1,
                "instance now \(now["state"] ?? "?") (\(now["history"] ?? [])), last error \(now["lastError"] ?? "none")")
        // And it still stops cleanly, freeing its CPU.
        _ = try call(daemon.api, "POST", "/instances/svc-1/stop")
        let stopped = try await waitFor(daemon.api, "/instances/svc-1", "STOPPED")
        #expect(stopped["state"] as? String == "STOPPED", "\(stopped); \(daemon.health)")
        #expect(try call(daemon.api, "GET", "/executor")["freeCpus"] as? Int == total)
        #expect(kill(pid, 0) != 0 || ProcReaderLite.isZombie(pid))
    }

    /// A task adopted after a restart goes on writing where its logs are
    /// served, `<sourceAppName>/<taskId>/output.log`, as a fresh start does
    /// (not under its instance id).
    @Test func adoptedTaskOutputStaysWhereItsLogsAreServed() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-recovery-\(UUID().uuidString)").path
        let config = try Self.writeConfig("""
        options:
          dockerSocketPath: /nonexistent/docker.sock
        """)
        var daemon = try Daemon(config: config, stateDir: dir)
        _ = try call(daemon.api, "POST", "/tasks", body: """
        {"sourceAppName": "batch", "taskId": "t-out", "executable": {"type": "PROCESS",
         "command": ["sh", "-c", "echo before-restart; sleep 3; echo after-restart"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
        """)
        let running = try await waitFor(daemon.api, "/tasks/t-out", "RUNNING")
        let instanceId = try #require(running["instanceId"] as? String)
        let log = "\(dir)/logs/batch/t-out/output.log"
        for _ in 0..<100 where !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("before-restart") {
            try await Task.sleep(for: .milliseconds(20))
        }
        daemon.kill9()
        daemon = try Daemon(config: config, stateDir: dir)
        defer { daemon.kill9() }
        let done = try await waitFor(daemon.api, "/tasks/t-out", "STOPPED")
        #expect(done["exitCode"] as? Int == 0, "\(done)")
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(text.contains("before-restart") && text.contains("after-restart"), "log at \(log): \(text)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/logs/batch/\(instanceId)"),
                "no second log directory under the instance id")
        // And the API serves it there.
        let tail = try call(daemon.api, "GET", "/logs/t-out/read/output.log")
        #expect((tail["data"] as? String)?.contains("after-restart") == true, "\(tail)")
    }

    /// SIGTERM stops the executor cleanly (exit status 0: every service ends
    /// without an error) and leaves its workloads running for the next start.
    @Test func aStopSignalEndsTheExecutorCleanlyAndLeavesWorkloadsRunning() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-recovery-\(UUID().uuidString)").path
        let config = try Self.writeConfig("""
        options:
          dockerSocketPath: /nonexistent/docker.sock
        """)
        let daemon = try Daemon(config: config, stateDir: dir)
        _ = try call(daemon.api, "POST", "/instances", body: """
        {"appId": "svc", "instanceId": "term-1", "executable": {"type": "PROCESS", "command": ["sleep", "60"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
        """)
        let healthy = try await waitFor(daemon.api, "/instances/term-1", "HEALTHY")
        let runner = try #require((healthy["handle"] as? [String: Any])?["pid"] as? Int32)
        kill(daemon.process.processIdentifier, SIGTERM)
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationReason == .exit && daemon.process.terminationStatus == 0,
                "exit status \(daemon.process.terminationStatus); log: \(daemon.output.path)")
        #expect(kill(runner, 0) == 0, "the workload runs on")
        kill(-runner, SIGKILL)
    }

    /// An app deployed with an environment value heals after the executor is
    /// killed and its instance dies meanwhile: the replacement runs with the
    /// value as deployed, which the state database holds only sealed.
    @Test func anAppWithSecretsHealsAfterAKilledExecutor() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-recovery-\(UUID().uuidString)").path
        let seen = FileManager.default.temporaryDirectory.appendingPathComponent("corral-env-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: seen, withIntermediateDirectories: true)
        let token = "tok-\(UUID().uuidString)"
        let fileSecret = "file-\(UUID().uuidString)"
        let fileData = Data(fileSecret.utf8).base64EncodedString()
        let config = try Self.writeConfig("""
        options:
          dockerSocketPath: /nonexistent/docker.sock
        """)
        var daemon = try Daemon(config: config, stateDir: dir)
        let deployed = try call(daemon.api, "POST", "/apps", body: """
        {"instances": 1, "spec": {"appId": "vault", "executable": {"type": "PROCESS",
         "command": ["sh", "-c", "cp $CORRAL_CONFIGS_DIR/etc/vault.conf \(seen)/$CORRAL_INSTANCE_ID.conf; echo \\"$APP_TOKEN\\" > \(seen)/$CORRAL_INSTANCE_ID; exec sleep 60"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}],
         "configs": [{"type": "INLINE", "localFilename": "/etc/vault.conf", "data": "\(fileData)"}],
         "env": {"APP_TOKEN": "\(token)"}}}
        """)
        #expect(deployed["appId"] as? String == "vault", "\(deployed)")
        let first = try await waitFor(daemon.api, "/apps/vault", field: "healthy", "1")
        let firstID = try #require((first["instances"] as? [String])?.first, "\(first)")
        let instance = try call(daemon.api, "GET", "/instances/\(firstID)")
        let runner = try #require((instance["handle"] as? [String: Any])?["pid"] as? Int32)

        daemon.kill9()
        // The instance dies while nobody watches.
        for p in ProcReaderLite.children(of: runner) { kill(p, SIGKILL) }
        daemon = try Daemon(config: config, stateDir: dir)
        defer { daemon.kill9() }
        var replacement: String?
        for _ in 0..<300 {
            let app = try call(daemon.api, "GET", "/apps/vault")
            if let id = (app["instances"] as? [String])?.first(where: { $0 != firstID }), app["healthy"] as? Int == 1 {
                replacement = id
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let appNow = try call(daemon.api, "GET", "/apps/vault")
        let id = try #require(replacement, "no replacement; \(appNow); \(daemon.health)")
        let env = try String(contentsOfFile: "\(seen)/\(id)", encoding: .utf8)
        #expect(env.trimmingCharacters(in: .whitespacesAndNewlines) == token, "the replacement got the value as deployed")
        #expect(try String(contentsOfFile: "\(seen)/\(id).conf", encoding: .utf8) == fileSecret, "and its config file")
        // Nowhere in the state database's files in the clear.
        for f in ["state.sqlite", "state.sqlite-wal"] {
            let bytes = FileManager.default.contents(atPath: "\(dir)/\(f)") ?? Data()
            #expect(bytes.range(of: Data(token.utf8)) == nil, "\(f) holds the value in the clear")
            #expect(bytes.range(of: Data(fileSecret.utf8)) == nil && bytes.range(of: Data(fileData.utf8)) == nil, "\(f) holds the config file in the clear")
        }
        // Nor in what the API answers.
        #expect(!String(describing: try call(daemon.api, "GET", "/apps/vault")).contains(token))
        #expect(!String(describing: try call(daemon.api, "GET", "/instances/\(id)")).contains(token))

        // Another key: the app is reported, by name, as not recoverable; nothing starts without its value.
        daemon.kill9()
        let keyFile = "\(dir)/keys/secrets.key"
        try "\(Data(repeating: 3, count: 32).base64EncodedString())\n".write(toFile: keyFile, atomically: false, encoding: .utf8)
        chmod(keyFile, 0o600)
        daemon = try Daemon(config: config, stateDir: dir)
        let paused = try call(daemon.api, "GET", "/apps/vault")
        let why = try #require(paused["paused"] as? String, "\(paused)")
        #expect(why.contains("vault") && why.contains("APP_TOKEN") && why.contains("config file /etc/vault.conf") && why.contains("cannot be decrypted"), "\(why)")
        #expect(!why.contains(token))
    }

    static let podman = ProcessInfo.processInfo.environment["CORRAL_TEST_DOCKER_SOCKET"] ?? "/tmp/corral-podman/podman.sock"

    /// Container ids carrying Corral's instance label for `instance` (running or not, or only live ones).
    func containers(_ instance: String, running: Bool = false) throws -> [String] {
        let filter = "{\"label\":[\"corral.instance-id=\(instance)\"]}"
            .addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["curl", "-s", "-m", "10", "--unix-socket", Self.podman, "http://d/v1.41/containers/json?all=true&filters=\(filter)"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let list = try #require((try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]], "\(String(decoding: data, as: UTF8.self))")
        // running: still alive (Podman says "stopping" while a stop's grace runs).
        return list.filter { !running || ["running", "stopping", "paused", "restarting"].contains($0["State"] as? String ?? "") }
            .compactMap { $0["Id"] as? String }
    }

    /// Runners alive for `instance` (found by their `--instance` argument).
    func runners(_ instance: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry), !ProcReaderLite.isZombie(pid),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard args.first?.hasSuffix("corral-runner") == true, let i = args.firstIndex(of: "--instance"),
                  i + 1 < args.count, args[i + 1] == instance else { return nil }
            return pid
        }
    }

    /// Both engines, the executor killed at several points of a start (while the
    /// request is in flight, right after it is accepted, once the workload runs):
    /// on restart every instance is either adopted with a live workload or LOST
    /// with nothing left behind, and the free CPUs add up.
    @Test func killedMidStartLeavesNoOrphanAndNothingDoubleBooked() async throws {
        guard FileManager.default.fileExists(atPath: Self.podman) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("CI=true but no container engine socket at \(Self.podman): scripts/test starts one")
            }
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-recovery-\(UUID().uuidString)").path
        let config = try Self.writeConfig("""
        resources:
          overProvisioning: { enabled: true, cpuMultiplier: 8, memoryMultiplier: 4 }
        options:
          dockerSocketPath: \(Self.podman)
          cacheImages: true
        """)
        var daemon = try Daemon(config: config, stateDir: dir)
        var total = 0
        let run = UUID().uuidString.prefix(6).lowercased()
        func spec(_ id: String, docker: Bool) -> String {
            let exe = docker
                ? #"{"type": "DOCKER", "url": "localhost/corral-test:1", "pullPolicy": "NEVER"}"#
                : #"{"type": "PROCESS", "command": ["sleep", "120"]}"#
            let args = docker ? #", "args": ["sleep", "120"]"# : ""
            return """
            {"appId": "rec", "instanceId": "\(id)", "executable": \(exe)\(args),
             "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
            """
        }
        var ids: [String] = []
        // (docker?, when to kill): "inflight" = while the POST is on the wire, "accepted" = right after 201, "running" = once HEALTHY.
        let points: [(Bool, String)] = [(true, "inflight"), (true, "accepted"), (true, "running"),
                                         (false, "inflight"), (false, "accepted"), (false, "running")]
        for (n, (docker, point)) in points.enumerated() {
            let id = "rec-\(run)-\(n)"
            ids.append(id)
            if total == 0 { total = try #require(try call(daemon.api, "GET", "/executor")["totalCpus"] as? Int) }
            switch point {
            case "inflight":
                let api = daemon.api
                let body = spec(id, docker: docker)
                let post = Task.detached { _ = try? self.call(api, "POST", "/instances", body: body) }
                try await Task.sleep(for: .milliseconds(docker ? 60 : 2))
                daemon.kill9()
                _ = await post.value
            case "accepted":
                let r = try call(daemon.api, "POST", "/instances", body: spec(id, docker: docker))
                #expect(r["instanceId"] as? String == id, "\(r)")
                daemon.kill9()
            default:
                _ = try call(daemon.api, "POST", "/instances", body: spec(id, docker: docker))
                let s = try await waitFor(daemon.api, "/instances/\(id)", "HEALTHY")
                #expect(s["state"] as? String == "HEALTHY", "\(s)")
                daemon.kill9()
            }
            daemon = try Daemon(config: config, stateDir: dir)
            let t0 = Date()
            // Every instance so far: adopted and HEALTHY with a workload, or LOST (or never known) with none.
            var busy = 0
            for (k, other) in ids.enumerated() {
                let isDocker = points[k].0
                var info = try call(daemon.api, "GET", "/instances/\(other)")
                for _ in 0..<100 where !["HEALTHY", "LOST", "STOPPED", ""].contains("\(info["state"] ?? "")") {
                    try await Task.sleep(for: .milliseconds(50))
                    info = try call(daemon.api, "GET", "/instances/\(other)")
                }
                let state = "\(info["state"] ?? "")"
                if k == n { print("kill \(n + 1) (\(isDocker ? "docker" : "process"), \(points[k].1)): \(other) is \(state.isEmpty ? "unknown" : state) after restart, \(Date().timeIntervalSince(t0)) s") }
                let live = isDocker ? try containers(other).count : runners(other).count
                if state == "HEALTHY" {
                    busy += 1
                    #expect(live == 1, "\(other) (\(points[k])) is HEALTHY with \(live) workloads")
                } else {
                    #expect(["LOST", "STOPPED", ""].contains(state), "\(other) (\(points[k])) is \(state)")
                    #expect(live == 0, "\(other) (\(points[k])) is \(state) but \(live) workloads are left")
                }
                if points[k].1 == "running" {
                    #expect(state == "HEALTHY", "an instance that ran before the kill is adopted: \(other) is \(state)")
                }
            }
            let summary = try call(daemon.api, "GET", "/executor")
            #expect(summary["freeCpus"] as? Int == total - busy, "free CPUs after kill \(n + 1): \(summary["freeCpus"] ?? "?") of \(total), \(busy) busy")
        }
        // Clean up through the API: every workload goes, every CPU comes back.
        let healthy = try ids.filter { try call(daemon.api, "GET", "/instances/\($0)")["state"] as? String == "HEALTHY" }
        for id in healthy { _ = try call(daemon.api, "POST", "/instances/\(id)/stop") }
        for id in healthy {
            let s = try await waitFor(daemon.api, "/instances/\(id)", "STOPPED")
            #expect(s["state"] as? String == "STOPPED", "\(s); \(daemon.health)")
        }
        for id in ids { #expect(try containers(id).isEmpty && runners(id).isEmpty, "\(id) left a workload behind") }
        #expect(try call(daemon.api, "GET", "/executor")["freeCpus"] as? Int == total)
        daemon.kill9()
    }

    /// An instance reports STOPPED only once its process and runner, or its
    /// container, have exited: never while the workload still runs its
    /// shutdown (here two seconds of it), for a fresh instance and for one
    /// adopted after the executor was killed, with both engines.
    @Test func stoppedIsReportedOnlyAfterTheWorkloadHasExited() async throws {
        let docker = FileManager.default.fileExists(atPath: Self.podman)
        if !docker && ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("CI=true but no container engine socket at \(Self.podman): scripts/test starts one")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-stopped-\(UUID().uuidString)").path
        let config = try Self.writeConfig("""
        resources:
          overProvisioning: { enabled: true, cpuMultiplier: 8, memoryMultiplier: 4 }
        options:
          dockerSocketPath: \(docker ? Self.podman : "/nonexistent/docker.sock")
          cacheImages: true
        """)
        var daemon = try Daemon(config: config, stateDir: dir)
        defer { daemon.kill9() }
        let run = UUID().uuidString.prefix(6).lowercased()
        // Two seconds of shutdown after SIGTERM.
        let script = "trap 'sleep 2; exit 0' TERM; while true; do sleep 0.1; done"
        func spec(_ id: String, docker: Bool) -> String {
            let exe = docker
                ? #"{"type": "DOCKER", "url": "localhost/corral-test:1", "pullPolicy": "NEVER"}"#
                : #"{"type": "PROCESS", "command": ["/bin/sh", "-c", "\#(script)"]}"#
            let args = docker ? #", "args": ["/bin/sh", "-c", "\#(script)"]"# : ""
            return """
            {"appId": "stop", "instanceId": "\(id)", "executable": \(exe)\(args),
             "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
            """
        }
        /// Stops `id` and watches it: whenever it says STOPPED, nothing of it may run.
        func stopAndWatch(_ id: String, docker: Bool, pid: Int32?) async throws {
            _ = try call(daemon.api, "POST", "/instances/\(id)/stop")
            var sawStoppingWhileAlive = false
            let started = Date()
            while Date().timeIntervalSince(started) < 20 {
                let state = try call(daemon.api, "GET", "/instances/\(id)")["state"] as? String ?? "?"
                let alive = docker ? !(try containers(id, running: true)).isEmpty
                    : !runners(id).isEmpty || pid.map { kill($0, 0) == 0 && !ProcReaderLite.isZombie($0) } ?? false
                if state == "STOPPED" {
                    #expect(!alive, "\(id) (\(docker ? "container" : "process")) is STOPPED while its workload runs")
                    #expect(sawStoppingWhileAlive, "\(id): its two seconds of shutdown were seen")
                    #expect(Date().timeIntervalSince(started) >= 1.5, "\(id) STOPPED before its shutdown could end")
                    return
                }
                if alive { sawStoppingWhileAlive = true }
                if ProcessInfo.processInfo.environment["CORRAL_DEBUG_STOP"] != nil { print("\(id) \(Date().timeIntervalSince(started)) \(state) alive=\(alive)") }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("\(id) never reached STOPPED; \(daemon.health)")
        }
        let engines = docker ? [false, true] : [false]
        for d in engines {
            let fresh = "stop-\(run)-\(d ? "c" : "p")-fresh"
            _ = try call(daemon.api, "POST", "/instances", body: spec(fresh, docker: d))
            let info = try await waitFor(daemon.api, "/instances/\(fresh)", "HEALTHY")
            #expect(info["state"] as? String == "HEALTHY", "\(info)")
            try await stopAndWatch(fresh, docker: d, pid: (info["handle"] as? [String: Any])?["pid"] as? Int32)

            let adopted = "stop-\(run)-\(d ? "c" : "p")-adopted"
            _ = try call(daemon.api, "POST", "/instances", body: spec(adopted, docker: d))
            let before = try await waitFor(daemon.api, "/instances/\(adopted)", "HEALTHY")
            daemon.kill9()
            daemon = try Daemon(config: config, stateDir: dir)
            let after = try await waitFor(daemon.api, "/instances/\(adopted)", "HEALTHY")
            #expect((after["history"] as? [[String: Any]])?.contains { $0["state"] as? String == "UNKNOWN" } == true, "adopted: \(after)")
            try await stopAndWatch(adopted, docker: d, pid: (before["handle"] as? [String: Any])?["pid"] as? Int32)
        }
    }
}

enum ProcReaderLite {
    static func isZombie(_ pid: Int32) -> Bool {
        (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z") ?? true
    }

    /// Processes whose parent is `pid` (from /proc/*/stat: the field after the state).
    static func children(of pid: Int32) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let p = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid ? p : nil
        }
    }
}
