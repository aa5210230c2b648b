import CorralCore
import CorralHost
import Foundation
import Testing

/// damocles' `[processors]` TOML: the seed's two schemes load unchanged and
/// check clean on the seed's machine; mistakes damocles ignores are caught.
@Suite struct ProcessorsConfigTests {
    /// The TOML blocks of the seed document, in order (Scheme A, Scheme B).
    static func seedSchemes() throws -> [String] {
        let md = try String(contentsOf: SharedFixtures.sharedDir.appendingPathComponent("reference/seeds/damocles-external-processors.md"),
                            encoding: .utf8)
        return md.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            .filter { $0.contains("[processors.") }
    }

    static func epyc() throws -> (Topology, EffectiveResources) {
        let root = try FixtureRootTests.root("epyc7642-2s48c")
        let t = try TopologyReader(fsroot: root).read()
        let (eff, _) = EffectiveResources.compute(topology: t, resources: ResourcesConfig(), hostname: "sealer-01")
        return (t, eff)
    }

    static func load(_ toml: String) -> (ProcessorsConfig?, [ConfigIssue]) {
        ProcessorsConfigLoader.load(text: toml, file: "processors.toml")
    }

    @Test func schemeAAndSchemeBLoadAsWrittenAndCheckCleanOnTheEPYC() throws {
        let schemes = try Self.seedSchemes()
        try #require(schemes.count == 2)
        let (topology, eff) = try Self.epyc()
        for (n, text) in schemes.enumerated() {
            let (c, issues) = Self.load(text)
            let config = try #require(c, "scheme \(n): \(issues)")
            let placement = ProcessorsPlacementCheck.check(config, topology: topology, offered: eff.offeredCPUs,
                                                           osCores: eff.osCores, file: "processors.toml")
            let errors = (issues + placement).filter { $0.severity == .error }
            #expect(errors.isEmpty, "scheme \(n): \(errors)")
            #expect(config.concurrent["pc1"] == 28)
            #expect(config.stages["pc1"]?.count == 2)
            #expect(config.stages["pc1"]?[0].cpuset == CPUSet(range: 0...41))
            #expect(config.stages["pc1"]?[1].numaPreferred == 1)
            #expect(config.stages["pc1"]?[0].envs["FIL_PROOFS_USE_MULTICORE_SDR"] == "1")
            #expect(config.stages["pc1"]?[0].concurrent == 14)
            // numa_preferred matches the cpusets' nodes in both schemes: no such warning.
            #expect(!placement.contains { $0.path.hasSuffix("numa_preferred") }, "\(placement)")
        }
        let (a, aIssues) = Self.load(schemes[0])
        #expect(a?.locks.isEmpty == true && a?.stages["c2"]?[0].envs["CUDA_VISIBLE_DEVICES"] == "1")
        // Scheme A puts pc2 on cores inside pc1's cpuset with no lock between them: said plainly.
        #expect(aIssues.contains { $0.severity == .warning && $0.path == "processors.pc2[0].cgroup.cpuset" && $0.message.contains("pc1#0") },
                "\(aIssues)")
        let (b, bIssues) = Self.load(schemes[1])
        #expect(b?.locks == ["gpu1": 1, "gpu2": 1])
        #expect(b?.stages["pc2"]?[1].locks == ["gpu2"])
        // Scheme B's pc2 and c2 share CPUs behind gpu1/gpu2: no warning for those pairs.
        #expect(!bIssues.contains { $0.path == "processors.pc2[0].cgroup.cpuset" && $0.message.contains("c2#0") })
        #expect(!bIssues.contains { $0.path == "processors.pc2[1].cgroup.cpuset" && $0.message.contains("c2#1") })
    }

    @Test func mistakesDamoclesIgnoresAreErrorsWithTheKeyAndWhatIsAllowed() throws {
        let (c, issues) = Self.load("""
        [processors.limitation.concurrent]
        pc1 = 0

        [processors.ext_locks]
        gpu1 = 1

        [[processors.pc2]]
        concurent = 2
        locks = ["gpu"]
        cgroup.cpuset = "0-3"
        """)
        #expect(c == nil)
        let text = issues.map(\.description).joined(separator: "\n")
        #expect(issues.contains { $0.path == "processors.pc2[0].concurent" && $0.message.contains("did you mean \"concurrent\"") }, "\(text)")
        #expect(issues.contains { $0.path == "processors.pc2[0].locks[0]" && $0.message.contains("not declared") && $0.message.contains("did you mean \"gpu1\"") }, "\(text)")
        #expect(issues.contains { $0.path == "processors.limitation.concurrent.pc1" && $0.value == "0" }, "\(text)")
        #expect(issues.allSatisfy { $0.file == "processors.toml" })
        let (_, zero) = Self.load("[[processors.c2]]\nconcurrent = 0\n")
        #expect(zero.contains { $0.path == "processors.c2[0].concurrent" && $0.severity == .error })
        let (_, syntax) = Self.load("[[processors.c2]]\nconcurrent = \n")
        #expect(syntax.first?.location?.line == 2 && syntax.first?.message.contains("not valid TOML") == true, "\(syntax)")
    }

    /// Values nested past the limit are refused before toml++ recurses into
    /// them (a fuzzer's `a = [[[[...` overflowed its stack); normal nesting reads.
    @Test func deeplyNestedValuesAreRefusedNotCrashedOn() {
        let deep = "a = " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "\n"
        let (config, issues) = Self.load(deep)
        #expect(config == nil)
        #expect(issues.contains { $0.message.contains("nested more than 32 deep") && $0.location?.line == 1 }, "\(issues)")
        let braces = "a = " + String(repeating: "{ b = ", count: 40) + "1" + String(repeating: " }", count: 40) + "\n"
        #expect(Self.load(braces).1.contains { $0.message.contains("nested more than") })
        // Brackets that do not pair up never reach toml++ (it asserted on `a = [}`).
        #expect(Self.load("a = [}\n").1.contains { $0.message.contains("'}' closes no inline table") && $0.location?.column == 6 })
        #expect(Self.load("a = ]\n").1.contains { $0.message.contains("']' closes no array") })
        #expect(Self.load("a = { b = 1,\nc = 2 }\n").1.contains { $0.message.contains("inline table must end on the line") })
        let fine = Self.load("a = [[1, 2], [3, [4, { b = [5] }]]]\nb = [\n  1, # ]\n  \"]\",\n]\n").1
        #expect(!fine.contains { $0.message.contains("nested more than") }, "\(fine)")
    }

    @Test func placementAgainstTheMachine() throws {
        let (topology, _) = try Self.epyc()
        var resources = ResourcesConfig()
        resources.osCores = [0, 1]
        let (eff, _) = EffectiveResources.compute(topology: topology, resources: resources, hostname: "sealer-01")
        let (c, issues) = Self.load("""
        [[processors.pc1]]
        cgroup.cpuset = "0-5"
        [[processors.pc1]]
        cgroup.cpuset = "48-50"
        numa_preferred = 0
        [[processors.c2]]
        cgroup.cpuset = "40-55,190-191"
        numa_preferred = 7
        """)
        let config = try #require(c, "\(issues)")
        let found = ProcessorsPlacementCheck.check(config, topology: topology, offered: eff.offeredCPUs, osCores: eff.osCores,
                                                   file: "p.toml")
        func has(_ sev: ConfigIssue.Severity, _ path: String, _ words: String) -> Bool {
            found.contains { $0.severity == sev && $0.path == path && $0.message.contains(words) }
        }
        #expect(has(.error, "processors.pc1[0].cgroup.cpuset", "CPUs 0-1 are reserved for the OS"), "\(found)")
        #expect(has(.warning, "processors.pc1[1].numa_preferred", "on node 1"), "\(found)")
        #expect(has(.error, "processors.c2[0].cgroup.cpuset", "CPUs 190-191 do not exist"), "\(found)")
        #expect(has(.warning, "processors.c2[0].cgroup.cpuset", "spans NUMA nodes 0, 1"), "\(found)")
        #expect(has(.error, "processors.c2[0].numa_preferred", "NUMA node 7 does not exist"), "\(found)")
    }

    @Test func cpusetsSharedWithPinnedInstancesAreWarnings() throws {
        let (c, issues) = Self.load("""
        [[processors.pc1]]
        cgroup.cpuset = "4-7"
        [[processors.pc2]]
        cgroup.cpuset = "8-9"
        [[processors.c2]]
        """)
        let config = try #require(c, "\(issues)")
        let found = ProcessorsPlacementCheck.overlaps(config, pinned: [("web-1", try CPUSet(list: "6-8")), ("db-1", try CPUSet(list: "20"))],
                                                      file: "p.toml")
        #expect(found.count == 2, "\(found)")
        #expect(found.allSatisfy { $0.severity == .warning })
        #expect(found.contains { $0.path == "processors.pc1[0].cgroup.cpuset" && $0.message.contains("CPUs 6-7 are also given to pinned instance web-1") })
        #expect(found.contains { $0.path == "processors.pc2[0].cgroup.cpuset" && $0.message.contains("CPU 8 is also given to pinned instance web-1") })
        #expect(ProcessorsPlacementCheck.overlaps(config, pinned: [("db-1", try CPUSet(list: "0-3"))], file: "p.toml").isEmpty)
    }

    /// Every key damocles-worker's `Processors` and `Ext` structs read, with damocles' meaning.
    @Test func everyKeyDamoclesReadsHasDamoclesMeaning() throws {
        let stages = ["add_pieces", "tree_d", "pc1", "pc2", "synth_proof", "c2", "snap_encode", "snap_prove", "unseal",
                      "transfer", "window_post", "sealing_daemons"]
        var text = """
        [processors.limit]
        pc1 = 3
        c2 = 9
        [processors.limitation.concurrent]
        pc1 = 2
        [processors.limitation.staggered]
        pc1 = "1min"
        pc2 = "1h 30m"
        [processors.static_tree_d]
        2KiB = "./tmp/2k/sc-02-data-tree-d.dat"
        32GiB = "/var/tmp/32g/sc-02-data-tree-d.dat"
        [processors.ext_locks]
        gpu = 1

        """
        for stage in stages {
            text += """
            [[processors.\(stage)]]
            bin = "/usr/local/bin/\(stage)"
            args = ["run", "\(stage)"]
            stable_wait = "2min"
            cgroup.group_name = "sealing/\(stage)"
            cgroup.cpuset = "0-3"
            numa_preferred = 0
            concurrent = 1
            envs = { A = "1" }
            inherit_envs = false
            auto_restart = false
            locks = ["gpu"]

            """
        }
        let (c, issues) = Self.load(text)
        let config = try #require(c, "\(issues)")
        #expect(!issues.contains { $0.severity == .error }, "\(issues)")
        #expect(Set(config.stageNames) == Set(stages), "static_tree_d and limit are not stages")
        #expect(!issues.contains { $0.message.contains("not a stage damocles-worker knows") }, "\(issues)")
        // limitation.concurrent wins over the legacy limit, whole: c2's legacy limit is not merged in.
        #expect(config.concurrent == ["pc1": 2])
        #expect(issues.contains { $0.path == "processors.limit" && $0.severity == .warning })
        #expect(config.staggered["pc1"] == .seconds(60) && config.staggered["pc2"] == .seconds(5400))
        #expect(config.staticTreeD == [2048: "./tmp/2k/sc-02-data-tree-d.dat", 32 << 30: "/var/tmp/32g/sc-02-data-tree-d.dat"])
        for e in config.allEntries {
            #expect(e.stableWait == .seconds(120), "\(e.name)")
            #expect(e.groupName == "sealing/\(e.stage)" && !e.inheritEnvs && !e.autoRestart && e.envs == ["A": "1"])
            #expect(e.args == ["run", e.stage] && e.bin == "/usr/local/bin/\(e.stage)")
        }
        // Without limitation.concurrent the legacy table is the limit.
        let (legacy, _) = Self.load("[processors.limit]\npc1 = 3\n[[processors.pc1]]\nbin = \"/bin/true\"\n")
        #expect(legacy?.concurrent == ["pc1": 3])
    }

    @Test func staticTreeDSizesAreSectorSizes() throws {
        let (c, issues) = Self.load("""
        [processors.static_tree_d]
        32GB = "/a"
        3KiB = "/b"
        64GiB = "/c"
        [[processors.pc1]]
        bin = "/bin/true"
        """)
        #expect(c == nil)
        let bad = issues.filter { $0.severity == .error }
        #expect(bad.map(\.path).sorted() == ["processors.static_tree_d.32GB", "processors.static_tree_d.3KiB"], "\(issues)")
        #expect(bad.allSatisfy { $0.allowed == "2KiB, 8MiB, 512MiB, 32GiB, 64GiB" && $0.message.contains("not a sector size") })
        // A tree_d file that is missing on this machine is said (damocles-worker would not start).
        let (ok, _) = Self.load("[processors.static_tree_d]\n64GiB = \"/nonexistent/tree-d.dat\"\n[[processors.pc1]]\nbin = \"/bin/true\"\n")
        let (topology, eff) = try Self.epyc()
        let placement = ProcessorsPlacementCheck.check(try #require(ok), topology: topology, offered: eff.offeredCPUs,
                                                       osCores: eff.osCores, file: "p.toml")
        #expect(placement.contains { $0.severity == .warning && $0.path == "processors.static_tree_d.64GiB" && $0.value == "/nonexistent/tree-d.dat" },
                "\(placement)")
    }

    @Test func durationsAreHumantimeEverywhereInTheFile() throws {
        let (c, issues) = Self.load("""
        [processors.limitation.staggered]
        pc1 = "5min"
        [processors.limitation.deadline]
        c2 = "1h 30m"
        [processors.restart]
        initial_backoff = "500ms"
        max_backoff = "2min"
        [[processors.pc1]]
        bin = "/bin/true"
        stable_wait = "1min 30s"
        """)
        let config = try #require(c, "\(issues)")
        #expect(config.staggered["pc1"] == .seconds(300) && config.deadline["c2"] == .seconds(5400))
        #expect(config.restart.initialBackoff == .milliseconds(500) && config.restart.maxBackoff == .seconds(120))
        #expect(config.stages["pc1"]?[0].stableWait == .seconds(90))
        let (_, bad) = Self.load("[[processors.pc1]]\nbin = \"/bin/true\"\nstable_wait = \"5 fortnights\"\n")
        #expect(bad.contains { $0.path == "processors.pc1[0].stable_wait" && $0.value == "5 fortnights"
                               && $0.allowed?.contains("1h 30m") == true }, "\(bad)")
    }

    /// A whole damocles-worker.toml: its other sections are noted once, never errors.
    @Test func aWholeDamoclesWorkerFileLoads() throws {
        let (c, issues) = Self.load("""
        [worker]
        name = "worker-1"
        [sector_manager]
        rpc_client.addr = "/ip4/127.0.0.1/tcp/1789"
        [sealing]
        allowed_miners = [10123]
        [[sealing_thread]]
        location = "/mnt/nvme1/store1"
        [[attached]]
        name = "persist-store1"
        location = "/mnt/remote/10.0.0.14/store"
        [processors.limitation.concurrent]
        pc1 = 1
        [[processors.pc1]]
        [[processors.pc1]]
        bin = "/usr/local/bin/pc1"
        [[processors.c2]]
        """)
        let config = try #require(c, "\(issues)")
        let notes = issues.filter { $0.severity == .note }
        #expect(notes.count == 1, "\(issues)")
        #expect(notes.first?.message.contains("[attached], [sealing], [sealing_thread], [sector_manager], [worker]") == true)
        #expect(!issues.contains { $0.severity == .error })
        // Entries without bin: one warning per stage, saying what Corral needs.
        #expect(config.stagesWithoutBin == ["c2", "pc1"])
        let noBin = issues.filter { $0.message.contains("no bin") }
        #expect(noBin.map(\.path) == ["processors.c2", "processors.pc1"], "\(noBin)")
        #expect(noBin[0].message.contains("leaves stage c2 stopped") && noBin[1].message.contains("runs stage pc1 on its other processors"))
    }

    /// damocles' own published configs (its docs, examples and mock config):
    /// every one loads and checks on a machine big enough for its cpusets,
    /// with warnings only where they are really wrong. They are not copied
    /// here: point CORRAL_DAMOCLES_DIR at a clone of ipfs-force-community/damocles.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CORRAL_DAMOCLES_DIR"] != nil,
                   "set CORRAL_DAMOCLES_DIR to a clone of ipfs-force-community/damocles"))
    func damoclesPublishedConfigsLoad() throws {
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["CORRAL_DAMOCLES_DIR"]!)
        let configs = try DamoclesPublishedConfigs.all(in: dir)
        #expect(configs.count >= 20, "found \(configs.map(\.name))")
        let epyc = try Self.epyc()
        for config in configs {
            let (c, issues) = Self.load(config.text)
            let loaded = try #require(c, "\(config.name): \(issues.filter { $0.severity == .error })")
            let (topology, eff) = Self.machine(for: loaded, epyc: epyc)
            let placement = ProcessorsPlacementCheck.check(loaded, topology: topology, offered: eff.offeredCPUs,
                                                           osCores: eff.osCores, file: config.name)
            let errors = (issues + placement).filter { $0.severity == .error }
            #expect(errors.isEmpty, "\(config.name): \(errors)")
            if ProcessInfo.processInfo.environment["CORRAL_DAMOCLES_VERBOSE"] != nil { for w in (issues + placement) where w.severity == .warning { print("  \(w)") } }
            print("\(config.name): \(loaded.allEntries.count) processors on \(topology.cpus.count) CPUs in \(topology.numaNodes.count) nodes, "
                  + "\((issues + placement).filter { $0.severity == .warning }.count) warnings")
        }
    }

    /// The EPYC of the seed when the config fits it, else a two-socket machine
    /// with two threads per core, as many NUMA nodes as `numa_preferred` names
    /// and as many CPUs as the cpusets use (the examples' "48 cores, 8 nodes").
    static func machine(for c: ProcessorsConfig, epyc: (Topology, EffectiveResources)) -> (Topology, EffectiveResources) {
        let cpus = (c.allEntries.compactMap { $0.cpuset?.max() }.max() ?? 0) + 1
        let nodes = max(2, (c.allEntries.compactMap(\.numaPreferred).max() ?? 0) + 1)
        if cpus <= epyc.0.cpus.count && nodes <= epyc.0.numaNodes.count { return epyc }
        let perSocket = (nodes + 1) / 2
        let coresPerNode = max(1, (cpus + 2 * 2 * perSocket - 1) / (2 * 2 * perSocket))
        let t = Topology.synthetic(sockets: 2, nodesPerSocket: perSocket, coresPerNode: coresPerNode, threadsPerCore: 2)
        return (t, EffectiveResources.compute(topology: t, resources: ResourcesConfig(), hostname: "sealer-01").0)
    }
}
