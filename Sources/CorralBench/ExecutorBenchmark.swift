import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The real `corral executor` process: memory idle and with N instances, API
/// start latency, and recovery time after SIGKILL with N instances.
enum ExecutorBenchmark {
    static let secret = "bench-secret"

    final class Daemon {
        let process = Process()
        var api = ""
        let started = ContinuousClock.now
        var ready: Duration = .zero

        init(binary: String, config: String, stateDir: String) throws {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["executor", "--config", config, "--state-dir", stateDir,
                                 "--fsroot", "Tests/CorralHostTests/Fixtures/epyc7642-2s48c"]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            var text = ""
            while !text.contains("corral executor listening:") || !text.hasSuffix("\n") {
                let d = out.fileHandleForReading.availableData
                if d.isEmpty { break }
                text += String(decoding: d, as: UTF8.self)
            }
            ready = ContinuousClock.now - started
            // The executor keeps logging (requests included) to stdout: keep the pipe drained.
            out.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
            guard let line = text.range(of: "corral executor listening:"), let r = text[line.upperBound...].range(of: "API "), let comma = text[r.upperBound...].firstIndex(of: ",") else {
                process.terminate()
                throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "executor did not start: \(text)"])
            }
            api = "http://" + text[r.upperBound..<comma]
        }

        var rssKiB: Int {
            let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }

        /// `/proc/PID/smaps_rollup` in KiB: Rss, Pss, Private_Clean + Private_Dirty (USS), Anonymous.
        var memory: (rss: Int, pss: Int, uss: Int, anonymous: Int) {
            let text = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/smaps_rollup", encoding: .utf8)) ?? ""
            var f: [String: Int] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count >= 2, parts[0].hasSuffix(":") { f[String(parts[0].dropLast())] = Int(parts[1]) ?? 0 }
            }
            return (f["Rss"] ?? 0, f["Pss"] ?? 0, (f["Private_Clean"] ?? 0) + (f["Private_Dirty"] ?? 0), f["Anonymous"] ?? 0)
        }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static func call(_ base: String, _ method: HTTPMethod, _ path: String, body: String? = nil) async -> [String: Any] {
        var req = HTTPClientRequest(url: base + "/apis/v1" + path)
        req.method = method
        req.headers.add(name: "Cluster-Authorization", value: secret)
        if let body { req.body = .bytes(ByteBuffer(string: body)) }
        guard let res = try? await HTTPClient.shared.execute(req, timeout: .seconds(30)),
              let buf = try? await res.body.collect(upTo: 1 << 24) else { return [:] }
        return (try? JSONSerialization.jsonObject(with: Data(buffer: buf))) as? [String: Any] ?? [:]
    }

    /// A GET whose body is a JSON array.
    static func callList(_ base: String, _ path: String) async -> [[String: Any]] {
        var req = HTTPClientRequest(url: base + "/apis/v1" + path)
        req.headers.add(name: "Cluster-Authorization", value: secret)
        guard let res = try? await HTTPClient.shared.execute(req, timeout: .seconds(30)),
              let buf = try? await res.body.collect(upTo: 1 << 26) else { return [] }
        return (try? JSONSerialization.jsonObject(with: Data(buffer: buf))) as? [[String: Any]] ?? []
    }

    static func run(arguments: [String]) async {
        let count = Int(arguments.drop { $0 != "--instances" }.dropFirst().first ?? "") ?? 200
        let binary = ".build/release/corral"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-bench-ex-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = "\(dir)/executor.yml"
        try? """
        server:
          applicationConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
          adminConnectors: [{ type: http, port: 0, bindHost: 127.0.0.1 }]
        clusterAuth:
          secrets: [{ nodeType: CONTROLLER, secret: \(secret) }]
        resources:
          disableNUMAPinning: true
          overProvisioning: { enabled: true, cpuMultiplier: 3, memoryMultiplier: 1 }
        options:
          dockerSocketPath: /nonexistent/docker.sock
        """.write(toFile: config, atomically: true, encoding: .utf8)
        do {
            var d = try Daemon(binary: binary, config: config, stateDir: "\(dir)/state")
            try await Task.sleep(for: .seconds(1))
            let idle = d.rssKiB
            let idleMemory = d.memory
            let clock = ContinuousClock()
            var latencies: [Double] = []
            for i in 0..<count {
                let t0 = clock.now
                _ = await call(d.api, .POST, "/instances", body: """
                {"appId": "bench", "instanceId": "b-\(i)", "executable": {"type": "PROCESS", "command": ["sleep", "3600"]},
                 "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
                """)
                while (await call(d.api, .GET, "/instances/b-\(i)"))["state"] as? String != "HEALTHY" {
                    try await Task.sleep(for: .milliseconds(1))
                }
                let d0 = clock.now - t0
                latencies.append(d0.milliseconds)
            }
            try await Task.sleep(for: .seconds(1))
            let loaded = d.rssKiB
            latencies.sort()
            d.kill9()
            d = try Daemon(binary: binary, config: config, stateDir: "\(dir)/state")
            let recovery = d.ready
            var healthy = 0
            for _ in 0..<200 {
                healthy = ((await call(d.api, .GET, "/executor"))["instances"] as? [String: Int])?["HEALTHY"] ?? 0
                if healthy == count { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let afterRecovery = clock.now - d.started
            print("executor with \(count) process-engine instances (over-provisioned on the 96-CPU fixture; sleep 3600 each)")
            print(String(format: "  RSS idle                          %6.1f MiB", Double(idle) / 1024))
            print(String(format: "  USS idle (private pages)          %6.1f MiB  (PSS %.1f, anonymous %.1f)", Double(idleMemory.uss) / 1024,
                         Double(idleMemory.pss) / 1024, Double(idleMemory.anonymous) / 1024))
            print(String(format: "  RSS with %d instances            %6.1f MiB", count, Double(loaded) / 1024))
            print(String(format: "  POST to HEALTHY, median / p95     %6.2f / %.2f ms", latencies[latencies.count / 2],
                         latencies[Int(Double(latencies.count) * 0.95)]))
            print(String(format: "  restart after kill -9 to listening %6.0f ms (recovery of %d instances included)", 
                         recovery.milliseconds, count))
            print(String(format: "  ... until all %d HEALTHY again    %6.0f ms (%d healthy)", count,
                         afterRecovery.milliseconds, healthy))
            for i in 0..<count { _ = await call(d.api, .POST, "/instances/b-\(i)/stop") }
            try await Task.sleep(for: .seconds(3))
            d.kill9()
        } catch {
            print("executor benchmark failed: \(error)")
        }
    }
}
