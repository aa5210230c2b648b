import CorralTestSupport
import Foundation
import ZooKeeperClient

/// A clustered `corral executor` (release build) with N instances changing
/// state, on a real ZooKeeper: how many times it writes its node, against
/// Drove's rule for the same run (one rewrite per executor every 20 s plus
/// one per change: `exe/discovery/NodeDataUpdater.java`), under churn and at
/// rest; and the smallest gap between two writes (the debounce window).
enum ClusterBenchmark {
    static let secret = ExecutorBenchmark.secret

    static func seconds(_ d: Duration) -> Double { d.seconds }

    /// Write times, from a persistent watch on the node.
    actor Writes {
        var times: [ContinuousClock.Instant] = []
        func add(_ t: ContinuousClock.Instant) { times.append(t) }
        func count(from: ContinuousClock.Instant, to: ContinuousClock.Instant) -> Int { times.filter { $0 >= from && $0 <= to }.count }
        func smallestGap(from: ContinuousClock.Instant, to: ContinuousClock.Instant) -> Duration? {
            let t = times.filter { $0 >= from && $0 <= to }
            return zip(t, t.dropFirst()).map { $0.duration(to: $1) }.min()
        }
    }

    static func run(arguments: [String]) async {
        let count = ZooKeeperBenchmark.option(arguments, "--instances", 200)
        let rest = ZooKeeperBenchmark.option(arguments, "--rest-seconds", 120)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-bench-cluster-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        do {
            let zk = try await ZooKeeperEnsemble.start(tickTime: 2000, serverTuned: true)
            defer { zk.stopAll() }
            let config = "\(dir)/executor.yml"
            try """
            server:
              applicationConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
              adminConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
            zookeeper:
              connectionString: \(zk.connectionString())
            clusterAuth:
              secrets: [{ nodeType: CONTROLLER, secret: \(secret) }]
            resources:
              disableNUMAPinning: true
              overProvisioning: { enabled: true, cpuMultiplier: 3, memoryMultiplier: 1 }
            options:
              hostname: bench-host
              dockerSocketPath: /nonexistent/docker.sock
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let d = try ExecutorBenchmark.Daemon(binary: ".build/release/corral", config: config, stateDir: "\(dir)/state")
            defer { d.kill9() }
            let port = d.api.split(separator: ":").last.map(String.init) ?? "0"
            let path = "/drove/executor/bench-host-\(port)"
            let c = try ZooKeeperClient(connectionString: zk.connectionString())
            await c.start()
            while (try? await c.exists(path)) == nil { try await Task.sleep(for: .milliseconds(20)) }
            let writes = Writes()
            let events = try await c.addWatch(path, recursive: false)
            let watcher = Task { for try await e in events where e.kind == .nodeDataChanged { await writes.add(.now) } }

            func healthy() async -> Int { ((await ExecutorBenchmark.call(d.api, .GET, "/executor"))["instances"] as? [String: Int])?["HEALTHY"] ?? 0 }
            func transitions() async -> Int {
                var total = 0
                // Every state each instance went through is one change Drove would write.
                let list = await ExecutorBenchmark.callList(d.api, "/instances")
                for i in list { total += (i["history"] as? [Any])?.count ?? 0 }
                return total
            }

            // Churn: start N, wait until all are HEALTHY, stop them all, wait until STOPPED.
            let churnStart = ContinuousClock.now
            for i in 0..<count {
                _ = await ExecutorBenchmark.call(d.api, .POST, "/instances", body: """
                {"appId": "bench", "instanceId": "c-\(i)", "executable": {"type": "PROCESS", "command": ["sleep", "3600"]},
                 "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
                """)
            }
            while await healthy() < count { try await Task.sleep(for: .milliseconds(50)) }
            for i in 0..<count { _ = await ExecutorBenchmark.call(d.api, .POST, "/instances/c-\(i)/stop") }
            while ((await ExecutorBenchmark.call(d.api, .GET, "/executor"))["instances"] as? [String: Int])?["STOPPED"] ?? 0 < count {
                try await Task.sleep(for: .milliseconds(50))
            }
            try await Task.sleep(for: .milliseconds(500))
            let churnEnd = ContinuousClock.now
            let churnChanges = await transitions()
            let churnWrites = await writes.count(from: churnStart, to: churnEnd)
            let churnSeconds = seconds(churnStart.duration(to: churnEnd))
            let gap = await writes.smallestGap(from: churnStart, to: churnEnd)

            // Rest: N running, nothing changing.
            for i in 0..<count {
                _ = await ExecutorBenchmark.call(d.api, .POST, "/instances", body: """
                {"appId": "bench", "instanceId": "r-\(i)", "executable": {"type": "PROCESS", "command": ["sleep", "3600"]},
                 "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
                """)
            }
            while await healthy() < count { try await Task.sleep(for: .milliseconds(50)) }
            try await Task.sleep(for: .seconds(1))
            let restStart = ContinuousClock.now
            try await Task.sleep(for: .seconds(rest))
            let restWrites = await writes.count(from: restStart, to: .now)
            let size = try await c.getData(path).data.count
            watcher.cancel()
            for i in 0..<count { _ = await ExecutorBenchmark.call(d.api, .POST, "/instances/r-\(i)/stop") }
            await c.close()

            let droveChurn = Int((churnSeconds / 20).rounded(.up)) + churnChanges
            let droveRest = rest / 20
            print("clustered executor, \(count) process instances; ZooKeeper standalone on loopback; node \(size) bytes with \(count) instances")
            print(String(format: "churn: %d starts + %d stops in %.1f s, %d state changes", count, count, churnSeconds, churnChanges))
            print(String(format: "  writes: corral %d (%.0f/min), Drove's rule %d (%.0f/min): %.3fx", churnWrites, Double(churnWrites) / churnSeconds * 60,
                         droveChurn, Double(droveChurn) / churnSeconds * 60, Double(churnWrites) / Double(max(1, droveChurn))))
            print(String(format: "  smallest gap between two writes: %.0f ms (debounce window 200 ms); at most %d windows in the run",
                         gap.map { seconds($0) * 1000 } ?? 0, Int(churnSeconds / 0.2) + 1))
            print(String(format: "rest: %d s with %d instances running: corral %d writes (%.1f/min), Drove's rule %d (%.1f/min)",
                         rest, count, restWrites, Double(restWrites) / Double(rest) * 60, droveRest, Double(droveRest) / Double(rest) * 60))
        } catch {
            FileHandle.standardError.write(Data("cluster benchmark failed: \(error)\n".utf8))
            exit(1)
        }
    }
}
