import CorralTestSupport
import Foundation
import Testing

/// A cluster on this machine for the tests: a real ZooKeeper, real
/// `corral controller` and `corral executor` processes (each with its own
/// config, state directory and ports), and Drove's own CLI to drive it.
final class LocalCluster {
    static let controllerSecret = "local-cluster-controller-secret"
    static let executorSecret = "local-cluster-executor-secret"

    /// One daemon process whose stdout says where it listens.
    final class Node {
        let process = Process()
        let role: String
        let args: [String]
        var port = 0
        let output: URL

        init(role: String, args: [String], listening marker: String) throws {
            self.role = role
            self.args = args
            output = FileManager.default.temporaryDirectory.appendingPathComponent("corral-\(role)-\(UUID().uuidString).log")
            FileManager.default.createFile(atPath: output.path, contents: nil)
            let log = try FileHandle(forWritingTo: output)
            process.executableURL = CLI.binary
            process.arguments = args
            process.standardOutput = log
            process.standardError = log
            try process.run()
            let end = Date().addingTimeInterval(30)
            var text = ""
            while Date() < end, process.isRunning {
                text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                if let r = text.range(of: marker), let nl = text[r.upperBound...].firstIndex(of: "\n") {
                    let line = text[r.upperBound..<nl]
                    // "... API 127.0.0.1:PORT[, admin ...]"
                    if let api = line.range(of: "API ") {
                        let rest = line[api.upperBound...].prefix { $0 != "," && $0 != " " }
                        port = Int(rest.split(separator: ":").last ?? "") ?? 0
                    }
                    break
                }
                usleep(20_000)
            }
            guard port > 0 else {
                process.terminate()
                throw CLI.Failure("\(role) did not start: \(text)")
            }
        }

        var endpoint: String { "http://127.0.0.1:\(port)" }
        var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        func kill9() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        func terminate() {
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }
    }

    let zk: ZooKeeperEnsemble
    let dir: URL
    var controllers: [Node] = []
    var executors: [Node] = []

    init(zk: ZooKeeperEnsemble) throws {
        self.zk = zk
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    /// Runs `body` on a fresh ZooKeeper of `zookeepers` members; under CI=true a missing ZooKeeper fails the test.
    static func with(zookeepers: Int = 1, _ body: (LocalCluster) async throws -> Void) async throws {
        if let reason = ZooKeeperEnsemble.unavailableReason {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record(Comment(rawValue: "ZooKeeper is required under CI=true: \(reason)")) }
            else { print("skipped: \(reason)") }
            return
        }
        guard DroveCLI.path != nil else {
            let why = "drove-cli is not installed: scripts/python-tools installs it"
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record(Comment(rawValue: why)) } else { print("skipped: \(why)") }
            return
        }
        let zk = try await ZooKeeperEnsemble.start(size: zookeepers)
        let cluster = try LocalCluster(zk: zk)
        defer {
            for n in cluster.controllers + cluster.executors { n.kill9() }
            zk.stopAll()
        }
        try await body(cluster)
    }

    /// What every daemon's config says: loopback ports, this ZooKeeper (or
    /// `zookeeper`, e.g. a proxy to it) with 4 s sessions, the cluster's secrets.
    func sharedConfig(zookeeper: String? = nil, port: Int = 0) -> String {
        """
        server:
          applicationConnectors: [{ type: http, port: \(port), bindHost: 127.0.0.1 }]
          adminConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
        zookeeper:
          connectionString: \(zookeeper ?? zk.connectionString())
          sessionTimeout: 4s
        clusterAuth:
          secrets:
          - { nodeType: CONTROLLER, secret: \(Self.controllerSecret) }
          - { nodeType: EXECUTOR, secret: \(Self.executorSecret) }

        """
    }

    @discardableResult
    func startController(extra: String = "", zookeeper: String? = nil) throws -> Node {
        let config = dir.appendingPathComponent("controller-\(controllers.count).yml").path
        try (sharedConfig(zookeeper: zookeeper) + """
        options:
          hostname: 127.0.0.1
          allowedMountDirs: [/tmp]
        \(extra)
        """).write(toFile: config, atomically: true, encoding: .utf8)
        let node = try Node(role: "controller", args: ["controller", "--config", config], listening: "corral controller listening:")
        controllers.append(node)
        return node
    }

    @discardableResult
    /// An executor; `containers`: with the test Podman service as its engine
    /// (on this machine's CPUs, over-provisioned so a 2-core machine holds a few).
    /// `run`: the executor serves `corral run` on that socket with that run.toml.
    /// `port`: its API's port (0: any free one; a fixed one survives a restart).
    func startExecutor(fixture: String? = nil, tags: [String] = [], containers: Bool = false, gpus: Bool = false,
                       run: (socket: String, config: String)? = nil, port: Int = 0) throws -> Node {
        let i = executors.count
        let config = dir.appendingPathComponent("executor-\(i).yml").path
        try (sharedConfig(port: port) + """
        resources:
          tags: [\(tags.joined(separator: ", "))]
        \(containers ? "  overProvisioning: { enabled: true, cpuMultiplier: 8, memoryMultiplier: 4 }" : "")
        \(gpus ? "  enableNvidiaGpu: true" : "")
        options:
          hostname: 127.0.0.1
          dockerSocketPath: \(containers ? RecoveryTests.podman : "/nonexistent/docker.sock")
          cacheImages: true
        \(run.map { "  runSocketPath: \($0.socket)\n  runConfigPath: \($0.config)" } ?? "")

        """).write(toFile: config, atomically: true, encoding: .utf8)
        var args = ["executor", "--config", config, "--state-dir", dir.appendingPathComponent("executor-\(i)-state").path]
        if let fixture { args += ["--fsroot", CLI.fixture(fixture)] }
        let node = try Node(role: "executor", args: args, listening: "corral executor listening:")
        executors.append(node)
        return node
    }

    /// The executor `node` again after a kill -9: the same config and state.
    func restartExecutor(_ node: Node) throws -> Node {
        node.kill9()
        let again = try Node(role: node.role, args: node.args, listening: "corral executor listening:")
        executors.append(again)
        return again
    }

    /// kazoo's `--auth` for Corral's controllers' ZooKeeper identity (`corral controller --zookeeper-credentials`).
    func zookeeperAuth() throws -> String {
        let config = try #require(controllers.first?.args.last)
        let out = try CLI.run(["controller", "--config", config, "--zookeeper-credentials"]).stdout
        let line = try #require(out.split(separator: "\n").first { $0.hasPrefix("addauth digest ") })
        return "digest:" + line.dropFirst("addauth digest ".count)
    }

    /// Reads a node with kazoo as Corral's controllers (and, to check the ACL, as anyone).
    func readState(_ path: String) throws -> (asCorral: [String: Any], asAnyone: [String: Any]) {
        (try KazooPeer.run(zk.connectionString(), ["read", path], auth: try zookeeperAuth()),
         try KazooPeer.run(zk.connectionString(), ["read", path]))
    }

    /// The leader's endpoint, waiting for one to be elected.
    func leader(timeout: Duration = .seconds(20)) async throws -> Node {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            for c in controllers where c.process.isRunning {
                if (try? DroveCLI.run(c.endpoint, ["cluster", "ping"]))?.contains("Cluster ping successful") == true { return c }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CLI.Failure("no controller leads")
    }
}

/// Drove's own CLI (`drove-cli` from PyPI, the `drove` command), run as a user would.
enum DroveCLI {
    static var path: String? {
        guard let python = KazooPeer.python else { return nil }
        let drove = (python as NSString).deletingLastPathComponent + "/drove"
        return FileManager.default.isExecutableFile(atPath: drove) ? drove : nil
    }

    /// `drove -e ENDPOINT args...`; its output (stdout and stderr).
    /// `for`: interrupted (SIGINT) after that many seconds, for commands that
    /// never end by themselves (`tail`, `events --follow`).
    static func run(_ endpoint: String, _ args: [String], user: (String, String)? = nil, for seconds: Int? = nil) throws -> String {
        guard let path else { throw CLI.Failure("drove-cli is not installed") }
        let p = Process()
        var all = ["-e", endpoint]
        if let user { all += ["-u", user.0, "-p", user.1] }
        if let seconds {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            all = ["-s", "INT", "-k", "2", String(seconds), path] + all
            p.environment = ProcessInfo.processInfo.environment.merging(["PYTHONUNBUFFERED": "1"]) { $1 }
        } else {
            p.executableURL = URL(fileURLWithPath: path)
        }
        p.arguments = all + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits until `check` holds for the output of `args`.
    static func await(_ endpoint: String, _ args: [String], timeout: Duration = .seconds(60), _ check: (String) -> Bool) async throws -> String {
        let end = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < end {
            last = try run(endpoint, args)
            if check(last) { return last }
            try await Task.sleep(for: .milliseconds(250))
        }
        return last
    }

    /// Rows of a drove-cli table that start with an instance id.
    static func instanceRows(_ table: String) -> [String] {
        table.split(separator: "\n").map(String.init).filter { $0.hasPrefix("AI-") }
    }
}
