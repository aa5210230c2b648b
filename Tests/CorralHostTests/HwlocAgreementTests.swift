import CorralCore
import CorralHost
import Testing

/// Topology discovery must agree with lstopo on every recorded real machine.
@Suite struct HwlocAgreementTests {
    @Test func everyDumpAgreesWithLstopo() throws {
        guard let machines = try SharedFixtures.hwlocMachines() else { return }
        #expect(machines.count >= 10, "expected the ten hwloc dumps, found \(machines.count)")
        for m in machines {
            let topo = try TopologyReader(fsroot: m.root).read()
            let expected = LstopoConsole(m.console)
            let usable = topo.usableCPUs
            #expect(!expected.pus.isEmpty, "\(m.name): no PU parsed from the console")
            for (node, printed) in expected.nodeMemory {
                let ours = try #require(topo.node(node), "\(m.name): lstopo shows NUMA node \(node), we do not")
                // lstopo rounds to whole MiB/GiB: agree within 1%.
                let diff = Double(ours.memoryBytes) - Double(printed)
                #expect(abs(diff) <= Double(printed) * 0.01, "\(m.name) node \(node): \(ours.memoryBytes) vs \(printed)")
            }
            #expect(Set(usable) == Set(expected.pus.keys), "\(m.name): usable CPUs \(usable) vs lstopo \(CPUSet(expected.pus.keys))")
            for cpu in topo.cpus where cpu.usable {
                guard let pu = expected.pus[cpu.id] else { continue }
                #expect(cpu.package == pu.package, "\(m.name) cpu \(cpu.id): package \(String(describing: cpu.package)) vs \(String(describing: pu.package))")
                let ours = Set(cpu.siblings.intersection(usable))
                #expect(ours == pu.corePUs, "\(m.name) cpu \(cpu.id): core \(ours.sorted()) vs \(pu.corePUs.sorted())")
                let node = cpu.numaNode.flatMap { id in topo.node(id)?.memoryAllowed == true ? id : nil }
                #expect(node == pu.numaNode, "\(m.name) cpu \(cpu.id): node \(String(describing: node)) vs \(String(describing: pu.numaNode))")
            }
        }
    }
}
