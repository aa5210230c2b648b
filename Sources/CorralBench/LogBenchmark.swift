import CorralCore
import CorralEngines
import CorralExecutor
import CorralHost
import Foundation

/// Log throughput: a native workload writes N bytes of log lines to stdout;
/// the executor's path (engine stream into rotated, gzipped instance files)
/// against the same stream read raw from the same engine and thrown away.
enum LogBenchmark {
    /// Counts bytes and reports the end of the stream.
    final class CountingSink: LogSink, @unchecked Sendable {
        private let lock = NSLock()
        private var bytes = 0
        private var done: CheckedContinuation<Void, Never>?
        private var finished = false
        var count: Int { lock.withLock { bytes } }
        func write(_ b: [UInt8]) { lock.withLock { bytes += b.count } }
        func write(borrowing b: UnsafeRawBufferPointer) { lock.withLock { bytes += b.count } }
        func finish() {
            let c = lock.withLock { () -> CheckedContinuation<Void, Never>? in finished = true; defer { done = nil }; return done }
            c?.resume()
        }
        func wait() async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = lock.withLock { () -> Bool in if finished { return true }; done = c; return false }
                if now { c.resume() }
            }
        }
    }

    static func run(arguments: [String]) async {
        var mib = 1024, runs = 3, maxFile = 100
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--mib": mib = Int(arguments[i + 1]) ?? mib; i += 2
            case "--runs": runs = Int(arguments[i + 1]) ?? runs; i += 2
            case "--max-file-mib": maxFile = Int(arguments[i + 1]) ?? maxFile; i += 2
            default: i += 1
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-logbench-\(getpid())").path
        guard let engine = try? ProcessEngine(stateDir: dir + "/state", cgroups: Cgroups(layout: .unavailable(reason: "benchmark")))
        else {
            print("process engine: corral-runner not found (build it: swift build -c release)")
            return
        }
        let t = try! TopologyReader(fsroot: "/").read()
        let cpu = t.usableCPUs.last!
        let node = t.cpu(cpu)?.numaNode ?? 0
        let bytes = mib << 20
        // A typical log line, 100 bytes with its newline.
        let line = "2026-11-22 10:00:00,123 INFO  [worker-7] c.e.billing.Ledger - posted batch 18236 in 4 ms, 512 rows ok"
        let command = ["/bin/sh", "-c", "yes '\(line.prefix(99))' | head -c \(bytes)"]
        print("log throughput: \(mib) MiB of 100-byte lines from one native workload pinned to CPU \(cpu); "
              + "\(runs) runs each, interleaved; rotation at \(maxFile) MiB, archives gzipped in the background")
        let clock = ContinuousClock()
        func launch(_ n: String) -> Launch {
            Launch(instanceID: n, appID: "bench", kind: .task, executable: .process(command: command, workingDir: nil),
                   allocation: EngineBenchmark.allocation(cpu, node), maxOpenFiles: 1024)
        }
        func raw(_ n: Int) async -> Double {
            let sink = CountingSink()
            let start = clock.now
            guard let h = try? await engine.start(launch("raw-\(n)"), output: sink) else { return .nan }
            await sink.wait()
            let s = EngineBenchmark.ms(clock.now - start) / 1000
            _ = await engine.waitForExit(h)
            try? await engine.remove(h)
            guard sink.count == bytes else { print("  raw run \(n): \(sink.count) bytes, expected \(bytes)"); return .nan }
            return s
        }
        func files(_ n: Int) async -> (Double, Double) {
            var r = RotationOptions()
            r.maxFileSize = .mebibytes(UInt64(maxFile))
            r.archivedFileCount = 3
            let logDir = "\(dir)/logs/\(n)"
            let log = InstanceLog(directory: logDir, rotation: r, suffix: "%d-%i")
            let start = clock.now
            guard let h = try? await engine.start(launch("files-\(n)"), output: log) else { return (.nan, .nan) }
            await log.waitUntilFinished(timeout: .seconds(600))
            let s = EngineBenchmark.ms(clock.now - start) / 1000
            log.waitForArchives()
            let drained = EngineBenchmark.ms(clock.now - start) / 1000
            _ = await engine.waitForExit(h)
            try? await engine.remove(h)
            let current = (try? FileManager.default.attributesOfItem(atPath: log.path)[.size] as? UInt64) ?? 0
            let expected = UInt64(bytes) % (UInt64(maxFile) << 20)
            if current != expected { print("  files run \(n): output.log has \(current) bytes, expected \(expected)") }
            try? FileManager.default.removeItem(atPath: logDir)
            sync()  // the next run must not pay for this one's writeback
            return (s, drained)
        }
        /// The same stream from the same producer pinned the same way, through
        /// a pipe into the simplest writer there is, `cat > file`, on the same disk.
        func plainWriter(_ n: Int) -> Double {
            let out = "\(dir)/cat-\(n).log"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "taskset -c \(cpu) /bin/sh -c \"yes '\(line.prefix(99))' | head -c \(bytes)\" | cat > \(out)"]
            let start = clock.now
            try? p.run()
            p.waitUntilExit()
            let s = EngineBenchmark.ms(clock.now - start) / 1000
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? UInt64) ?? 0
            if size != UInt64(bytes) { print("  cat run \(n): \(size) bytes, expected \(bytes)") }
            try? FileManager.default.removeItem(atPath: out)
            sync()
            return s
        }
        var a: [Double] = [], b: [Double] = [], c: [Double] = [], w: [Double] = []
        for n in 0..<runs {
            a.append(await raw(n))
            w.append(plainWriter(n))
            let (s, d) = await files(n)
            b.append(s)
            c.append(d)
        }
        print("  per run, seconds: raw \(a.map { String(format: "%.2f", $0) }), cat \(w.map { String(format: "%.2f", $0) }), "
              + "files \(b.map { String(format: "%.2f", $0) })")
        let rawRate = Double(mib) / EngineBenchmark.median(a)
        let catRate = Double(mib) / EngineBenchmark.median(w)
        let fileRate = Double(mib) / EngineBenchmark.median(b)
        print(String(format: "  cat > file on the same disk (baseline)  %8.0f MiB/s  (%.2f s)", catRate, EngineBenchmark.median(w)))
        print(String(format: "  into rotated instance files            %8.0f MiB/s  (%.2f s)  x%.2f of cat > file",
                     fileRate, EngineBenchmark.median(b), fileRate / catRate))
        print(String(format: "  raw stream from the engine, counted    %8.0f MiB/s  (%.2f s)  (context: no file at all)",
                     rawRate, EngineBenchmark.median(a)))
        print(String(format: "  ... until the last archive is gzipped   %8.0f MiB/s  (%.2f s)",
                     Double(mib) / EngineBenchmark.median(c), EngineBenchmark.median(c)))
        try? FileManager.default.removeItem(atPath: dir)
    }
}
