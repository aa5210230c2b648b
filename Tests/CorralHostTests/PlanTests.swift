import CorralCore
import CorralHost
import Foundation
import Testing

/// `corral plan` on the damocles case study: the dual EPYC 7642 fixture and
/// the workload shipped in examples/plan.
@Suite struct PlanTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/plan/sealing-epyc7642.toml").path

    static func caseStudy(_ strategy: PlanWorkload.Strategy) throws -> (ProcessorsPlan, ProcessorsConfig, [ConfigIssue], Topology) {
        let (topology, eff) = try ProcessorsConfigTests.epyc()
        let (w, issues) = PlanWorkload.load(path: example)
        var workload = try #require(w, "\(issues)")
        #expect(issues.isEmpty, "\(issues)")
        workload.strategy = strategy
        let plan = try Planner.plan(workload, topology: topology, offered: eff.offeredCPUs)
        let (c, loadIssues) = ProcessorsConfigLoader.load(text: plan.toml(), file: "plan.toml")
        let config = try #require(c, "\(loadIssues)\n\(plan.toml())")
        let found = loadIssues + ProcessorsPlacementCheck.check(config, topology: topology, offered: eff.offeredCPUs,
                                                                osCores: eff.osCores, file: "plan.toml")
        return (plan, config, found, topology)
    }

    @Test func exclusiveMatchesSchemeAAndDoesBetter() throws {
        let (plan, config, found, t) = try Self.caseStudy(.exclusive)
        #expect(found.isEmpty, "passes `corral processors check` without a warning: \(found)")
        // Scheme A: 28 pc1, one pc2 and one c2, each with its own GPU.
        #expect(config.concurrent["pc1"]! >= 28, "\(config.concurrent)")
        #expect(config.concurrent["pc2"] == 1 && config.concurrent["c2"] == 1)
        let pc2 = try #require(config.stages["pc2"]?.first), c2 = try #require(config.stages["c2"]?.first)
        #expect(pc2.envs["CUDA_VISIBLE_DEVICES"] != c2.envs["CUDA_VISIBLE_DEVICES"], "each its own GPU")
        // Better than Scheme A: no cpuset spans the two sockets (Scheme A's pc2 and c2 do),
        // GPU processors sit on their GPU's node, and no two pools share a core.
        for e in config.allEntries {
            let nodes = Set(e.cpuset!.compactMap { t.cpu($0)?.numaNode })
            #expect(nodes == [e.numaPreferred!], "\(e.name): \(nodes)")
            if let g = e.envs["CUDA_VISIBLE_DEVICES"] {
                #expect(t.gpus.first { String($0.index) == g }?.numaNode == e.numaPreferred)
            }
        }
        let all = config.allEntries.map { $0.cpuset! }
        #expect(all.reduce(0) { $0 + $1.count } == all.reduce(CPUSet()) { $0.union($1) }.count, "no core in two pools")
        // pc1 tasks (1 main + 1 producer) sit two by two in the 3-core L3 groups.
        for e in config.stages["pc1"]! {
            for (_, g) in t.l3Groups where !g.isDisjoint(with: e.cpuset!) {
                #expect(g.intersection(e.cpuset!).count == 2, "L3 group \(g.listString) holds \(g.intersection(e.cpuset!).listString)")
            }
        }
        #expect(plan.bottleneck == "c2")
        #expect(plan.osCPUs.count == 2 && plan.osCPUs.isDisjoint(with: all.reduce(CPUSet()) { $0.union($1) }))
        let words = plan.explanation(topology: t)
        #expect(words.contains("Bottleneck: c2 at 4.0 tasks/hour"), "\(words)")
        #expect(words.contains("limited by memory"), "30 x 64 GiB fits the 2 TiB less 5% headroom; 32 would not: \(words)")
    }

    @Test func sharedPairsTheGPUStagesBehindOneLockPerGPU() throws {
        let (plan, config, found, _) = try Self.caseStudy(.shared)
        #expect(found.isEmpty, "\(found)")
        #expect(config.locks == ["gpu0": 1, "gpu1": 1])
        #expect(config.concurrent["pc2"] == 2 && config.concurrent["c2"] == 2)
        for gpu in ["0", "1"] {
            let pair = config.allEntries.filter { $0.envs["CUDA_VISIBLE_DEVICES"] == gpu }
            #expect(Set(pair.map(\.stage)) == ["pc2", "c2"] && Set(pair.flatMap(\.locks)).count == 1, "\(pair)")
            // As in Scheme B, pc2's cores are a subset of c2's: the lock keeps them apart.
            let (p, c) = (pair.first { $0.stage == "pc2" }!, pair.first { $0.stage == "c2" }!)
            #expect(p.cpuset!.isSubset(of: c.cpuset!))
        }
        // Turns on a GPU: 12 + 15 minutes per pair, 2 GPUs: 4.4 of each per hour, above exclusive's 4.0.
        #expect(abs((plan.throughput["c2"] ?? 0) - 120.0 / 27) < 0.01)
    }

    @Test func workloadMistakesNameTheKey() throws {
        let (w, issues) = PlanWorkload.load(text: """
        os_cores = -1
        strategy = "exclusiv"
        [stages.pc1]
        core = 2
        [stages.c2]
        cores = 4
        gpus = 2
        minutes = "soon"
        """, file: "w.toml")
        #expect(w == nil)
        let text = issues.map(\.description).joined(separator: "\n")
        #expect(text.contains("w.toml: error: os_cores"), "\(text)")
        #expect(text.contains("strategy") && text.contains("did you mean \"exclusive\""), "\(text)")
        #expect(text.contains("stages.pc1.core") && text.contains("did you mean \"cores\""), "\(text)")
        #expect(text.contains("stages.c2.gpus"), "\(text)")
        #expect(text.contains("stages.c2.minutes"), "\(text)")
    }

    @Test func exclusiveWithTooFewGPUsSaysToShare() throws {
        let t = Topology.synthetic(sockets: 1, coresPerNode: 16, coresPerL3: 4, gpusPerNode: 1)
        var w = PlanWorkload()
        for name in ["pc2", "c2"] {
            var s = PlanWorkload.Stage(name: name, cores: 2)
            s.gpus = 1
            w.stages.append(s)
        }
        #expect(throws: PlanError.self) { try Planner.plan(w, topology: t, offered: t.usableCPUs) }
        do {
            _ = try Planner.plan(w, topology: t, offered: t.usableCPUs)
        } catch {
            #expect(error.message.contains("use --strategy shared"), "\(error)")
        }
        w.strategy = .shared
        let plan = try Planner.plan(w, topology: t, offered: t.usableCPUs)
        #expect(plan.processors.count == 2 && Set(plan.processors.compactMap(\.lock)) == ["gpu0"])
    }

    /// Two CPU stages sharing the machine by a wanted ratio.
    @Test func ratiosShareTheCoresInProportion() throws {
        let t = Topology.synthetic(sockets: 1, coresPerNode: 24, coresPerL3: 4)
        let (w, issues) = PlanWorkload.load(text: """
        [stages.pc1]
        cores = 1
        ratio = 3
        [stages.tree_d]
        cores = 1
        ratio = 1
        """, file: "w.toml")
        let workload = try #require(w, "\(issues)")
        let plan = try Planner.plan(workload, topology: t, offered: t.usableCPUs)
        #expect(plan.concurrency == ["pc1": 18, "tree_d": 6], "\(plan.concurrency)")
        let (bad, badIssues) = PlanWorkload.load(text: "[stages.pc1]\ncores = 1\nratio = 0\n", file: "w.toml")
        #expect(bad == nil && badIssues.contains { $0.path == "stages.pc1.ratio" })
    }

    @Test func explainReviewsSchemeA() throws {
        let scheme = try #require(try ProcessorsConfigTests.seedSchemes().first)
        let (topology, eff) = try ProcessorsConfigTests.epyc()
        let (c, issues) = ProcessorsConfigLoader.load(text: scheme, file: "schemeA.toml")
        let config = try #require(c)
        let all = issues + ProcessorsPlacementCheck.check(config, topology: topology, offered: eff.offeredCPUs, osCores: eff.osCores, file: "schemeA.toml")
        let words = ProcessorsReview.explain(config, issues: all, topology: topology, offered: eff.offeredCPUs, file: "schemeA.toml")
        #expect(words.contains("pc2#0: cpus 2,5,8,11,50,53,56,59 (8) on node 0+1"), "\(words)")
        #expect(words.contains("memory from anywhere"), "\(words)")
        #expect(words.contains("Shared L3 groups"), "\(words)")
        #expect(words.contains("are also given to pinned") == false)
        #expect(words.contains("no lock keeps the two apart"), "\(words)")
        #expect(words.contains("spans NUMA nodes 0, 1"), "\(words)")
    }

    /// Both commands on every machine we have: the ten hwloc dumps and the
    /// fixture roots. A plan is made (or refused with a reason) and passes the
    /// check; the map draws every core's threads exactly once.
    @Test func planAndMapWorkOnEveryFixtureMachine() throws {
        var roots: [(String, String)] = try ["amd-modules", "dies-repeat-core-id", "epyc7642-2s48c", "gpu-2s8c2t",
                                             "old-kernel-no-numa", "sparse-memoryless"].map { ($0, try FixtureRootTests.root($0)) }
        if let hwloc = try SharedFixtures.hwlocMachines() { roots += hwloc.map { ($0.name, $0.root) } }
        var planned = 0
        for (name, root) in roots {
            let t = try TopologyReader(fsroot: root).read()
            var r = ResourcesConfig()
            r.enableNvidiaGpu = true
            let (eff, _) = EffectiveResources.compute(topology: t, resources: r, hostname: name)
            var w = PlanWorkload()
            w.osCores = 1
            var pc1 = PlanWorkload.Stage(name: "pc1", cores: 1)
            pc1.sameL3 = true
            pc1.minutes = 177
            w.stages = [pc1]
            if !t.gpus.isEmpty {
                var c2 = PlanWorkload.Stage(name: "c2", cores: 1)
                c2.gpus = 1
                c2.minutes = 15
                w.stages.append(c2)
            }
            do {
                let plan = try Planner.plan(w, topology: t, offered: eff.offeredCPUs)
                let (c, issues) = ProcessorsConfigLoader.load(text: plan.toml(), file: name)
                let config = try #require(c, "\(name): \(issues)")
                let found = issues + ProcessorsPlacementCheck.check(config, topology: t, offered: eff.offeredCPUs, osCores: eff.osCores, file: name)
                #expect(!found.contains { $0.severity == .error }, "\(name): \(found)")
                #expect((config.concurrent["pc1"] ?? 0) >= 1, "\(name)")
                #expect(!plan.explanation(topology: t).isEmpty)
                planned += 1
            } catch {
                Issue.record("\(name): no plan for a 1-core stage: \(error)")
            }
            let (cpu, gpu) = MachineMap.owners(topology: t, offered: eff.offeredCPUs, osCores: eff.osCores, processors: [], instances: [])
            let svg = MachineMap(topology: t, title: name, cpuOwners: cpu, gpuOwners: gpu).svg()
            let drawn = svg.matches(of: /class="cpu" data-cpu="(\d+)"/).map { Int($0.1)! }
            let expected = t.cores.flatMap { Array($0.cpus) }
            #expect(drawn.count == expected.count && Set(drawn) == Set(expected), "\(name): drew \(drawn.count) CPUs of \(expected.count)")
            #expect(svg.matches(of: /class="gpu"/).count == t.gpus.count, "\(name)")
            #expect(svg.matches(of: /class="numa"/).count == Set(t.cores.map { $0.numaNode ?? -1 }).count, "\(name)")
        }
        #expect(planned == roots.count)
    }
}
