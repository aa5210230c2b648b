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
}
