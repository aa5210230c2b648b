import CorralCore
import CorralHost
import Foundation

/// The controller's scheduler alone on a simulated cluster: executors built
/// from the recorded machine topologies in Tests/CorralHostTests/Fixtures,
/// fed the same stream of instance requests as Drove's algorithm (shuffle the
/// executors, the first that fits on one NUMA node, the first free core ids
/// of that node) in the same run.
enum SchedulerBenchmark {
    struct Machine {
        var name: String
        var resources: EffectiveResources
    }

    static func machines() -> [Machine] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("Tests/CorralHostTests/Fixtures")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
        return names.compactMap { name in
            guard let t = try? TopologyReader(root: FileSystemRoot(dir.appendingPathComponent(name).path)).read() else { return nil }
            let r = EffectiveResources.compute(topology: t, resources: ResourcesConfig(), hostname: name).resources
            return r.nodes.isEmpty ? nil : Machine(name: name, resources: r)
        }
    }

    /// Drove's placement (`DefaultInstanceScheduler` + `InMemoryClusterResourcesDB.selectNodes`).
    struct DroveBaseline {
        struct Node { var cpus: [Int]; var free: CPUSet; var memory: UInt64 }
        var executors: [[Node]]
        var held: [(executor: Int, node: Int, cpus: CPUSet, memory: UInt64)] = []

        init(_ machines: [Machine], count: Int) {
            executors = (0..<count).map { i in
                machines[i % machines.count].resources.nodes.map { Node(cpus: Array($0.cpus).sorted(), free: $0.cpus, memory: $0.memoryBytes) }
            }
        }

        mutating func place(cpus n: Int, memory: UInt64, rng: inout AllocatorBenchmark.SplitMix) -> Int? {
            var order = Array(executors.indices)
            order.shuffle(using: &rng)
            for e in order {
                for (k, node) in executors[e].enumerated() where node.free.count >= n && node.memory >= memory {
                    let take = CPUSet(node.cpus.filter { node.free.contains($0) }.prefix(n))
                    executors[e][k].free.subtract(take)
                    executors[e][k].memory -= memory
                    held.append((e, k, take, memory))
                    return e
                }
            }
            return nil
        }
    }

    static func run(arguments: [String]) {
        var count = 5000, placements = 20_000
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--executors": count = Int(arguments[i + 1]) ?? count; i += 2
            case "--placements": placements = Int(arguments[i + 1]) ?? placements; i += 2
            default: i += 1
            }
        }
        let ms = machines()
        guard !ms.isEmpty else { print("no fixture topologies found"); return }
        let totalCPUs = (0..<count).reduce(0) { $0 + ms[$1 % ms.count].resources.nodes.reduce(0) { $0 + $1.cpus.count } }
        print("cluster: \(count) executors built from \(ms.count) recorded machines (\(ms.map(\.name).joined(separator: ", "))), \(totalCPUs) CPUs")
        let sizes = [1, 1, 2, 2, 4, 8, 16]
        func stream(_ n: Int) -> [Int] {
            var rng = AllocatorBenchmark.SplitMix(state: 7)
            return (0..<n).map { _ in sizes[Int(rng.next() % UInt64(sizes.count))] }
        }
        let gib: UInt64 = 1 << 30

        // (a) Placements per second on an empty cluster, `placements` requests.
        let requests = stream(placements)
        /// `count` empty executors cycling through the recorded machines.
        func emptyCluster() -> ClusterScheduler {
            var s = ClusterScheduler()
            for e in 0..<count {
                s.upsert(ExecutorModel(id: String(format: "e%05d", e), hostname: String(format: "h%05d", e), tags: [String(format: "h%05d", e)],
                                       metadata: [:], takesNewWork: true, resources: ms[e % ms.count].resources))
            }
            return s
        }
        var corral = emptyCluster()
        var drove = DroveBaseline(ms, count: count)
        var placedCorral = 0, placedDrove = 0
        var rng = AllocatorBenchmark.SplitMix(state: 11)
        let t0 = ContinuousClock.now
        for (k, n) in requests.enumerated() {
            let r = ClusterScheduler.Request(appId: "app\(k % 200)-1", resources: AllocationRequest(cpus: n, memoryBytes: UInt64(n) * 2 * gib), policy: .any)
            if (try? corral.place(r, id: "i\(k)")) != nil { placedCorral += 1 }
        }
        let corralTime = ContinuousClock.now - t0
        let t1 = ContinuousClock.now
        for n in requests { if drove.place(cpus: n, memory: UInt64(n) * 2 * gib, rng: &rng) != nil { placedDrove += 1 } }
        let droveTime = ContinuousClock.now - t1
        let cRate = Double(placedCorral) / seconds(corralTime), dRate = Double(placedDrove) / seconds(droveTime)
        print("\n(a) \(placements) placements on an empty cluster")
        print("    corral \(format(cRate))/s, drove's algorithm \(format(dRate))/s, ratio \(String(format: "%.1f", cRate / dRate))")

        // (b) Quality: fill until the first refusal.
        var fillCorral = emptyCluster()
        var fillDrove = DroveBaseline(ms, count: count)
        let long = stream(4 * totalCPUs)
        var rng2 = AllocatorBenchmark.SplitMix(state: 11)
        var k = 0
        let td = ContinuousClock.now
        while k < long.count, fillDrove.place(cpus: long[k], memory: UInt64(long[k]) * 2 * gib, rng: &rng2) != nil { k += 1 }
        let droveFill = ContinuousClock.now - td
        let firstRefusalDrove = k
        func wholeNodes(_ s: ClusterScheduler) -> Int {
            (0..<count).reduce(0) { acc, e in
                let model = s[String(format: "e%05d", e)]!
                return acc + ms[e % ms.count].resources.nodes.filter { $0.cpus.isSubset(of: model.allocator.freeCPUs) }.count
            }
        }
        var wholeAtSameCount = 0
        k = 0
        let tc = ContinuousClock.now
        var paused = Duration.zero
        while k < long.count {
            if k == firstRefusalDrove {
                let p0 = ContinuousClock.now
                wholeAtSameCount = wholeNodes(fillCorral)
                paused += ContinuousClock.now - p0
            }
            let n = long[k]
            let r = ClusterScheduler.Request(appId: "app\(k % 200)-1", resources: AllocationRequest(cpus: n, memoryBytes: UInt64(n) * 2 * gib), policy: .any)
            if (try? fillCorral.place(r, id: "f\(k)")) == nil { break }
            k += 1
        }
        let corralFill = ContinuousClock.now - tc - paused
        let firstRefusalCorral = k

        // Split cores (a physical core's threads held by two workloads) and whole NUMA nodes left free.
        var splitCorral = 0, wholeCorral = 0, splitDrove = 0, wholeDrove = 0
        var usedCorral = 0, usedDrove = 0
        for e in 0..<count {
            let m = ms[e % ms.count]
            let cores = m.resources.topology.cores.map { $0.cpus.intersection(m.resources.offeredCPUs) }.filter { $0.count > 1 }
            let model = fillCorral[String(format: "e%05d", e)]!
            var owner: [Int: String] = [:]
            for a in model.allocator.allocations.values { for c in a.cpus { owner[c] = a.id } }
            usedCorral += owner.count
            for core in cores where Set(core.compactMap { owner[$0] }).count > 1 { splitCorral += 1 }
            for n in m.resources.nodes where n.cpus.isSubset(of: model.allocator.freeCPUs) { wholeCorral += 1 }
            var dOwner: [Int: Int] = [:]
            for (h, x) in fillDrove.held.enumerated() where x.executor == e { for c in x.cpus { dOwner[c] = h } }
            usedDrove += dOwner.count
            for core in cores where Set(core.compactMap { dOwner[$0] }).count > 1 { splitDrove += 1 }
            for node in fillDrove.executors[e] where node.free.count == node.cpus.count { wholeDrove += 1 }
        }
        print("\n(b) the same request stream (1-16 CPUs, 2 GiB per CPU) until the first refusal")
        print("    placements/s while filling: corral \(format(Double(firstRefusalCorral) / seconds(corralFill)))/s, drove's algorithm \(format(Double(firstRefusalDrove) / seconds(droveFill)))/s")
        print("    placed before the first refusal: corral \(firstRefusalCorral), drove's algorithm \(firstRefusalDrove)"
              + " (ratio \(String(format: "%.2f", Double(firstRefusalCorral) / Double(max(1, firstRefusalDrove)))))")
        print("    CPUs in use then: corral \(usedCorral), drove's \(usedDrove) of \(totalCPUs)")
        print("    physical cores split between two workloads: corral \(splitCorral), drove's \(splitDrove)")
        print("    NUMA nodes left whole at drove's first refusal (\(firstRefusalDrove) placed by both): corral \(wholeAtSameCount), drove's \(wholeDrove)")
        print("    NUMA nodes left whole at corral's first refusal: \(wholeCorral)")
    }

    static func seconds(_ d: Duration) -> Double { d.seconds }

    static func format(_ v: Double) -> String {
        v >= 1000 ? String(format: "%.0f", v) : String(format: "%.1f", v)
    }
}
