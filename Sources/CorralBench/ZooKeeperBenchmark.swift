import CorralCore
import CorralTestSupport
import Foundation
import ZooKeeperClient

/// Corral's ZooKeeper client against kazoo (PyPI, the peer an operator would
/// otherwise script with) on the same standalone server in the same run:
/// getData and setData round trips per second, sequential and with a window
/// in flight, and create+delete pairs.
enum ZooKeeperBenchmark {
    static func option(_ args: [String], _ name: String, _ fallback: Int) -> Int {
        Int(args.drop { $0 != name }.dropFirst().first ?? "") ?? fallback
    }

    static func rate(_ n: Int, _ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        let d = start.duration(to: .now)
        return Double(n) / d.seconds
    }

    /// `n` calls with `window` outstanding: `window` callers, each making its
    /// share of the calls one after the other.
    static func inFlight(_ n: Int, window: Int, _ call: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<window {
                group.addTask {
                    var i = w
                    while i < n {
                        try await call(i)
                        i += window
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func run(arguments: [String]) async {
        let sequential = option(arguments, "--sequential", 5000)
        let pipelined = option(arguments, "--pipelined", 50000)
        let window = option(arguments, "--window", 64)
        let python = KazooPeer.python ?? ".build/python-tools/bin/python"
        do {
            let zk = try await ZooKeeperEnsemble.start(tickTime: 2000, serverTuned: true)
            defer { zk.stopAll() }
            let c = try ZooKeeperClient(connectionString: zk.connectionString())
            await c.start()
            try await c.create("/bench", data: Array(repeating: 0x78, count: 128))
            let data = Array(repeating: UInt8(0x79), count: 128)
            // Warm both the server's JIT and ours before measuring.
            for _ in 0..<2000 { _ = try await c.getData("/bench") }

            var corral: [String: Double] = [:]
            corral["getData"] = try await rate(sequential) { for _ in 0..<sequential { _ = try await c.getData("/bench") } }
            corral["getDataPipelined"] = try await rate(pipelined) { try await inFlight(pipelined, window: window) { _ in _ = try await c.getData("/bench") } }
            corral["setData"] = try await rate(sequential) { for _ in 0..<sequential { try await c.setData("/bench", data: data) } }
            corral["setDataPipelined"] = try await rate(pipelined) { try await inFlight(pipelined, window: window) { _ in try await c.setData("/bench", data: data) } }
            corral["createDelete"] = try await rate(sequential / 2) {
                for i in 0..<(sequential / 2) {
                    try await c.create("/bench/c\(i)")
                    try await c.delete("/bench/c\(i)")
                }
            }
            // The same calls made on the client's event loop (withTaskExecutorPreference):
            // no thread hop to send or to resume.
            try await withTaskExecutorPreference(c.taskExecutor) {
                corral["getData@loop"] = try await rate(sequential) { for _ in 0..<sequential { _ = try await c.getData("/bench") } }
                corral["getDataPipelined@loop"] = try await rate(pipelined) {
                    try await inFlight(pipelined, window: window) { _ in _ = try await c.getData("/bench") }
                }
                corral["setData@loop"] = try await rate(sequential) { for _ in 0..<sequential { try await c.setData("/bench", data: data) } }
                corral["setDataPipelined@loop"] = try await rate(pipelined) {
                    try await inFlight(pipelined, window: window) { _ in try await c.setData("/bench", data: data) }
                }
            }
            await c.close()

            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = ["scripts/bench-kazoo.py", zk.connectionString(), String(sequential), String(pipelined), String(window)]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let bytes = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let kazoo = (try? JSONSerialization.jsonObject(with: bytes) as? [String: Double]) ?? [:]

            print("ZooKeeper \(zk.mode(1) ?? "?") on loopback; \(sequential) sequential calls, \(pipelined) with \(window) in flight; 128-byte nodes")
            print("operation                  corral/s      kazoo/s   corral/kazoo")
            for key in ["getData", "getDataPipelined", "setData", "setDataPipelined", "createDelete",
                        "getData@loop", "getDataPipelined@loop", "setData@loop", "setDataPipelined@loop"] {
                let a = corral[key] ?? 0, b = kazoo[key.replacingOccurrences(of: "@loop", with: "")] ?? 0
                print(key.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: " %10.0f   %10.0f   %8.2fx", a, b, b > 0 ? a / b : 0))
            }
            print(String(format: "pipelined/sequential: getData %.1fx, setData %.1fx (corral); %.1fx, %.1fx (kazoo)",
                         (corral["getDataPipelined"] ?? 0) / (corral["getData"] ?? 1), (corral["setDataPipelined"] ?? 0) / (corral["setData"] ?? 1),
                         (kazoo["getDataPipelined"] ?? 0) / (kazoo["getData"] ?? 1), (kazoo["setDataPipelined"] ?? 0) / (kazoo["setData"] ?? 1)))
            print(String(format: "on the client's event loop: getData %.1fx, setData %.1fx",
                         (corral["getDataPipelined@loop"] ?? 0) / (corral["getData@loop"] ?? 1),
                         (corral["setDataPipelined@loop"] ?? 0) / (corral["setData@loop"] ?? 1)))
        } catch {
            FileHandle.standardError.write(Data("zookeeper benchmark failed: \(error)\n".utf8))
            exit(1)
        }
    }
}
