import CorralCore
import CorralHost
import Foundation
import Testing

/// `corral doctor`'s checks on fixture roots: a node prepared as the setup
/// guide says (every check OK) and one nobody prepared (each problem found,
/// with what was seen and the fix), and on this machine for real.
@Suite struct DoctorTests {
    typealias Check = DoctorFinding.Check

    static func run(_ fixture: String, _ configure: (inout ExecutorConfig) -> Void) throws -> [Check: DoctorFinding] {
        let root = FileSystemRoot(try FixtureRootTests.root(fixture))
        var config = ExecutorConfig()
        configure(&config)
        let t = try TopologyReader(root: root).read()
        let (eff, issues) = EffectiveResources.compute(topology: t, resources: config.resources, hostname: "h")
        #expect(!issues.contains { $0.severity == .error }, "\(issues)")
        let facts = NodeFactsReader(root: root).read(paths: [("state directory", "/var/lib/corral"), ("instance logs", "/var/log/corral")])
        let findings = NodeDoctor(facts: facts, resources: eff, config: config).run()
        // Every check is there once (storage once per path).
        #expect(Set(findings.map(\.check)).count == findings.count - (findings.filter { $0.check == .storage }.count - 1))
        return Dictionary(findings.filter { $0.check != .storage }.map { ($0.check, $0) }) { a, _ in a }
    }

    @Test func aPreparedNodePassesEveryCheck() throws {
        let f = try Self.run("epyc7642-2s48c") { c in
            c.resources.osCores = [0, 48]
            c.resources.exposedMemPercentage = 90
            c.resources.enableNvidiaGpu = true
        }
        for check in Check.allCases where ![.storage, .engine].contains(check) {
            let finding = try #require(f[check], "\(check.rawValue) ran")
            #expect(finding.status == .ok, "\(check.rawValue): \(finding.saw)")
            #expect(!finding.why.isEmpty)
        }
        #expect(f[.engine] == nil, "no engine asked on a recorded root")
        #expect(f[.pid1Affinity]?.saw.contains("PID 1 runs on CPUs 0,48") == true, "\(f[.pid1Affinity]?.saw ?? "")")
        #expect(f[.irqAffinity]?.saw.contains("none that can be moved") == true)
        #expect(f[.governor]?.saw == "performance on CPUs 1-47,49-95", "the workload CPUs")
        #expect(f[.gpus]?.saw.contains("toolkit /usr/bin/nvidia-ctk") == true)
        #expect(NodeDoctor.exitStatus(Array(f.values)) == 0)
    }

    @Test func anUnpreparedNodeIsToldWhatIsWrongAndHowToFixIt() throws {
        let f = try Self.run("gpu-2s8c2t") { c in
            c.resources.osCores = [0, 16]
            c.resources.enableNvidiaGpu = true
        }
        func expect(_ check: Check, _ status: DoctorFinding.Status, saw: String, fix: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
            let finding = f[check]
            #expect(finding?.status == status, "\(check.rawValue): \(finding?.status.rawValue ?? "missing")", sourceLocation: sourceLocation)
            #expect(finding?.saw.contains(saw) == true, "\(check.rawValue) saw: \(finding?.saw ?? "")", sourceLocation: sourceLocation)
            #expect(finding?.fix?.contains(fix) == true, "\(check.rawValue) fix: \(finding?.fix ?? "none")", sourceLocation: sourceLocation)
        }
        expect(.pid1Affinity, .fail, saw: "PID 1 may run on CPUs 0-31; 1-15,17-31 of them are offered", fix: "CPUAffinity=0 16 in /etc/systemd/system.conf")
        expect(.executorAffinity, .warn, saw: "may run on CPUs 0-30", fix: "CPUAffinity=0 16 in the [Service] section")
        expect(.engineAffinity, .warn, saw: "dockerd (pid 812) may run on CPUs 0-31", fix: "systemctl edit dockerd.service")
        expect(.isolcpus, .fail, saw: "isolcpus=0-3 includes OS cores 0", fix: "never osCores")
        expect(.irqAffinity, .warn, saw: "2 of 3 IRQs may be handled on workload cores: IRQ 24 (eth0-TxRx-0) on 0-31", fix: "/proc/irq/*/smp_affinity_list")
        expect(.irqbalance, .warn, saw: "irqbalance (pid 901) runs with no banned CPUs", fix: "IRQBALANCE_BANNED_CPULIST=1-15,17-31 in /etc/default/irqbalance")
        expect(.numaBalancing, .fail, saw: "kernel.numa_balancing = 1 on 2 NUMA nodes", fix: "kernel.numa_balancing = 0")
        expect(.transparentHugepages, .warn, saw: "[always]", fix: "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled")
        expect(.zoneReclaim, .warn, saw: "vm.zone_reclaim_mode = 1", fix: "vm.zone_reclaim_mode=0")
        expect(.memoryPerNode, .warn, saw: "exposedMemPercentage is 100", fix: "exposedMemPercentage to 90 or less")
        expect(.governor, .warn, saw: "powersave on CPUs", fix: "cpupower frequency-set -g performance")
        expect(.hiddenCPUs, .warn, saw: "CPUs 16 are outside the executor's cpuset", fix: "AllowedCPUs=0-31")
        expect(.openFiles, .fail, saw: "maxOpenFiles 470000 is above fs.nr_open 1024", fix: "sysctl -w fs.nr_open=470000")
        expect(.cgroups, .warn, saw: "no usable cgroup hierarchy", fix: "systemd.unified_cgroup_hierarchy=1")
        expect(.gpus, .warn, saw: "GPU 2 NVIDIA A2 on no NUMA node", fix: "nvidia-container-toolkit")
        #expect(f[.smt]?.status == .ok && f[.smt]?.saw.contains("fullPhysicalCores off") == true)
        #expect(NodeDoctor.exitStatus(Array(f.values)) == 1)
    }

    @Test func isolcpusFlagsAndMismatchesAreRead() {
        #expect(NodeDoctor.kernelCPUs("ro quiet isolcpus=domain,managed_irq,2-5,8", "isolcpus") == [2, 3, 4, 5, 8])
        #expect(NodeDoctor.kernelCPUs("ro isolcpus=nohz,1 nohz_full=1-3", "nohz_full") == [1, 2, 3])
        #expect(NodeDoctor.kernelCPUs("ro quiet", "isolcpus") == nil)
        #expect(NodeDoctor.hexMask([0, 16]) == "10001" && NodeDoctor.hexMask([0, 48]) == "10000,00000001")
        #expect((try? CPUSet(hexMask: NodeDoctor.hexMask([1, 33, 70]))) == [1, 33, 70], "reads back as the kernel writes it")
    }

    @Test func theSMTAndFullCoresMismatchIsAWarning() throws {
        let f = try Self.run("epyc7642-2s48c") { c in
            c.resources.osCores = [0, 48]
            c.resources.fullPhysicalCores = true
        }
        #expect(f[.smt]?.status == .warn && f[.smt]?.saw.contains("SMT is off and fullPhysicalCores is on") == true)
    }

    @Test func thisMachineReadsForReal() throws {
        let root = FileSystemRoot("/")
        let t = try TopologyReader(root: root).read()
        var config = ExecutorConfig()
        config.resources.osCores = [t.usableCPUs.sorted().first ?? 0]
        let (eff, _) = EffectiveResources.compute(topology: t, resources: config.resources, hostname: "h")
        let dir = FileManager.default.temporaryDirectory.path
        let facts = NodeFactsReader(root: root).read(paths: [("state directory", dir + "/corral-doctor-not-there/state")])
        #expect(facts.pid1Affinity != nil, "/proc/1/status reads")
        #expect(facts.selfAffinity != nil && facts.kernelCommandLine != nil && facts.openFilesHardLimit != nil)
        let findings = NodeDoctor(facts: facts, resources: eff, config: config).run()
        let storage = try #require(findings.first { $0.check == .storage })
        #expect(storage.saw.contains("measured at \(dir)"), "the nearest existing directory is measured: \(storage.saw)")
        #expect(findings.count >= Check.allCases.count - 2, "every check but engine and GPUs ran")
    }
}
