import CorralCore
import Foundation
import PropertyBased
import Testing

/// Whatever the machine and workload, a plan either says why it cannot be
/// made or passes the processors check with: every cpuset inside one NUMA
/// node with numa_preferred on it, no core in two pools unless they share a
/// lock, L3-bound tasks whole inside their groups, stage limits adding up.
@Suite struct PlannerPropertyTests {
    struct Case: CustomStringConvertible {
        var sockets: Int, coresPerNode: Int, coresPerL3: Int, threads: Int, gpusPerNode: Int
        var pc1Cores: Int, pc2Cores: Int, c2Cores: Int, osCores: Int, shared: Bool, gpuStages: Int
        var description: String {
            "\(sockets)s x \(coresPerNode)c x \(threads)t L3 \(coresPerL3) GPU/node \(gpusPerNode); pc1 \(pc1Cores), "
                + "pc2 \(pc2Cores), c2 \(c2Cores), GPU stages \(gpuStages), os \(osCores), shared \(shared)"
        }
    }

    static let cases = zip(
        zip(Gen.int(in: 1...2), Gen.int(in: 2...24), Gen.int(in: 1...6), Gen.int(in: 1...2), Gen.int(in: 0...2)),
        zip(Gen.int(in: 1...4), Gen.int(in: 1...6), Gen.int(in: 1...10), Gen.int(in: 0...3), Gen.bool, Gen.int(in: 0...2))
    ).map { m, w in
        Case(sockets: m.0, coresPerNode: m.1, coresPerL3: m.2, threads: m.3, gpusPerNode: m.4,
             pc1Cores: w.0, pc2Cores: w.1, c2Cores: w.2, osCores: w.3, shared: w.4, gpuStages: w.5)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func add() { lock.withLock { n += 1 } }
        var value: Int { lock.withLock { n } }
    }

    @Test func plansPassTheCheckOrSayWhyNot() async {
        let planned = Counter()
        defer { #expect(planned.value >= 60, "only \(planned.value) of 300 cases made a plan: the property says little") }
        await propertyCheck(count: 300, input: Self.cases) { c in
            let t = Topology.synthetic(sockets: c.sockets, coresPerNode: c.coresPerNode, threadsPerCore: c.threads,
                                       coresPerL3: c.coresPerL3, memoryPerNode: 256 << 30, gpusPerNode: c.gpusPerNode)
            var w = PlanWorkload()
            w.osCores = c.osCores
            w.strategy = c.shared ? .shared : .exclusive
            var pc1 = PlanWorkload.Stage(name: "pc1", cores: c.pc1Cores)
            pc1.sameL3 = true
            pc1.memoryBytes = 16 << 30
            pc1.minutes = 177
            pc1.bin = "/usr/local/bin/damocles-worker"
            w.stages = [pc1]
            for (name, cores) in [("pc2", c.pc2Cores), ("c2", c.c2Cores)].prefix(c.gpuStages) {
                var s = PlanWorkload.Stage(name: name, cores: cores)
                s.gpus = 1
                s.minutes = 15
                s.bin = "/usr/local/bin/damocles-worker"
                w.stages.append(s)
            }
            let plan: ProcessorsPlan
            do {
                plan = try Planner.plan(w, topology: t, offered: t.usableCPUs)
            } catch {
                #expect((error as? PlanError).map { !$0.message.isEmpty } == true, "\(error)")
                return
            }
            planned.add()
            let (config, issues) = ProcessorsConfigLoader.load(text: plan.toml(), file: "plan.toml")
            guard let config else {
                Issue.record("the plan does not load: \(issues)\n\(plan.toml())")
                return
            }
            let found = issues + ProcessorsPlacementCheck.check(config, topology: t, offered: t.usableCPUs, osCores: [], file: "plan.toml")
            #expect(found.isEmpty, "\(c): \(found)\n\(plan.toml())")
            var owner: [Int: ProcessorEntry] = [:]
            for e in config.allEntries {
                let set = e.cpuset ?? []
                #expect(!set.isEmpty)
                let nodes = Set(set.compactMap { t.cpu($0)?.numaNode })
                #expect(nodes.count == 1 && nodes.first == e.numaPreferred, "\(e.name) spans \(nodes)")
                for cpu in set {
                    if let other = owner[cpu] {
                        #expect(!Set(other.locks).isDisjoint(with: e.locks), "cpu \(cpu) in \(other.name) and \(e.name) without a shared lock")
                    }
                    owner[cpu] = e
                }
                // Whole cores only.
                #expect(set.allSatisfy { t.cpu($0)!.siblings.isSubset(of: set) })
            }
            #expect(plan.osCPUs.isDisjoint(with: CPUSet(owner.keys)))
            // pc1: whole tasks inside each L3 group, and the limits add up.
            for e in config.stages["pc1"] ?? [] {
                let set = e.cpuset ?? []
                for (_, group) in t.l3Groups {
                    let coresInGroup = Set(set.intersection(group).compactMap { t.cpu($0)?.core }).count
                    #expect(coresInGroup % c.pc1Cores == 0, "pc1 splits a task across L3 groups: \(set.listString)")
                }
                let cores = Set(set.compactMap { t.cpu($0)?.core }).count
                #expect(cores == (e.concurrent ?? 0) * c.pc1Cores)
            }
            for s in config.stageNames {
                let sum = (config.stages[s] ?? []).reduce(0) { $0 + ($1.concurrent ?? 0) }
                #expect(config.concurrent[s] == sum, "stage \(s) limit \(config.concurrent[s] ?? -1) vs processors \(sum)")
            }
            if c.gpuStages > 0 {
                let gpuEntries = config.allEntries.filter { $0.envs["CUDA_VISIBLE_DEVICES"] != nil }
                for e in gpuEntries {
                    let g = Int(e.envs["CUDA_VISIBLE_DEVICES"]!)!
                    #expect(t.gpus.first { $0.index == g }?.numaNode == e.numaPreferred, "\(e.name) is not on its GPU's node")
                }
                if !c.shared {
                    let perGPU = Dictionary(grouping: gpuEntries, by: { $0.envs["CUDA_VISIBLE_DEVICES"]! })
                    #expect(perGPU.values.allSatisfy { $0.count == 1 }, "exclusive: one processor per GPU")
                }
            }
        }
    }
}
