import Foundation
import CorralCore
import CorralHost
import Testing

/// Topology discovery must agree with lstopo on every recorded real machine.
@Suite struct HwlocAgreementTests {
    @Test func everyDumpAgreesWithLstopo() throws {
        guard let machines = try SharedFixtures.hwlocMachines() else { return }
        #expect(machines.count >= 10, "expected the ten hwloc dumps, found \(machines.count)")
        try Self.agree(machines)
    }

    /// Every Linux dump of hwloc's own test suite (tests/hwloc/linux of a clone
    /// of open-mpi/hwloc, named by CORRAL_HWLOC_DIR; not copied here).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CORRAL_HWLOC_DIR"] != nil,
                   "set CORRAL_HWLOC_DIR to hwloc's tests/hwloc/linux"))
    func everyHwlocTestSuiteDumpAgreesWithLstopo() throws {
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["CORRAL_HWLOC_DIR"]!)
        let machines = try SharedFixtures.unpackedMachines(from: dir)
        #expect(machines.count >= 30, "found \(machines.map(\.name))")
        try Self.agree(machines)
    }

    static func agree(_ machines: [SharedFixtures.Machine]) throws {
        for m in machines {
            let problems = try disagreements(m)
            #expect(problems.isEmpty, "\(m.name): \(problems.count) disagreements with lstopo: \(problems.prefix(6).joined(separator: "; "))")
        }
    }

    /// Where the topology reader and lstopo's console output disagree on one machine.
    static func disagreements(_ m: SharedFixtures.Machine) throws -> [String] {
        var problems: [String] = []
        let topo = try TopologyReader(fsroot: m.root).read()
        let expected = LstopoConsole(m.console)
        let usable = topo.usableCPUs
        if expected.pus.isEmpty { problems.append("no PU parsed from the console") }
        for (node, printed) in expected.nodeMemory.sorted(by: { $0.key < $1.key }) {
            guard let ours = topo.node(node) else {
                problems.append("lstopo shows NUMA node \(node), we do not")
                continue
            }
            // lstopo rounds to its unit (whole MiB or GiB): agree within half of it, or 1%.
            let diff = Double(ours.memoryBytes) - Double(printed.bytes)
            if abs(diff) > max(Double(printed.bytes) * 0.01, Double(printed.unit) / 2) {
                problems.append("node \(node) memory \(ours.memoryBytes) vs \(printed.bytes)")
            }
        }
        if Set(usable) != Set(expected.pus.keys) {
            problems.append("usable CPUs \(usable) vs lstopo \(CPUSet(expected.pus.keys))")
        }
        for cpu in topo.cpus where cpu.usable {
            guard let pu = expected.pus[cpu.id] else { continue }
            // lstopo prints no P# for a package whose id the kernel does not give (s390, POWER).
            if let printed = pu.package, cpu.package != printed {
                problems.append("cpu \(cpu.id): package \(cpu.package.map(String.init) ?? "none") vs \(pu.package.map(String.init) ?? "none")")
            }
            let ours = Set(cpu.siblings.intersection(usable))
            if ours != pu.corePUs { problems.append("cpu \(cpu.id): core \(ours.sorted()) vs \(pu.corePUs.sorted())") }
            let node = cpu.numaNode.flatMap { id in topo.node(id)?.memoryAllowed == true ? id : nil }
            if node.map({ !pu.numaNodes.contains($0) }) ?? !pu.numaNodes.isEmpty {
                problems.append("cpu \(cpu.id): node \(node.map(String.init) ?? "none") vs \(pu.numaNodes.sorted())")
            }
        }
        return problems
    }
}
