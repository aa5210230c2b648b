import CorralCore
import CorralHost
import CorralRuntime
import Foundation

/// Stage processors: jobs per second through one echo processor with 64
/// outstanding, against raw round trips over the same kind of pipes to the
/// same processor program with the same 64 outstanding; and the lock hand-off
/// latency between two stages sharing one lock, against one raw round trip.
enum StageBenchmark {
    /// `corral-bench echo-processor STAGE`: a damocles-protocol processor that
    /// answers each request at once with `{"echo": task, "recv": µs}` (the
    /// wall-clock time the request was read). Fast on purpose: the benchmark
    /// measures what sits between a client and a processor, not the processor.
    static func echoProcessor(stage: String) -> Never {
        func emit(_ line: String) {
            var bytes = Array(line.utf8)
            bytes.append(10)
            var off = 0
            while off < bytes.count {
                let n = bytes[off...].withUnsafeBytes { write(1, $0.baseAddress!, $0.count) }
                if n <= 0 { exit(0) }
                off += n
            }
        }
        emit("\(stage) processor ready")
        while let line = readLine(strippingNewline: true) {
            let recv = Self.micros()
            // {"id":N,"task":T}
            guard let idRange = line.range(of: "\"id\":"), let taskRange = line.range(of: "\"task\":") else { continue }
            let id = line[idRange.upperBound...].prefix { $0.isNumber }
            let task = line[taskRange.upperBound..<line.index(before: line.endIndex)]
            emit("{\"id\":\(id),\"err_msg\":null,\"output\":{\"echo\":\(task),\"recv\":\(recv)}}")
        }
        exit(0)
    }

    static func micros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    static func run(arguments: [String]) async {
        var jobs = 50_000, window = 64, handoffs = 2000, runs = 3
        var i = 0
        while i + 1 < arguments.count {
            switch arguments[i] {
            case "--jobs": jobs = Int(arguments[i + 1]) ?? jobs
            case "--window": window = Int(arguments[i + 1]) ?? window
            case "--handoffs": handoffs = Int(arguments[i + 1]) ?? handoffs
            case "--runs": runs = Int(arguments[i + 1]) ?? runs
            default: break
            }
            i += 2
        }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-stagebench-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        print("stage processors: one echo processor (corral-bench echo-processor), \(jobs) jobs with \(window) outstanding, "
              + "\(runs) runs each, interleaved")
        var raw: [Double] = [], corral: [Double] = []
        for _ in 0..<runs {
            raw.append(rawThroughput(me, jobs: jobs, window: window))
            corral.append(await dispatcherThroughput(me, dir: dir, jobs: jobs, window: window))
        }
        let (r, c) = (median(raw), median(corral))
        print(String(format: "  raw round trips over the pipes   %9.0f jobs/s", r) + "  (runs: \(list(raw)))")
        print(String(format: "  StageDispatcher, concurrent %d  %9.0f jobs/s", window, c) + "  (runs: \(list(corral)))")
        print(String(format: "  ratio dispatcher / raw           %9.2f", c / r))

        print("lock hand-off: pc2 and c2 (one echo processor each) share ext_lock gpu = 1, 4 jobs outstanding per stage, "
              + "\(handoffs) jobs; gap between one job reaching its processor and the next one (of the other stage) reaching its")
        let ping = rawPingPong(me, count: handoffs)
        let gaps = await lockHandoff(me, dir: dir, count: handoffs)
        print(String(format: "  raw round trip (one at a time)   median %6.0f µs  p99 %6.0f µs", percentile(ping, 0.5), percentile(ping, 0.99)))
        print(String(format: "  lock hand-off across stages      median %6.0f µs  p99 %6.0f µs  (%d hand-offs)",
                     percentile(gaps, 0.5), percentile(gaps, 0.99), gaps.count))
        print(String(format: "  ratio hand-off / raw round trip  %6.2f (medians)", percentile(gaps, 0.5) / percentile(ping, 0.5)))
    }

    // MARK: Raw pipes

    /// The echo processor started with plain pipes, after its ready line.
    struct RawChild {
        var process: Process
        var input: FileHandle
        var outputFD: Int32
    }

    static func spawnRaw(_ me: String) -> RawChild {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: me)
        p.arguments = ["echo-processor", "raw"]
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        try! p.run()
        let child = RawChild(process: p, input: inPipe.fileHandleForWriting, outputFD: outPipe.fileHandleForReading.fileDescriptor)
        var reader = LineReader(fd: child.outputFD)
        _ = reader.next()  // "raw processor ready"
        return child
    }

    struct LineReader {
        let fd: Int32
        var buffer: [UInt8] = []
        var start = 0
        init(fd: Int32) { self.fd = fd }
        mutating func next() -> [UInt8]? {
            while true {
                if let nl = buffer[start...].firstIndex(of: 10) {
                    let line = Array(buffer[start..<nl])
                    start = nl + 1
                    return line
                }
                buffer.removeFirst(start)
                start = 0
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return nil }
                buffer.append(contentsOf: chunk[0..<n])
            }
        }
    }

    static func request(_ id: Int) -> [UInt8] { Array("{\"id\":\(id),\"task\":{\"n\":\(id)}}\n".utf8) }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { var off = 0; while off < $0.count { let n = write(fd, $0.baseAddress! + off, $0.count - off); if n <= 0 { return }; off += n } }
    }

    /// Jobs per second with `window` requests outstanding, written and read by
    /// one thread straight on the pipes: what any dispatcher has to add to.
    static func rawThroughput(_ me: String, jobs: Int, window: Int) -> Double {
        let child = spawnRaw(me)
        defer { try? child.input.close(); child.process.waitUntilExit() }
        let inFD = child.input.fileDescriptor
        var reader = LineReader(fd: child.outputFD)
        let start = ContinuousClock.now
        var sent = 0, answered = 0
        while sent < min(window, jobs) { send(inFD, request(sent)); sent += 1 }
        while answered < jobs, let line = reader.next() {
            // Parsed as a dispatcher would, to match answers to requests.
            guard (try? JSONSerialization.jsonObject(with: Data(line))) is [String: Any] else { continue }
            answered += 1
            if sent < jobs { send(inFD, request(sent)); sent += 1 }
        }
        return Double(answered) / (ContinuousClock.now - start).seconds
    }

    /// Round-trip times, one request at a time, in microseconds.
    static func rawPingPong(_ me: String, count: Int) -> [Double] {
        let child = spawnRaw(me)
        defer { try? child.input.close(); child.process.waitUntilExit() }
        var reader = LineReader(fd: child.outputFD)
        var times: [Double] = []
        for i in 0..<count {
            let t0 = ContinuousClock.now
            send(child.input.fileDescriptor, request(i))
            _ = reader.next()
            times.append((ContinuousClock.now - t0).seconds * 1e6)
        }
        return times
    }

    // MARK: Through the dispatcher

    static func dispatcher(_ toml: String, dir: String) async -> StageDispatcher {
        let (config, issues) = ProcessorsConfigLoader.load(text: toml, file: "bench.toml")
        guard let config, !issues.contains(where: { $0.severity == .error }) else {
            print("benchmark config rejected: \(issues)")
            exit(1)
        }
        let d = StageDispatcher(config: config, logDir: dir, cgroups: Cgroups(layout: .unavailable(reason: "benchmark")),
                                environment: ProcessInfo.processInfo.environment, store: nil)
        await d.start()
        return d
    }

    static func entry(_ me: String, _ stage: String, _ extra: String) -> String {
        """

        [[processors.\(stage)]]
        bin = "\(me)"
        args = ["echo-processor", "\(stage)"]
        \(extra)

        """
    }

    static func dispatcherThroughput(_ me: String, dir: String, jobs: Int, window: Int) async -> Double {
        let d = await dispatcher(entry(me, "echo", "concurrent = \(window)"), dir: dir)
        let start = ContinuousClock.now
        let done = await withTaskGroup(of: Int.self) { g in
            for w in 0..<window {
                g.addTask {
                    var ok = 0
                    for j in stride(from: w, to: jobs, by: window) {
                        guard let job = try? await d.submit(stage: "echo", task: Data("{\"n\":\(j)}".utf8), deadline: nil),
                              await d.wait(job.id)?.state == .succeeded else { continue }
                        ok += 1
                    }
                    return ok
                }
            }
            return await g.reduce(0, +)
        }
        let rate = Double(done) / (ContinuousClock.now - start).seconds
        await d.shutdown()
        if done != jobs { print("  (dispatcher: only \(done) of \(jobs) jobs succeeded)") }
        return rate
    }

    /// The gaps, in microseconds, between a job of one stage reaching its
    /// processor and the next job (of the other stage) reaching the other
    /// processor, when the lock changes hands.
    static func lockHandoff(_ me: String, dir: String, count: Int) async -> [Double] {
        let d = await dispatcher("""
            [processors.ext_locks]
            gpu = 1
            """ + entry(me, "pc2", #"locks = ["gpu"]"#) + entry(me, "c2", #"locks = ["gpu"]"#), dir: dir)
        let results = await withTaskGroup(of: [(String, Int64)].self) { g in
            for stage in ["pc2", "c2"] {
                for w in 0..<4 {
                    g.addTask {
                        var seen: [(String, Int64)] = []
                        for j in stride(from: w, to: count / 2, by: 4) {
                            guard let job = try? await d.submit(stage: stage, task: Data("{\"n\":\(j)}".utf8), deadline: nil),
                                  let r = await d.wait(job.id), let out = r.output,
                                  let obj = try? JSONSerialization.jsonObject(with: out) as? [String: Any],
                                  let recv = (obj["recv"] as? NSNumber)?.int64Value else { continue }
                            seen.append((stage, recv))
                        }
                        return seen
                    }
                }
            }
            return await g.reduce(into: []) { $0 += $1 }
        }
        await d.shutdown()
        let ordered = results.sorted { $0.1 < $1.1 }
        return zip(ordered, ordered.dropFirst()).filter { $0.0 != $1.0 }.map { Double($1.1 - $0.1) }
    }

    // MARK: Figures

    static func median(_ xs: [Double]) -> Double { percentile(xs, 0.5) }

    static func percentile(_ xs: [Double], _ p: Double) -> Double {
        guard !xs.isEmpty else { return .nan }
        let s = xs.sorted()
        return s[min(s.count - 1, Int(Double(s.count - 1) * p + 0.5))]
    }

    static func list(_ xs: [Double]) -> String { xs.map { String(format: "%.0f", $0) }.joined(separator: ", ") }
}

