import CorralCore
import CorralHost
import Foundation
import Testing

/// Cases the recorded dumps lack, on fixture roots kept in this repository
/// (written by scripts/make-fixture-roots.py).
@Suite struct FixtureRootTests {
    static func root(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return url.path
    }

    @Test func gpusWithTheirNUMANodes() throws {
        let t = try TopologyReader(fsroot: Self.root("gpu-2s8c2t")).read()
        #expect(t.gpus.map(\.pciBus) == ["0000:3b:00.0", "0000:af:00.0", "0000:d8:00.0"])
        #expect(t.gpus.map(\.index) == [0, 1, 2])
        #expect(t.gpus.map(\.numaNode) == [0, 1, nil])
        #expect(t.gpus[0].model == "NVIDIA GeForce RTX 3080")
        #expect(t.gpus[2].uuid?.hasPrefix("GPU-") == true)
        #expect(t.gpus[1].minor == 1)
    }

    @Test func theCpusetCgroupNarrowsTheAllowedCPUsAndTheProcessAffinityDoesNot() throws {
        let t = try TopologyReader(fsroot: Self.root("gpu-2s8c2t")).read()
        // cgroup: 0-15,17-31 -> 16 is not allowed. status (the process's own
        // affinity, as systemd's CPUAffinity= sets it): 0-30 -> 31 is still
        // offered: a workload may be pinned there.
        #expect(t.onlineCPUs.count == 32)
        #expect(t.usableCPUs == (try CPUSet(list: "0-15,17-31")))
        #expect(t.cpu(16)?.allowed == false)
        #expect(t.cpu(31)?.allowed == true)
        #expect(t.cpu(0)?.siblings == [0, 16])
        #expect(t.l3Groups.count == 4)
        #expect(t.cpu(0)?.l3 == t.cpu(19)?.l3)
        #expect(t.cpu(0)?.l3 != t.cpu(4)?.l3)
    }

    @Test func oldKernelWithoutNodeDirectoryIsOneNode() throws {
        let t = try TopologyReader(fsroot: Self.root("old-kernel-no-numa")).read()
        #expect(t.numaNodes.count == 1)
        #expect(t.numaNodes[0].id == 0)
        #expect(t.numaNodes[0].memoryBytes == 16 << 30)
        #expect(t.onlineCPUs == [0, 1, 2, 4, 5, 6, 7], "per-CPU online files")
        #expect(t.cpu(3)?.online == false)
        #expect(t.cpu(0)?.siblings == [0, 4], "hex thread_siblings masks")
        #expect(t.cpu(3)?.numaNode == nil)
        #expect(t.cores.count == 4)
    }

    @Test func sparseIDsAndMemoryOnlyNodes() throws {
        let t = try TopologyReader(fsroot: Self.root("sparse-memoryless")).read()
        #expect(t.numaNodes.map(\.id) == [0, 1, 4, 6])
        #expect(t.node(4)?.cpus.isEmpty == true)
        #expect(t.node(4)?.memoryBytes == 16 << 30)
        #expect(t.node(6)?.memoryBytes == 0)
        let eff = EffectiveResources.compute(topology: t, resources: ResourcesConfig(), hostname: "h").resources
        #expect(eff.nodes.first { $0.id == 4 }?.cpus.isEmpty == true)
        var a = Allocator(resources: eff)
        // A request must never land on a node without CPUs.
        let x = try a.reserve(AllocationRequest(cpus: 1, memoryBytes: 1 << 30), id: "x")
        #expect(x.numaNodes != [4] && x.numaNodes != [6])
    }

    @Test func amdModuleSiblingsWithDistinctCoreIDsAreSeparateCores() throws {
        let t = try TopologyReader(fsroot: Self.root("amd-modules")).read()
        #expect(t.cores.count == 8)
        for c in t.cpus { #expect(c.siblings == [c.id]) }
    }

    @Test func coreIDsRepeatingAcrossDiesDoNotMergeCores() throws {
        let t = try TopologyReader(fsroot: Self.root("dies-repeat-core-id")).read()
        #expect(t.cores.count == 8)
        #expect(t.cpu(0)?.siblings == [0, 8])
        #expect(t.cpu(4)?.siblings == [4, 12], "core_id 0 appears twice in the package: siblings decide")
    }

    @Test func epyc7642CaseStudyMachine() throws {
        let t = try TopologyReader(fsroot: Self.root("epyc7642-2s48c")).read()
        #expect(t.packages == [0, 1])
        #expect(t.numaNodes.map(\.cpus) == [CPUSet(range: 0...47), CPUSet(range: 48...95)])
        #expect(t.l3Groups.count == 32)
        #expect(t.l3Groups.values.allSatisfy { $0.count == 3 })
        #expect(t.gpus.map(\.numaNode) == [0, 1])
        #expect(HostIdentity.hostname(configured: nil, root: FileSystemRoot(try Self.root("epyc7642-2s48c"))) == "sealer-01")
    }

    @Test func missingRootIsAClearError() {
        do {
            _ = try TopologyReader(fsroot: "/nonexistent/corral-root").read()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .topologyUnreadable)
            #expect(error.message.contains("/nonexistent/corral-root/sys/devices/system/cpu"))
        }
    }

    @Test func theRealMachineReads() throws {
        let t = try TopologyReader(fsroot: "/").read()
        #expect(!t.usableCPUs.isEmpty)
        #expect(t.numaNodes.contains { !$0.cpus.isEmpty })
        #expect(t.totalMemoryBytes > 0)
        // What this process's cpuset cgroup (v2) grants is what we call allowed.
        let cgroup = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        if let line = cgroup.split(separator: "\n").first(where: { $0.hasPrefix("0::") }),
           let text = try? String(contentsOfFile: "/sys/fs/cgroup" + line.dropFirst(3) + "/cpuset.cpus.effective", encoding: .utf8),
           !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let granted = try CPUSet(list: text.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(t.usableCPUs == granted.intersection(t.onlineCPUs))
        } else {
            #expect(t.usableCPUs == t.onlineCPUs)
        }
    }
}
