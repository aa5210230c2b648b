import CorralCore
import Foundation

enum AllocatorBenchmark {
    /// 2 sockets x 2 NUMA nodes x 32 cores x 2 threads = 256 CPUs, L3 groups of
    /// 4 cores, 256 GiB per node (4 GiB per CPU).
    static let topology = Topology.synthetic(sockets: 2, nodesPerSocket: 2, coresPerNode: 32, threadsPerCore: 2,
                                             coresPerL3: 4, memoryPerNode: 256 << 30)
    static let gib: UInt64 = 1 << 30

    static func resources() -> EffectiveResources {
        EffectiveResources.compute(topology: topology, resources: ResourcesConfig(), hostname: "bench").resources
    }

    /// A small, fast, seedable generator (SplitMix64) so both allocators see the same stream.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let sizes = [1, 2, 4, 8, 16]

    static func run(arguments: [String]) {
        var seconds = 2.0
        var streams = 1000
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--seconds": seconds = Double(arguments[i + 1]) ?? seconds; i += 2
            case "--streams": streams = Int(arguments[i + 1]) ?? streams; i += 2
            default: i += 1
            }
        }
        let cpuCount = topology.usableCPUs.count
        print("machine: \(cpuCount) CPUs, \(topology.numaNodes.count) NUMA nodes, \(topology.packages.count) packages, "
              + "\(topology.l3Groups.count) L3 groups; \(ProcessInfo.processInfo.activeProcessorCount) host cores")
        throughput(seconds: seconds)
        quality(streams: streams)
    }

    // MARK: (a) reserve + release pairs per second

    static func throughput(seconds: Double) {
        print("\n(a) reserve+release pairs per second, allocator half full (\(Int(seconds)) s per row)")
        print(pad("request", 10) + pad("corral", 14) + pad("first-fit", 14) + "ratio")
        for size in [1, 4, 16] {
            // Fill half the machine with a mixed background load first.
            var corral = Allocator(resources: resources())
            var baseline = FirstFitBaseline(resources: resources())
            var rng = SplitMix(state: 42)
            var filled = 0, k = 0
            while filled < 128 {
                let n = sizes[Int(rng.next() % 5)]
                if (try? corral.reserve(AllocationRequest(cpus: n, memoryBytes: UInt64(n) * 4 * gib), id: "bg\(k)")) != nil {
                    _ = baseline.reserve(cpus: n, memory: UInt64(n) * 4 * gib, id: "bg\(k)")
                    filled += n
                }
                k += 1
            }
            let request = AllocationRequest(cpus: size, memoryBytes: UInt64(size) * 4 * gib)
            let corralRate = measure(seconds: seconds) {
                _ = try? corral.reserve(request, id: "x")
                _ = try? corral.release("x")
            }
            let baseRate = measure(seconds: seconds) {
                _ = baseline.reserve(cpus: size, memory: UInt64(size) * 4 * gib, id: "x")
                baseline.release("x")
            }
            print(pad("\(size) CPU" + (size == 1 ? "" : "s"), 10) + pad(format(corralRate) + "/s", 14)
                  + pad(format(baseRate) + "/s", 14) + String(format: "%.2f", corralRate / baseRate))
        }
    }

    static func measure(seconds: Double, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        // Warm up.
        for _ in 0..<1000 { body() }
        var iterations = 0
        let start = clock.now
        let deadline = start.advanced(by: .milliseconds(Int(seconds * 1000)))
        while clock.now < deadline {
            for _ in 0..<256 { body() }
            iterations += 256
        }
        let elapsed = clock.now - start
        let s = elapsed.seconds
        return Double(iterations) / s
    }

    // MARK: (b) placement quality

    struct StreamResult {
        var placed = 0
        var cpus = 0
        var split = 0
        var held: [CPUSet] = []
    }

    /// Places a seeded stream until the first refusal. With `departures`, after
    /// each arrival a random live workload leaves with that probability.
    static func runStream(seed: Int, departures: Double, corral: Bool) -> StreamResult {
        var rng = SplitMix(state: UInt64(seed) &* 7919 &+ 1)
        var alloc = Allocator(resources: resources())
        var baseline = FirstFitBaseline(resources: resources())
        var live: [(String, CPUSet)] = []
        var r = StreamResult()
        for i in 0..<5000 {
            let n = sizes[Int(rng.next() % 5)]
            let id = "r\(i)"
            let mem = UInt64(n) * 4 * gib
            if corral {
                guard let a = try? alloc.reserve(AllocationRequest(cpus: n, memoryBytes: mem), id: id) else { break }
                if a.numaNodes.count != 1 { r.split += 1 }
                live.append((id, a.cpus))
            } else {
                guard baseline.reserve(cpus: n, memory: mem, id: id) else { break }
                live.append((id, baseline.held[id]!.cpus))
            }
            r.placed += 1
            r.cpus += n
            if departures > 0, !live.isEmpty, Double(rng.next() % 1000) / 1000 < departures {
                let (gone, _) = live.remove(at: Int(rng.next() % UInt64(live.count)))
                if corral { _ = try? alloc.release(gone) } else { baseline.release(gone) }
            }
        }
        r.held = live.map(\.1)
        return r
    }

    /// Physical cores whose threads belong to two different workloads.
    static func sharedCores(_ held: [CPUSet]) -> Int {
        var owner: [Int: Int] = [:]
        for (i, set) in held.enumerated() { for c in set { owner[c] = i } }
        return topology.cores.filter { core in Set(core.cpus.compactMap { owner[$0] }).count > 1 }.count
    }

    /// L3 groups a workload touches beyond the fewest it could (ceil(size / L3 size)).
    static func extraL3(_ held: [CPUSet]) -> Int {
        let l3Size = topology.l3Groups.values.first!.count
        return held.reduce(0) { total, set in
            let touched = Set(set.compactMap { topology.cpu($0)?.l3 }).count
            return total + touched - (set.count + l3Size - 1) / l3Size
        }
    }

    static func quality(streams: Int) {
        print("\n(b) placement quality: seeded streams of 1/2/4/8/16-CPU requests (4 GiB per CPU), placed until the first refusal")
        for departures in [0.0, 0.5] {
            var c = (placed: 0, cpus: 0, split: 0, shared: 0, extraL3: 0)
            var b = c
            var wins = 0, ties = 0, losses = 0
            for seed in 0..<streams {
                let x = runStream(seed: seed, departures: departures, corral: true)
                let y = runStream(seed: seed, departures: departures, corral: false)
                c.placed += x.placed; c.cpus += x.cpus; c.split += x.split
                c.shared += sharedCores(x.held); c.extraL3 += extraL3(x.held)
                b.placed += y.placed; b.cpus += y.cpus
                b.shared += sharedCores(y.held); b.extraL3 += extraL3(y.held)
                if x.placed > y.placed { wins += 1 } else if x.placed == y.placed { ties += 1 } else { losses += 1 }
            }
            let s = Double(streams)
            func row(_ name: String, _ a: Int, _ b: Int, _ digits: Int = 2) {
                let fa = String(format: "%.\(digits)f", Double(a) / s), fb = String(format: "%.\(digits)f", Double(b) / s)
                let ratio = b == 0 ? (a == 0 ? "1.000" : "inf") : String(format: "%.3f", Double(a) / Double(b))
                print(pad("  " + name, 34) + pad(fa, 10) + pad(fb, 11) + ratio)
            }
            print(departures == 0 ? "arrivals only:" : "with departures (after each arrival, a random workload leaves with p = \(departures)):")
            print(pad("  per stream", 34) + pad("corral", 10) + pad("first-fit", 11) + "ratio")
            row("workloads placed", c.placed, b.placed)
            row("CPUs in use at first refusal", c.cpus, b.cpus, 1)
            row("cores split between workloads", c.shared, b.shared)
            row("extra L3 groups touched", c.extraL3, b.extraL3)
            print("  streams: \(streams); corral placed more in \(wins), as many in \(ties), fewer in \(losses); "
                  + "requests split across NUMA nodes under require: \(c.split)")
        }
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

    static func format(_ rate: Double) -> String {
        rate >= 1e6 ? String(format: "%.2fM", rate / 1e6) : rate >= 1e3 ? String(format: "%.1fk", rate / 1e3) : String(format: "%.0f", rate)
    }
}
