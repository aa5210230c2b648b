import CorralCore
import CorralEngines
import CorralHost
import Foundation

/// Start latency of both engines against what they stand on, measured in the same run.
enum EngineBenchmark {
    final class NullSink: LogSink, @unchecked Sendable {
        func write(_ bytes: [UInt8]) {}
        func finish() {}
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }

    static func ms(_ d: Duration) -> Double {
        d.milliseconds
    }

    static func run(arguments: [String]) async {
        var runs = 30
        var socket = "/tmp/corral-podman/podman.sock"
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--runs": runs = Int(arguments[i + 1]) ?? runs; i += 2
            case "--socket": socket = arguments[i + 1]; i += 2
            default: i += 1
            }
        }
        let t = try! TopologyReader(fsroot: "/").read()
        let cpu = t.usableCPUs.last!
        let node = t.cpu(cpu)?.numaNode ?? 0
        print("start latency, \(runs) sequential starts each, pinned to CPU \(cpu), node \(node); medians in ms")
        await processEngine(runs: runs, cpu: cpu, node: node)
        await dockerEngine(runs: runs, cpu: cpu, node: node, socket: socket)
    }

    static func allocation(_ cpu: Int, _ node: Int) -> Allocation {
        Allocation(id: "b", cpus: [cpu], cpuCount: 1, requestedCPUs: 1, numaNodes: [node], memoryBytes: 64 << 20,
                   memoryByNode: [node: 64 << 20], gpus: [], pinned: true)
    }

    // MARK: ProcessEngine vs taskset

    static func processEngine(runs: Int, cpu: Int, node: Int) async {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-bench-\(getpid())").path
        guard let withCgroups = try? ProcessEngine(stateDir: dir + "/cg", cgroups: .detect(parentName: "corral-bench")),
              let plain = try? ProcessEngine(stateDir: dir + "/plain", cgroups: Cgroups(layout: .unavailable(reason: "benchmark")))
        else {
            print("process engine: corral-runner not found (build it: swift build -c release)")
            return
        }
        let clock = ContinuousClock()
        var startPart: [Double] = [], waitPart: [Double] = []
        func corral(_ e: ProcessEngine, _ n: Int, split: Bool = false) async -> Double {
            let launch = Launch(instanceID: "bench-\(n)", appID: "bench", kind: .task,
                                executable: .process(command: ["true"], workingDir: nil), allocation: allocation(cpu, node),
                                maxOpenFiles: 1024)
            let start = clock.now
            guard let h = try? await e.start(launch, output: NullSink()) else { return .nan }
            let started = clock.now
            _ = await e.waitForExit(h)
            let took = ms(clock.now - start)
            if split {
                startPart.append(ms(started - start))
                waitPart.append(ms(clock.now - started))
            }
            try? await e.remove(h)
            return took
        }
        func taskset() -> Double {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            p.arguments = ["-c", String(cpu), "true"]
            let start = clock.now
            try? p.run()
            p.waitUntilExit()
            return ms(clock.now - start)
        }
        var a: [Double] = [], b: [Double] = [], c: [Double] = []
        // Interleaved so that drift in the machine's load hits all three alike.
        for n in 0..<runs {
            a.append(await corral(withCgroups, n))
            b.append(await corral(plain, n, split: true))
            c.append(taskset())
        }
        let base = median(c)
        print("\nProcessEngine (start, run `true`, reap; remove not timed)")
        print(String(format: "  corral, with cgroup (cpuset+memory)  %7.2f   x%.2f", median(a), median(a) / base))
        print(String(format: "  corral, affinity + mempolicy only    %7.2f   x%.2f", median(b), median(b) / base))
        print(String(format: "  taskset -c %d true (baseline)          %7.2f", cpu, base))
        print(String(format: "  affinity-only split: start() returned after %.2f, the exit was seen %.2f later",
                     median(startPart), median(waitPart)))
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: DockerEngine vs the engine API

    static func dockerEngine(runs: Int, cpu: Int, node: Int, socket: String) async {
        let engine = DockerEngine(socketPath: socket, commandTimeout: .seconds(30))
        guard await engine.ping() else {
            print("\nDockerEngine: no engine on \(socket) (start one: scripts/podman-test-service)")
            return
        }
        let image = "localhost/corral-test:1"
        let clock = ContinuousClock()
        let body: (String) -> String = { name in
            """
            {"Image":"\(image)","Cmd":["sleep","30"],"Labels":{"corral.bench":"\(name)"},
             "HostConfig":{"CpusetCpus":"\(cpu)","CpusetMems":"\(node)","Memory":67108864,"MemorySwap":67108864,
             "Ulimits":[{"Name":"nofile","Soft":1024,"Hard":1024},{"Name":"nproc","Soft":1024,"Hard":1024}]}}
            """
        }
        func curl(_ args: [String]) -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            p.arguments = ["-s", "--unix-socket", socket] + args
            let out = Pipe()
            p.standardOutput = out
            try? p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        func corral(_ n: Int) async -> Double {
            let launch = Launch(instanceID: "bench-\(n)-\(UUID().uuidString.prefix(6).lowercased())", appID: "bench",
                                kind: .task, executable: .docker(image: image, pullPolicy: .IF_NOT_PRESENT),
                                args: ["sleep", "30"], allocation: allocation(cpu, node), maxOpenFiles: 1024)
            let start = clock.now
            guard let h = try? await engine.start(launch, output: NullSink()) else { return .nan }
            let took = ms(clock.now - start)
            try? await engine.remove(h)
            return took
        }
        func viaCurl(_ n: Int) -> Double {
            let name = "bench-curl-\(n)-\(UUID().uuidString.prefix(6).lowercased())"
            let start = clock.now
            _ = curl(["-X", "POST", "-H", "Content-Type: application/json", "-d", body(name),
                                "http://d/v1.41/containers/create?name=\(name)"])
            _ = curl(["-X", "POST", "http://d/v1.41/containers/\(name)/start"])
            let took = ms(clock.now - start)
            _ = curl(["-X", "DELETE", "http://d/v1.41/containers/\(name)?force=1&v=1"])
            return took
        }
        func raw(_ n: Int) async -> Double {
            let name = "bench-raw-\(n)-\(UUID().uuidString.prefix(6).lowercased())"
            let start = clock.now
            _ = try? await engine.client.call(.POST, "/containers/create", query: [("name", name)], body: Array(body(name).utf8))
            _ = try? await engine.client.call(.POST, "/containers/\(name)/start")
            let took = ms(clock.now - start)
            _ = try? await engine.client.call(.DELETE, "/containers/\(name)", query: [("force", "1"), ("v", "1")])
            return took
        }
        _ = await corral(-1)  // warm up: connection pool, API version negotiation
        var a: [Double] = [], b: [Double] = [], c: [Double] = []
        for n in 0..<runs {
            a.append(await corral(n))
            b.append(viaCurl(n))
            c.append(await raw(n))
        }
        let base = median(b)
        print("\nDockerEngine on \(socket) (create + start returned; remove not timed)")
        print(String(format: "  corral DockerEngine.start               %7.2f   x%.2f of curl", median(a), median(a) / base))
        print(String(format: "  create+start with curl (baseline)       %7.2f", base))
        print(String(format: "  create+start, same client, no checks    %7.2f   corral is x%.2f of it", median(c), median(a) / median(c)))
    }
}
