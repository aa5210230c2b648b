import CorralCore
import PropertyBased
import Testing

/// Invariants of the allocator over generated machines and random sequences
/// of reservations and releases.
@Suite struct AllocatorPropertyTests {
    struct Machine: CustomStringConvertible {
        var sockets: Int, nodesPerSocket: Int, coresPerNode: Int, threads: Int, coresPerL3: Int, gpusPerNode: Int
        var description: String {
            "\(sockets)s x \(nodesPerSocket)n x \(coresPerNode)c x \(threads)t, L3 \(coresPerL3), \(gpusPerNode) GPU/node"
        }
        var topology: Topology {
            .synthetic(sockets: sockets, nodesPerSocket: nodesPerSocket, coresPerNode: coresPerNode, threadsPerCore: threads,
                       coresPerL3: coresPerL3 == 0 ? nil : coresPerL3, memoryPerNode: 8 << 30, gpusPerNode: gpusPerNode)
        }
    }

    static let machines = zip(Gen.int(in: 1...3), Gen.int(in: 1...2), Gen.int(in: 1...6), Gen.int(in: 1...2),
                              Gen.int(in: 0...4), Gen.int(in: 0...2))
        .map { Machine(sockets: $0, nodesPerSocket: $1, coresPerNode: $2, threads: $3, coresPerL3: $4, gpusPerNode: $5) }

    static let ops = Gen.int(in: 0...999).array(of: 1...60)

    enum Mode: CaseIterable { case require, prefer, fullCores, unpinned, overprovisioned }

    static func allocator(_ m: Machine, _ mode: Mode, osCoreSeed: Int) -> Allocator {
        let t = m.topology
        var r = ResourcesConfig()
        r.enableNvidiaGpu = true
        r.exposedMemPercentage = 90
        // Keep one CPU for the OS on bigger machines.
        if t.cpus.count > 2 { r.osCores = [osCoreSeed % t.cpus.count] }
        switch mode {
        case .require: break
        case .prefer: r.numaPolicy = .prefer
        case .fullCores: r.fullPhysicalCores = true
        case .unpinned: r.disableNUMAPinning = true
        case .overprovisioned:
            r.disableNUMAPinning = true
            r.overProvisioning.enabled = true
            r.overProvisioning.cpuMultiplier = 3
            r.overProvisioning.memoryMultiplier = 2
        }
        return Allocator(resources: EffectiveResources.compute(topology: t, resources: r, hostname: "h").resources)
    }

    /// Everything the books must satisfy at every step.
    static func checkInvariants(_ a: Allocator, mode: Mode, context: String) {
        let res = a.resources
        let held = Array(a.allocations.values)
        if a.isPinned {
            var union = CPUSet()
            for x in held {
                #expect(union.isDisjoint(with: x.cpus), "CPUs handed to two holders: \(context)")
                union.formUnion(x.cpus)
                #expect(x.cpus.count == x.cpuCount)
                #expect(x.cpuCount >= x.requestedCPUs)
                if mode != .fullCores { #expect(x.cpuCount == x.requestedCPUs, "\(context)") }
                let nodeCPUs = x.numaNodes.reduce(CPUSet()) { $0.union(res.node($1)!.cpus) }
                #expect(x.cpus.isSubset(of: nodeCPUs), "CPUs outside the allocation's nodes: \(context)")
                if mode != .prefer { #expect(x.numaNodes.count == 1, "split across nodes under require: \(context)") }
                #expect(x.memoryByNode.values.reduce(0, +) == x.memoryBytes)
                for g in x.gpus {
                    let node = res.topology.gpus[g].numaNode
                    if mode != .prefer, let node { #expect(x.numaNodes.contains(node), "GPU off the CPUs' node: \(context)") }
                }
            }
            #expect(union.isDisjoint(with: a.freeCPUs))
            #expect(union.union(a.freeCPUs) == res.nodes.reduce(CPUSet()) { $0.union($1.cpus) }, "CPUs lost: \(context)")
            #expect(union.isDisjoint(with: res.osCores), "an OS core was handed out: \(context)")
            for n in res.nodes {
                let used = held.reduce(UInt64(0)) { $0 + ($1.memoryByNode[n.id] ?? 0) }
                #expect(used + a.freeMemory[n.id]! == n.memoryBytes, "memory lost on node \(n.id): \(context)")
            }
            if mode == .fullCores {
                for core in res.topology.cores {
                    let holders = held.filter { !$0.cpus.isDisjoint(with: core.cpus) }
                    #expect(holders.count <= 1, "a physical core shared by two holders: \(context)")
                }
            }
        } else {
            #expect(held.reduce(0) { $0 + $1.cpuCount } + a.freeCPUCount == res.totalCPUs)
            #expect(held.reduce(UInt64(0)) { $0 + $1.memoryBytes } + a.freeMemoryTotal == res.totalMemoryBytes)
            for x in held { #expect(x.cpus.isEmpty && !x.pinned) }
        }
        var gpus = Set<Int>()
        for x in held {
            #expect(gpus.isDisjoint(with: x.gpus), "GPU handed to two holders: \(context)")
            gpus.formUnion(x.gpus)
        }
        #expect(gpus.isDisjoint(with: a.freeGPUs))
        #expect(gpus.union(a.freeGPUs) == Set(res.gpus.map(\.index)))
    }

    /// Under require, a refusal is only allowed when no single node could hold the request.
    static func refusalWasJustified(_ a: Allocator, _ r: AllocationRequest, mode: Mode) -> Bool {
        let res = a.resources
        guard a.isPinned else {
            return r.cpus > a.freeCPUCount || r.memoryBytes > a.freeMemoryTotal || r.gpus > a.freeGPUs.count
        }
        for n in res.nodes {
            let cores = res.topology.cores.map { $0.cpus.intersection(n.cpus) }.filter { !$0.isEmpty }
            let cap = mode == .fullCores
                ? cores.filter { $0.isSubset(of: a.freeCPUs) }.reduce(0) { $0 + $1.count }
                : n.cpus.intersection(a.freeCPUs).count
            let gpus = n.gpus.filter { a.freeGPUs.contains($0) }.count + res.floatingGPUs.filter { a.freeGPUs.contains($0) }.count
            if cap >= r.cpus && a.freeMemory[n.id]! >= r.memoryBytes && gpus >= r.gpus { return false }
        }
        if mode == .prefer {
            let cap = a.freeCPUs.count
            let mem = a.freeMemory.values.reduce(0, +)
            if cap >= r.cpus && mem >= r.memoryBytes && a.freeGPUs.count >= r.gpus { return false }
        }
        return true
    }

    @Test(arguments: Mode.allCases)
    func randomSequencesKeepTheBooksExact(mode: Mode) async {
        await propertyCheck(count: 150, input: Self.machines, Self.ops) { machine, ops in
            var a = Self.allocator(machine, mode, osCoreSeed: ops.first ?? 0)
            let initial = (a.freeCPUs, a.freeMemory, a.freeGPUs, a.freeCPUCount, a.freeMemoryTotal)
            let maxCPUs = max(1, a.resources.totalCPUs / 2 + 1)
            var live: [String] = []
            var released: [String] = []
            for (step, op) in ops.enumerated() {
                let ctx = "\(machine), \(mode), step \(step)"
                if op < 650 || live.isEmpty {
                    let r = AllocationRequest(cpus: 1 + op % maxCPUs, memoryBytes: UInt64(op % 5) << 29,
                                              gpus: op % 9 == 0 ? 1 : 0)
                    let id = "w\(step)"
                    let before = (a.freeCPUs, a.freeMemory, a.freeGPUs, a.allocations.count)
                    do {
                        let x = try a.reserve(r, id: id)
                        #expect(x.requestedCPUs == r.cpus && x.memoryBytes == r.memoryBytes && x.gpus.count == r.gpus)
                        live.append(id)
                    } catch let error as AllocationError {
                        #expect(error.code == .doesNotFit, "\(ctx): \(error.message)")
                        #expect(Self.refusalWasJustified(a, r, mode: mode), "refused what fits: \(r.summary), \(ctx)")
                        #expect(a.freeCPUs == before.0 && a.freeMemory == before.1 && a.freeGPUs == before.2
                                && a.allocations.count == before.3, "a refusal changed state: \(ctx)")
                    } catch {
                        Issue.record("unexpected error \(error)")
                    }
                } else if op < 950 {
                    let id = live.remove(at: op % live.count)
                    #expect(throws: Never.self) { try a.release(id) }
                    released.append(id)
                } else if let gone = released.last {
                    let snapshot = (a.freeCPUs, a.freeMemory, a.allocations.count)
                    #expect(throws: AllocationError.self) { try a.release(gone) }
                    #expect(a.freeCPUs == snapshot.0 && a.freeMemory == snapshot.1 && a.allocations.count == snapshot.2)
                }
                Self.checkInvariants(a, mode: mode, context: ctx)
            }
            for id in live { #expect(throws: Never.self) { try a.release(id) } }
            #expect(a.allocations.isEmpty)
            #expect(a.freeCPUs == initial.0 && a.freeMemory == initial.1 && a.freeGPUs == initial.2
                    && a.freeCPUCount == initial.3 && a.freeMemoryTotal == initial.4, "release is not the inverse of reserve")
        }
    }

    @Test func adoptingRecordedAllocationsRebuildsTheSameBooks() async {
        await propertyCheck(count: 100, input: Self.machines, Self.ops) { machine, ops in
            var a = Self.allocator(machine, .require, osCoreSeed: 0)
            for (i, op) in ops.enumerated() {
                _ = try? a.reserve(AllocationRequest(cpus: 1 + op % 4, memoryBytes: UInt64(op % 3) << 28), id: "w\(i)")
            }
            var b = Self.allocator(machine, .require, osCoreSeed: 0)
            for x in a.allocations.values.sorted(by: { $0.id < $1.id }) {
                #expect(throws: Never.self) { try b.adopt(x) }
            }
            #expect(b.freeCPUs == a.freeCPUs)
            #expect(b.freeMemory == a.freeMemory)
            #expect(b.freeGPUs == a.freeGPUs)
            // Adopting any of them a second time must clash.
            if let x = a.allocations.values.first {
                var again = x
                again.id = "again"
                if !x.cpus.isEmpty || !x.gpus.isEmpty { #expect(throws: AllocationError.self) { try b.adopt(again) } }
            }
        }
    }
}
