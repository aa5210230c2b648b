import CorralCore
import CorralEngines
import CorralRuntime
import CorralTestSupport
import Foundation
import Testing

/// `corral run` for real: a live executor on a real engine (Podman, and
/// Docker for the start retries), the client run as a non-root user created
/// for the test, jobs in containers.
@Suite(.serialized) struct RunTests {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let dockerd = ProcessInfo.processInfo.environment["CORRAL_TEST_DOCKERD_SOCKET"] ?? "/tmp/corral-docker/docker.sock"
    static let image = "localhost/corral-test:1"

    /// The test's user, with one supplementary group: created once (root only).
    struct User {
        var name = "corral-run-test"
        var group = "corral-run-extra"
        var uid: UInt32
        var gid: UInt32
        var extra: UInt32
    }

    static func sh(_ command: String) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func user() throws -> User? {
        guard getuid() == 0 else { return nil }
        var u = User(uid: 0, gid: 0, extra: 0)
        _ = try sh("getent group \(u.group) >/dev/null || groupadd \(u.group)")
        _ = try sh("id \(u.name) >/dev/null 2>&1 || useradd --create-home --user-group \(u.name)")
        _ = try sh("usermod -a -G \(u.group) \(u.name)")
        guard let uid = UInt32(try sh("id -u \(u.name)").out), let gid = UInt32(try sh("id -g \(u.name)").out),
              let extra = UInt32(try sh("getent group \(u.group) | cut -d: -f3").out) else { return nil }
        u.uid = uid
        u.gid = gid
        u.extra = extra
        return u
    }

    /// Whether the engine and a root test process are here; under CI=true their absence fails.
    static func ready(_ socket: String) -> Bool {
        var why: String?
        if getuid() != 0 { why = "corral run's tests switch to a user they create: they need root" }
        else if !FileManager.default.fileExists(atPath: socket) { why = "no container engine socket at \(socket): scripts/test starts one" }
        guard let why else { return true }
        if isCI { Issue.record(Comment(rawValue: "CI=true: \(why)")) } else { print("skipped: \(why)") }
        return false
    }

    /// A live executor with a run socket and `run.toml`, in a fresh directory.
    final class Node {
        let dir: String
        let socket: String
        let runToml: String
        let hooksLog: String
        let work: String
        var daemon: RecoveryTests.Daemon
        let config: String
        let engine: String

        init(engine: String = RecoveryTests.podman, runToml extra: String = "", user: User?) throws {
            self.engine = engine
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-run-\(UUID().uuidString.prefix(8))").path
            socket = dir + "/run.sock"
            (work, hooksLog, runToml) = try Self.site(dir, user: user, extra: extra)
            config = try RecoveryTests.writeConfig("""
            options:
              dockerSocketPath: \(engine)
              runSocketPath: \(socket)
              runConfigPath: \(runToml)
            """)
            daemon = try RecoveryTests.Daemon(config: config, stateDir: dir + "/state")
        }

        /// A site in `dir`: its hooks, each noting its name and uid in
        /// `work/hooks.log`; the caller's working directory `work` (theirs,
        /// as a job's would be); and run.toml.
        static func site(_ dir: String, user: User?, extra: String) throws -> (work: String, hooksLog: String, runToml: String) {
            try FileManager.default.createDirectory(atPath: dir + "/hooks", withIntermediateDirectories: true)
            chmod(dir, 0o755)
            let work = dir + "/work", hooksLog = dir + "/work/hooks.log", runToml = dir + "/run.toml"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            if let user { chown(work, user.uid, user.gid) }
            FileManager.default.createFile(atPath: hooksLog, contents: nil)
            chmod(hooksLog, 0o666)
            for hook in RunHook.allCases {
                let path = "\(dir)/hooks/\(hook.rawValue)"
                try "#!/bin/sh\necho \"\(hook.rawValue) $(id -u)\" >> \(hooksLog)\n".write(toFile: path, atomically: true, encoding: .utf8)
                chmod(path, 0o755)
            }
            try toml(dir: dir, extra: extra).write(toFile: runToml, atomically: true, encoding: .utf8)
            return (work, hooksLog, runToml)
        }

        static func toml(dir: String, extra: String) -> String {
            """
            container_image = "\(RunTests.image)"
            env_var_filter = ["SECRET_*", "DROP_ME"]
            stop_grace_period = 2
            hook_timeout = 20
            container_hostname = "job-host"
            \(RunHook.allCases.map { "\($0.rawValue) = \"\(dir)/hooks/\($0.rawValue)\"" }.joined(separator: "\n"))
            \(extra)
            """
        }

        deinit {
            daemon.kill9()
            // A removal the kill cut short leaves an exited container in the
            // shared engine: this executor's (its owner label) go with it.
            let owner = SpecHash.of(URL(fileURLWithPath: dir + "/state").standardizedFileURL.path)
            let filters = #"{"label":["\#(DockerEngine.labelOwner)=\#(owner)"]}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            p.arguments = ["-s", "-o", "/dev/null", "--max-time", "20", "--unix-socket", engine, "-X", "POST", "http://d/v1.41/containers/prune?filters=\(filters)"]
            if (try? p.run()) != nil { p.waitUntilExit() }
        }

        /// SIGKILL, then a new executor on the same state.
        func restart() throws {
            daemon.kill9()
            daemon = try RecoveryTests.Daemon(config: config, stateDir: dir + "/state")
        }

        /// An empty hooks log that root's hooks and the user's may both append to.
        func resetHooks() {
            FileManager.default.createFile(atPath: hooksLog, contents: nil)
            chmod(hooksLog, 0o666)
        }

        var hooks: [String] {
            ((try? String(contentsOfFile: hooksLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func freeCPUs() throws -> (free: Int, total: Int) {
            let s = try RecoveryTests().call(daemon.api, "GET", "/executor")
            return (s["freeCpus"] as? Int ?? -1, s["totalCpus"] as? Int ?? -2)
        }
    }

    /// `corral run ARGS` as `user` (nil: root), from the node's work directory.
    static func client(_ node: Node, as user: User?, _ args: [String], env: [String: String] = [:]) -> Process {
        client(socket: node.socket, work: node.work, as: user, args, env: env)
    }

    /// `corral run ARGS` on `socket` as `user` (nil: root), from `work`.
    static func client(socket: String, work: String, as user: User?, _ args: [String], env: [String: String] = [:]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        let who = user.map { ["--reuid", String($0.uid), "--regid", String($0.gid), "--init-groups"] } ?? ["--reuid", "0", "--regid", "0", "--keep-groups"]
        p.arguments = who + ["--", CLI.binary.path, "run", "--socket", socket] + args
        p.currentDirectoryURL = URL(fileURLWithPath: work)
        var e = ["PATH": "/usr/bin:/bin", "CORRAL_RUN_SOCKET": socket]
        for (k, v) in env { e[k] = v }
        p.environment = e
        return p
    }

    static func run(_ node: Node, as user: User?, _ args: [String], env: [String: String] = [:]) throws -> CLI.Result {
        try CLI.collect(client(node, as: user, args, env: env))
    }

    /// Whether task `taskId` reaches `state` on the node's executor within 20 s.
    static func waitForState(_ node: Node, _ taskId: String, _ state: String) async throws -> Bool {
        for _ in 0..<200 {
            if try RecoveryTests().call(node.daemon.api, "GET", "/tasks/\(taskId)")["state"] as? String == state { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// What `pipe` gives until `marker` has come (at most 20 s).
    static func read(_ pipe: Pipe, until marker: String) -> String {
        var seen = ""
        let deadline = Date().addingTimeInterval(20)
        while !seen.contains(marker), Date() < deadline {
            seen += String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        }
        return seen
    }

    static func lines(_ text: String) -> [String: String] {
        var d: [String: String] = [:]
        for l in text.split(separator: "\n") {
            if let eq = l.firstIndex(of: "=") { d[String(l[..<eq])] = String(l[l.index(after: eq)...]) }
        }
        return d
    }

    /// `--cluster`: the executor whose socket took the job sends it, with the
    /// caller as its socket read them, to the leader; the leader places it on
    /// another executor (the first is blacklisted), which checks it against
    /// its own run.toml and runs it as the caller. `corral run` gives its
    /// output (one stream), its exit status, and stops it when signalled.
    @Test func aClusterJobRunsAsTheCallerWhereverTheLeaderPlacesIt() async throws {
        guard Self.ready(RecoveryTests.podman) else { return }
        let user = try #require(try Self.user(), "the test user could not be created")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-run-cluster-\(UUID().uuidString.prefix(8))").path
        let (work, hooksLog, runToml) = try Node.site(dir, user: user, extra: "")
        try await LocalCluster.with { cluster in
            let controller = try cluster.startController()
            // The first runs no containers (a submit node): its jobs go to the cluster even without --cluster.
            let origin = try cluster.startExecutor(run: (dir + "/origin.sock", runToml))
            let target = try cluster.startExecutor(containers: true, run: (dir + "/target.sock", runToml), port: try ZooKeeperEnsemble.freePort())
            _ = try await cluster.leader()
            let e = controller.endpoint
            _ = try await DroveCLI.await(e, ["executor", "list"]) { $0.components(separatedBy: "ACTIVE").count == 3 }
            let originId = try #require(try DroveCLI.run(e, ["executor", "list"]).split(separator: "\n")
                .first { $0.contains(" \(origin.port) ") }.map { String($0.prefix { $0 != " " }) })
            _ = try DroveCLI.run(e, ["executor", "blacklist", originId])
            _ = try await DroveCLI.await(e, ["executor", "list"]) { $0.contains("BLACKLISTED") }
            let socket = dir + "/origin.sock"

            // Without -m the leader could not place it: refused at once, saying why.
            let bare = try CLI.collect(Self.client(socket: socket, work: work, as: user, ["--cluster", "--", "true"]))
            #expect(bare.status == 125 && bare.stderr.contains("--cluster needs -m"), "\(bare.stderr)")
            let submitted = try CLI.collect(Self.client(socket: socket, work: work, as: user, ["-m", "0.2", "--", "sh", "-c", "exit 4"]))
            #expect(submitted.status == 4, "a node without containers sends its jobs to the cluster: \(submitted.stderr)")

            let job = "echo uid=$(id -u) gid=$(id -g); echo pwd=$(pwd); echo cpus=$CORRAL_CPUS; echo to-stderr >&2; exit 7"
            let r = try CLI.collect(Self.client(socket: socket, work: work, as: user,
                                                ["--cluster", "-v", "-c", "1", "-m", "0.2", "--", "sh", "-c", job], env: ["SECRET_TOKEN": "s3cr3t"]))
            #expect(r.status == 7, "the job's exit status: \(r.stderr)")
            let v = Self.lines(r.stdout)
            #expect(v["uid"] == "\(user.uid) gid=\(user.gid)", "\(r.stdout)")
            #expect(v["pwd"] == work)
            #expect(r.stdout.contains("to-stderr"), "stderr comes in the one stream of the job's log")
            #expect(r.stderr.contains("on 127.0.0.1:\(target.port)"), "it ran on the other executor: \(r.stderr)")
            let taskId = try #require(r.stderr.split(separator: " ").first { $0.hasPrefix("run-") }.map { String($0.dropLast()) }, "\(r.stderr)")
            // corral run answers once the job has exited and its output is in
            // the log (DEPROVISIONING, as a local job); the container's removal follows.
            let there = try RecoveryTests().call(target.endpoint, "GET", "/tasks/\(taskId)", secret: LocalCluster.controllerSecret)
            #expect(["DEPROVISIONING", "STOPPED"].contains(there["state"] as? String ?? "") && there["exitCode"] as? Int == 7, "\(there)")
            #expect(await eventually {
                (try? RecoveryTests().call(target.endpoint, "GET", "/tasks/\(taskId)", secret: LocalCluster.controllerSecret))?["state"] as? String == "STOPPED"
            })
            #expect(try RecoveryTests().call(origin.endpoint, "GET", "/tasks/\(taskId)", secret: LocalCluster.controllerSecret)["state"] == nil)
            let shown = try await DroveCLI.await(e, ["tasks", "show", "corral-run", taskId]) { $0.contains("STOPPED") }
            #expect(shown.contains(taskId) && shown.contains("Task exit code: 7"), "the leader keeps it as a task: \(shown)")
            #expect(!controller.log.contains("s3cr3t"), "the caller's environment stays out of the leader's log")
            // The leader's route takes jobs from executors only (their secret), and says what is wrong with a bad one.
            func post(_ body: String, secret: String?) throws -> (code: String, body: String) {
                var args = ["-s", "-o", "/dev/stderr", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: application/json", "-d", body]
                if let secret { args += ["-H", "Cluster-Authorization: \(secret)"] }
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
                p.arguments = args + [e + "/apis/v1/corral/run-jobs"]
                let r = try CLI.collect(p)
                return (r.stdout, r.stderr)
            }
            #expect(try post("{}", secret: nil).code == "401")
            #expect(try post("{}", secret: LocalCluster.controllerSecret).code == "401", "the CONTROLLER secret is not an executor's")
            let bad = try post(#"{"taskId": 1}"#, secret: LocalCluster.executorSecret)
            #expect(bad.code == "400" && bad.body.contains("not a corral run job"), "\(bad)")

            // SIGTERM to corral run: the job there is stopped, its cleanup hooks run, the status is 128+15.
            FileManager.default.createFile(atPath: hooksLog, contents: nil)
            chmod(hooksLog, 0o666)
            let p = Self.client(socket: socket, work: work, as: user, ["--cluster", "-m", "0.2", "--", "sleep", "120"])
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            #expect(await eventually(seconds: 60) {
                ((try? String(contentsOfFile: hooksLog, encoding: .utf8)) ?? "").contains("job_startup_user")
            }, "the job started")
            try await Task.sleep(for: .milliseconds(500))
            kill(p.processIdentifier, SIGTERM)
            let ended = await eventually(seconds: 60) { !p.isRunning }
            #expect(ended, "corral run ended after the SIGTERM")
            if !ended { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            #expect(p.terminationStatus == 143)
            let hooks = ((try? String(contentsOfFile: hooksLog, encoding: .utf8)) ?? "")
            #expect(hooks.contains("job_cleanup_user \(user.uid)") && hooks.contains("job_cleanup_root 0"), "\(hooks)")

            // The executor running a job restarts (kill -9, then the same config
            // and state): it adopts the job and leaves it running, since its
            // client is on the other node, which relays its end as if nothing happened.
            FileManager.default.createFile(atPath: hooksLog, contents: nil)
            chmod(hooksLog, 0o666)
            let q = Self.client(socket: socket, work: work, as: user, ["--cluster", "-v", "-m", "0.2", "--", "sh", "-c", "sleep 15; echo finished; exit 3"])
            let out = Pipe(), err = Pipe()
            q.standardOutput = out
            q.standardError = err
            try q.run()
            // Restarted once the job is RUNNING on that executor's books: its
            // output can come while the start is still being recorded (a job
            // killed before that is the reaper's, tested in RecoveryTests).
            var running = false
            for _ in 0..<300 where !running {
                if let list = try? DroveCLI.run(e, ["tasks", "list"]),
                   let id = list.split(whereSeparator: { $0 == " " || $0 == "\n" }).first(where: { $0.hasPrefix("run-") }) {
                    running = (try? RecoveryTests().call(target.endpoint, "GET", "/tasks/\(id)", secret: LocalCluster.controllerSecret))?["state"] as? String == "RUNNING"
                }
                if !running { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(running, "the job is RUNNING on its executor's books")
            let restarted = try cluster.restartExecutor(target)
            let done = await eventually(seconds: 90) { !q.isRunning }
            if !done { kill(q.processIdentifier, SIGKILL) }
            q.waitUntilExit()
            let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let why = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let tail = restarted.log.split(separator: "\n").suffix(15).joined(separator: "\n")
            #expect(done && q.terminationStatus == 3 && said.contains("finished"), "status \(q.terminationStatus): \(said)\n\(why)\n\(tail)")
        }
    }

    @Test func theJobRunsAsTheCallerInTheirDirectoryOnItsCores() throws {
        guard Self.ready(RecoveryTests.podman) else { return }
        let user = try #require(try Self.user(), "the test user could not be created")
        let node = try Node(user: user)
        let job = """
        echo uid=$(id -u); echo gid=$(id -g); echo groups=$(id -G); echo name=$(whoami); echo pwd=$(pwd); echo home=$HOME
        echo host=$(hostname); echo cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2); echo corral=$CORRAL_CPUS
        echo caps=$(grep CapEff /proc/self/status | cut -f2); echo secret=${SECRET_TOKEN-absent}; echo drop=${DROP_ME-absent}
        echo keep=${KEEP_ME-absent}; echo preload=${LD_PRELOAD-absent}; echo mem=$CORRAL_MEMORY_BYTES; echo path=$PATH
        touch written-by-job; echo to-stderr >&2; exit 3
        """
        let r = try Self.run(node, as: user, ["-c", "1", "-m", "0.2", "--", "sh", "-c", job],
                             env: ["SECRET_TOKEN": "s3cr3t", "DROP_ME": "x", "KEEP_ME": "kept", "LD_PRELOAD": "/tmp/evil.so"])
        #expect(r.status == 3, "the job's exit status is corral run's: \(r.stderr)")
        let v = Self.lines(r.stdout)
        #expect(v["uid"] == String(user.uid) && v["gid"] == String(user.gid), "\(r.stdout)")
        #expect(v["groups"]?.split(separator: " ").contains(Substring(String(user.extra))) == true, "supplementary groups: \(r.stdout)")
        #expect(v["name"] == user.name, "the container's passwd knows the caller")
        #expect(v["pwd"] == node.work && v["home"] == "/home/\(user.name)")
        #expect(v["host"] == "job-host")
        #expect(v["cpus"] == v["corral"] && v["cpus"]?.isEmpty == false, "pinned to its allocation: \(r.stdout)")
        #expect(v["caps"] == "0000000000000000", "the user's processes hold no capability")
        #expect(v["secret"] == "absent" && v["drop"] == "absent" && v["preload"] == "absent" && v["keep"] == "kept")
        #expect(v["mem"] == "1000000000", "-m 0.2 is 1 GB, rounded up as exorun does")
        #expect(v["path"] != "/usr/bin:/bin" && v["path"]?.isEmpty == false, "PATH is the image's, not the caller's: \(v["path"] ?? "")")
        #expect(r.stderr.contains("to-stderr") && !r.stdout.contains("to-stderr"), "stderr stays stderr")
        var st = stat()
        #expect(stat(node.work + "/written-by-job", &st) == 0 && st.st_uid == user.uid && st.st_gid == user.gid, "files in the cwd are the caller's")
        // The hooks, in order, each as whom it should run; cleanup after a failing job.
        let u = String(user.uid)
        #expect(node.hooks == ["container_startup 0", "job_startup_root 0", "job_startup_user \(u)", "job_cleanup_user \(u)", "job_cleanup_root 0"],
                "\(node.hooks)")
        // Its output is also in the task's log file; the secret is in no log.
        let logs = try FileManager.default.subpathsOfDirectory(atPath: node.dir + "/state/logs/corral-run")
        let output = try logs.filter { $0.hasSuffix("output.log") }.map { try String(contentsOfFile: node.dir + "/state/logs/corral-run/" + $0, encoding: .utf8) }.joined()
        #expect(output.contains("uid=\(user.uid)") && output.contains("to-stderr"))
        let daemonLog = try String(contentsOf: node.daemon.output, encoding: .utf8)
        #expect(!daemonLog.contains("s3cr3t"))
        #expect(try node.freeCPUs().free == node.freeCPUs().total, "the cores are free again")
    }

    @Test func signalsExitCodesAndCancelsReachTheJob() throws {
        guard Self.ready(RecoveryTests.podman) else { return }
        let user = try #require(try Self.user(), "the test user could not be created")
        let node = try Node(user: user)
        // Killed by a signal: 128+N.
        let killed = try Self.run(node, as: user, ["--", "sh", "-c", "kill -USR1 $$"])
        #expect(killed.status == 128 + SIGUSR1, "\(killed.stderr)")
        // SIGTERM to corral run (a scheduler cancelling): the job gets it, ignores
        // it, and is killed after the 2 s grace period; cleanup still runs.
        node.resetHooks()
        let p = Self.client(node, as: user, ["--", "sh", "-c", "trap 'echo TERM-seen' TERM; echo started; while :; do sleep 0.1; done"])
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var seen = Self.read(out, until: "started")
        #expect(try node.freeCPUs().free < node.freeCPUs().total, "the job holds its core")
        let sent = Date()
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let took = Date().timeIntervalSince(sent)
        seen += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 128 + SIGKILL, "killed after the grace period")
        #expect(seen.contains("TERM-seen"), "the signal reached the job: \(seen)")
        #expect(took >= 1.8 && took < 12, "stopped within the grace period (2 s) and its bound: \(took) s")
        #expect(node.hooks.suffix(2) == ["job_cleanup_user \(user.uid)", "job_cleanup_root 0"], "cleanup after a cancel: \(node.hooks)")
        #expect(try node.freeCPUs().free == node.freeCPUs().total, "the cores are released")
    }

    @Test func aClientKilledWithSIGKILLLeavesNoJobHoldingCores() async throws {
        guard Self.ready(RecoveryTests.podman) else { return }
        let user = try #require(try Self.user(), "the test user could not be created")
        let node = try Node(user: user)
        let p = Self.client(node, as: user, ["--", "sh", "-c", "echo started; sleep 300"])
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        _ = Self.read(out, until: "started")
        let total = try node.freeCPUs().total
        #expect(try node.freeCPUs().free == total - 1)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        var free = -1
        for _ in 0..<100 {
            free = try node.freeCPUs().free
            if free == total { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(free == total, "the executor saw the client go and stopped the job")
        let log = try String(contentsOf: node.daemon.output, encoding: .utf8)
        #expect(log.contains("the client went away; stopping the job"))
    }

    @Test func imagesHooksAndTheConfigAreTheSitesToDecide() throws {
        guard Self.ready(RecoveryTests.podman) else { return }
        let user = try #require(try Self.user(), "the test user could not be created")
        let node = try Node(runToml: "approved_container_images = [\"\(Self.image)\"]", user: user)
        // An image off the allow-list is refused at once, naming the list.
        let refused = try Self.run(node, as: user, ["-i", "docker.io/library/alpine:3", "--", "true"])
        #expect(refused.status == 125)
        #expect(refused.stderr.contains("image docker.io/library/alpine:3 is not approved") && refused.stderr.contains(Self.image), "\(refused.stderr)")
        let approved = try Self.run(node, as: user, ["-i", Self.image, "--", "true"])
        #expect(approved.status == 0, "\(approved.stderr)")
        // --cluster from an executor that is in no cluster: refused, saying so.
        let alone = try Self.run(node, as: user, ["--cluster", "-m", "1", "--", "true"])
        #expect(alone.status == 125 && alone.stderr.contains("this executor is not in a cluster"), "\(alone.stderr)")
        // exorun's name (a symlink): existing job scripts work unchanged.
        let link = node.dir + "/exorun"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: CLI.binary.path)
        let p = Self.client(node, as: user, [])
        p.arguments = Array(p.arguments!.prefix(while: { $0 != "--" })) + ["--", link, "run", "-c", "1", "-m", "1", "--", "sh", "-c", "exit 5"]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 5, "exorun run -c 1 -m 1 -- ... is corral run")
        // Reloading is root's: the executor reads the caller off the socket.
        let notRoot = try Self.run(node, as: user, ["config"])
        #expect(notRoot.status == 125 && notRoot.stderr.contains("only root may reload") && notRoot.stderr.contains("uid \(user.uid)"), "\(notRoot.stderr)")
        // A file that does not load is refused whole; the one in force stays.
        try (RunTests.Node.toml(dir: node.dir, extra: "approved_container_images = []\ncontainer_start_timout = 1")).write(toFile: node.runToml, atomically: true, encoding: .utf8)
        let bad = try Self.run(node, as: nil, ["config"])
        #expect(bad.status == 125)
        #expect(bad.stderr.contains("run.toml:") && bad.stderr.contains("did you mean \"container_start_timeout\"") && bad.stderr.contains("unchanged"), "\(bad.stderr)")
        #expect(try Self.run(node, as: user, ["-i", "docker.io/library/alpine:3", "--", "true"]).status == 125, "the old allow-list is in force")
        // A good one is taken: now a failing startup hook stops the job before it runs, its output shown.
        try "#!/bin/sh\necho 'the scratch disk is not mounted' >&2\nexit 9\n".write(toFile: node.dir + "/hooks/job_startup_user", atomically: false, encoding: .utf8)
        try RunTests.Node.toml(dir: node.dir, extra: "").write(toFile: node.runToml, atomically: true, encoding: .utf8)
        let reloaded = try Self.run(node, as: nil, ["config"])
        #expect(reloaded.status == 0 && reloaded.stderr.contains("reloaded"), "\(reloaded.stderr)")
        node.resetHooks()
        let hookFails = try Self.run(node, as: user, ["--", "sh", "-c", "echo the-job-ran"])
        #expect(hookFails.status == 125)
        #expect(hookFails.stderr.contains("the scratch disk is not mounted") && hookFails.stderr.contains("job_startup_user failed (exit status 9)"), "\(hookFails.stderr)")
        #expect(!hookFails.stdout.contains("the-job-ran"))
        #expect(node.hooks == ["container_startup 0", "job_startup_root 0", "job_cleanup_user \(user.uid)", "job_cleanup_root 0"], "\(node.hooks)")
        // Bad arguments are refused before anything starts, naming the value.
        let badMemory = try Self.run(node, as: user, ["-m", "lots", "--", "true"])
        #expect(badMemory.status == 125 && badMemory.stderr.contains("-m lots"), "\(badMemory.stderr)")
        let tooMany = try Self.run(node, as: user, ["-c", "4096", "--", "true"])
        #expect(tooMany.status == 125 && tooMany.stderr.contains("-c 4096"), "\(tooMany.stderr)")
    }

    /// With a runtime that never starts a container (Docker's, configured by
    /// scripts/docker-test-service), starts are retried with the documented
    /// backoff until container_start_timeout, then the job fails.
    @Test func failedStartsAreRetriedOnTheBackoffSchedule() throws {
        guard Self.ready(Self.dockerd) else { return }
        let user = try #require(try Self.user(), "the test user could not be created")
        let node = try Node(engine: Self.dockerd, runToml: """
        runtime = "corral-failing"
        container_start_timeout = 0.1
        rand_backoff_ration = 0.5
        """, user: user)
        let began = Date()
        let r = try Self.run(node, as: user, ["--", "true"])
        let took = Date().timeIntervalSince(began)
        #expect(r.status == 125)
        #expect(r.stderr.contains("did not start in") && r.stderr.contains("container_start_timeout"), "\(r.stderr)")
        // "start attempt N failed: ...; retrying in X.XXs", one per retry.
        let waits = r.stderr.split(separator: "\n").filter { $0.contains("retrying in") }.compactMap { line -> Double? in
            guard let at = line.range(of: "retrying in ") else { return nil }
            return Double(line[at.upperBound...].dropLast())
        }
        let backoff = StartBackoff(ratio: 0.5, timeout: .seconds(6))
        #expect(waits.count >= 3, "\(r.stderr)")
        var elapsed = 0.0
        for (n, w) in waits.enumerated() {
            let interval = Double(backoff.interval(n).components.seconds) + Double(backoff.interval(n).components.attoseconds) / 1e18
            let last = n == waits.count - 1
            // Each wait within interval_n * [1 - r, 1 + r] (the last one may be cut to what is left).
            #expect(w <= interval * 1.5 + 0.01 && (last || w >= interval * 0.5 - 0.01), "wait \(n): \(w) s against interval \(interval) s")
            elapsed += w
        }
        #expect(elapsed <= 6.1 && took >= elapsed, "the retries stop at container_start_timeout: \(elapsed) s of waits in \(took) s")
        let calls = (try? String(contentsOfFile: (Self.dockerd as NSString).deletingLastPathComponent + "/failing-runtime.calls", encoding: .utf8)) ?? ""
        #expect(calls.contains("create"), "the runtime was asked")
        #expect(try node.freeCPUs().free == node.freeCPUs().total)
        // The same job on Docker with its default runtime runs, as the caller.
        try Node.toml(dir: node.dir, extra: "").write(toFile: node.runToml, atomically: true, encoding: .utf8)
        #expect(try Self.run(node, as: nil, ["config"]).status == 0)
        let ok = try Self.run(node, as: user, ["--", "sh", "-c", "id -u; exit 4"])
        #expect(ok.status == 4 && ok.stdout.contains(String(user.uid)), "\(ok.stderr)")
    }

    /// An executor killed under a job: its client loses the connection (and
    /// says so), and the next executor stops the job it adopts, as nobody
    /// waits for it, running its cleanup.
    @Test func aJobWhoseExecutorDiedIsStoppedByTheNextOne() async throws {
        guard Self.ready(RecoveryTests.podman) else { return }
        let user = try #require(try Self.user(), "the test user could not be created")
        let node = try Node(user: user)
        let p = Self.client(node, as: user, ["--", "sh", "-c", "echo started $CORRAL_TASK_ID; sleep 300"])
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let said = Self.read(out, until: "\n")
        // The output comes while the executor still records the start: the
        // restart is for a job it has on its books as RUNNING (one killed
        // earlier is the reaper's, RecoveryTests.killedMidStart...).
        let taskId = try #require(said.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        let running = try await RunTests.waitForState(node, taskId, "RUNNING")
        #expect(running, "task \(taskId) never RUNNING")
        try node.restart()
        p.waitUntilExit()
        let complaint = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 125 && complaint.contains("closed the connection before the job ended"), "\(complaint)")
        var free = -1, total = 0
        for _ in 0..<100 {
            (free, total) = try node.freeCPUs()
            if free == total { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(free == total, "the adopted job was stopped and its cores freed")
        #expect(node.hooks.suffix(2) == ["job_cleanup_user \(user.uid)", "job_cleanup_root 0"], "\(node.hooks)")
        let log = try String(contentsOf: node.daemon.output, encoding: .utf8)
        #expect(log.contains("lost its client in the restart"))
    }

    /// `corral tasks run --wait` on an executor prints what the task prints, as it comes.
    @Test func waitingForATaskShowsItsOutput() throws {
        guard Self.ready(RecoveryTests.podman) else { return }
        let node = try Node(user: nil)
        let task = try CLI.writeTemp(#"{"sourceAppName": "cli", "taskId": "t-out", "executable": {"type": "PROCESS", "command": ["/bin/sh", "-c", "echo first-line; sleep 0.6; echo second-line; exit 6"]}, "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}"#, name: "task.json")
        let ran = try CLI.run(["tasks", "run", task, "--wait", "--url", node.daemon.api, "--secret", RecoveryTests.secret])
        #expect(ran.status == 6, "\(ran.stderr)")
        #expect(ran.stdout.contains("first-line\nsecond-line\n") && ran.stdout.contains("exit code 6"), "\(ran.stdout)")
    }

    /// A terminal: the job gets one when `corral run` has one.
    @Test func aTerminalIsPassedOnWhenThereIsOne() throws {
        guard Self.ready(RecoveryTests.podman) else { return }
        let node = try Node(user: nil)
        // script(1) gives corral run a pseudo-terminal.
        let command = "\(CLI.binary.path) run --socket \(node.socket) -- sh -c 'test -t 1 && echo has-a-tty; exit 2'"
        let (status, out) = try Self.sh("cd \(node.work) && script -qec \"\(command)\" /dev/null")
        #expect(status == 2 && out.contains("has-a-tty"), "\(out)")
        let piped = try Self.run(node, as: nil, ["--", "sh", "-c", "test -t 1 && echo has-a-tty; exit 2"])
        #expect(piped.status == 2 && !piped.stdout.contains("has-a-tty"))
    }

    /// Podman's Docker API ignores the runtime asked for: the job is refused
    /// rather than run under another runtime.
    @Test func aRuntimeTheEngineWouldIgnoreIsRefused() throws {
        guard Self.ready(RecoveryTests.podman) else { return }
        let user = try #require(try Self.user(), "the test user could not be created")
        let node = try Node(runToml: "runtime = \"crun\"", user: user)
        let r = try Self.run(node, as: user, ["--", "true"])
        #expect(r.status == 125)
        #expect(r.stderr.contains("does not honour runtime = \"crun\"") && r.stderr.contains("not retried"), "\(r.stderr)")
    }
}
