import CorralCore
import Testing

/// Placement decisions on known machines.
@Suite struct AllocatorTests {
    static let gib: UInt64 = 1 << 30

    func allocator(_ t: Topology, _ configure: (inout ResourcesConfig) -> Void = { _ in }) -> Allocator {
        var r = ResourcesConfig()
        configure(&r)
        let (eff, issues) = EffectiveResources.compute(topology: t, resources: r, hostname: "test")
        #expect(!issues.contains { $0.severity == .error })
        return Allocator(resources: eff)
    }

    /// 2 sockets x 1 node x 4 cores x 2 threads: node 0 cpus 0-3,8-11; node 1 cpus 4-7,12-15.
    let small = Topology.synthetic(sockets: 2, coresPerNode: 4, threadsPerCore: 2, memoryPerNode: 16 << 30)

    @Test func wholeCoresBeforeThreadsAndSiblingsFilledFirst() throws {
        var a = allocator(small)
        let two = try a.reserve(AllocationRequest(cpus: 2), id: "a")
        #expect(two.cpus == [0, 8], "a 2-CPU request takes one whole core")
        let one = try a.reserve(AllocationRequest(cpus: 1), id: "b")
        // Best fit: node 0 now has fewer free CPUs, so it is chosen again.
        #expect(one.numaNodes == [0])
        let three = try a.reserve(AllocationRequest(cpus: 1), id: "c")
        #expect(one.cpus.union(three.cpus) == [1, 9], "the half-used core is filled before a new one is broken")
    }

    @Test func bestFitNodeKeepsBigHolesOpen() throws {
        var a = allocator(small)
        _ = try a.reserve(AllocationRequest(cpus: 6), id: "big")  // node 0: 2 left
        let s = try a.reserve(AllocationRequest(cpus: 2), id: "small")
        #expect(s.numaNodes == [0], "the tighter node takes the small request")
        let b = try a.reserve(AllocationRequest(cpus: 8), id: "whole-node")
        #expect(b.numaNodes == [1])
        #expect(b.cpus == [4, 5, 6, 7, 12, 13, 14, 15])
    }

    @Test func requireRefusesWhatNoSingleNodeHoldsAndSaysWhy() {
        var a = allocator(small)
        #expect(throws: AllocationError.self) { try a.reserve(AllocationRequest(cpus: 9), id: "x") }
        do {
            _ = try a.reserve(AllocationRequest(cpus: 9, memoryBytes: 2 * Self.gib), id: "x")
        } catch {
            #expect(error.code == .doesNotFit)
            #expect(error.message.contains("asked for 9 CPUs, 2 GiB memory"))
            #expect(error.message.contains("the most any node can offer: 8 free CPUs"))
            #expect(error.message.contains("numaPolicy prefer could span them"))
        }
        #expect(a.allocations.isEmpty)
        #expect(a.freeCPUs.count == 16)
    }

    @Test func memoryIsAccountedPerNode() throws {
        var a = allocator(small)
        _ = try a.reserve(AllocationRequest(cpus: 1, memoryBytes: 15 * Self.gib), id: "m1")
        // Node 0 has 1 GiB left: a 2 GiB request goes to node 1 even though node 0 is tighter.
        let m2 = try a.reserve(AllocationRequest(cpus: 1, memoryBytes: 2 * Self.gib), id: "m2")
        #expect(m2.numaNodes == [1])
        #expect(a.freeMemory[0] == 1 * Self.gib)
        #expect(a.freeMemory[1] == 14 * Self.gib)
        #expect(throws: AllocationError.self) {
            try a.reserve(AllocationRequest(cpus: 1, memoryBytes: 15 * Self.gib), id: "m3")
        }
    }

    @Test func preferSpansTheFewestNodes() throws {
        let t = Topology.synthetic(sockets: 4, coresPerNode: 4, memoryPerNode: 8 << 30)
        var a = allocator(t) { $0.numaPolicy = .prefer }
        _ = try a.reserve(AllocationRequest(cpus: 3), id: "n0")  // node 0: 1 free
        let span = try a.reserve(AllocationRequest(cpus: 6, memoryBytes: 12 * Self.gib), id: "span")
        #expect(span.numaNodes.count == 2)
        #expect(span.cpus.count == 6)
        #expect(span.memoryByNode.values.reduce(0, +) == 12 * Self.gib)
        // Whole nodes first: one full node plus part of another.
        let fullNodes = span.numaNodes.filter { n in t.node(n)!.cpus.isSubset(of: span.cpus) }
        #expect(fullNodes.count == 1)
        // A request that fits one node still gets one node under prefer.
        #expect(try a.reserve(AllocationRequest(cpus: 2), id: "one").numaNodes.count == 1)
    }

    @Test func perRequestPolicyOverridesTheNodes() throws {
        var a = allocator(small)
        let span = try a.reserve(AllocationRequest(cpus: 10, numaPolicy: .prefer), id: "s")
        #expect(span.numaNodes == [0, 1])
    }

    @Test func fullPhysicalCoresRoundsUpAndNeverSharesACore() throws {
        var a = allocator(small) { $0.fullPhysicalCores = true }
        let x = try a.reserve(AllocationRequest(cpus: 3), id: "x")
        #expect(x.cpuCount == 4)
        #expect(x.roundedUpBy == 1)
        let y = try a.reserve(AllocationRequest(cpus: 1), id: "y")
        #expect(y.cpuCount == 2)
        for c in x.cpus { #expect(!y.cpus.contains(c)) }
        // No core is split between two holders.
        for core in small.cores {
            let holders = [x, y].filter { !$0.cpus.isDisjoint(with: core.cpus) }
            #expect(holders.count <= 1)
            if let h = holders.first { #expect(core.cpus.isSubset(of: h.cpus)) }
        }
    }

    @Test func osCoresOfflineAndDisallowedCPUsAreNeverOffered() throws {
        var t = small
        t.cpus[3].online = false
        t.cpus[5].allowed = false
        var a = allocator(t) { $0.osCores = [0, 8] }
        var got = CPUSet()
        while let x = try? a.reserve(AllocationRequest(cpus: 1), id: "w\(got.count)") { got.formUnion(x.cpus) }
        #expect(got.count == 12)
        #expect(got.isDisjoint(with: [0, 8, 3, 5]))
    }

    @Test func gpusComeFromTheCPUsNode() throws {
        let t = Topology.synthetic(sockets: 2, coresPerNode: 4, gpusPerNode: 1)
        var a = allocator(t) { $0.enableNvidiaGpu = true }
        let g1 = try a.reserve(AllocationRequest(cpus: 1, gpus: 1), id: "g1")
        let g2 = try a.reserve(AllocationRequest(cpus: 1, gpus: 1), id: "g2")
        #expect(t.gpus[g1.gpus[0]].numaNode == g1.numaNodes[0])
        #expect(t.gpus[g2.gpus[0]].numaNode == g2.numaNodes[0])
        #expect(Set(g1.gpus + g2.gpus).count == 2)
        #expect(throws: AllocationError.self) { try a.reserve(AllocationRequest(cpus: 1, gpus: 1), id: "g3") }
        var noGPU = allocator(t)
        #expect(throws: AllocationError.self) { try noGPU.reserve(AllocationRequest(cpus: 1, gpus: 1), id: "g") }
    }

    @Test func unpinnedCountsWithoutPinning() throws {
        var a = allocator(small) { $0.disableNUMAPinning = true }
        let x = try a.reserve(AllocationRequest(cpus: 12, memoryBytes: 20 * Self.gib), id: "x")
        #expect(!x.pinned)
        #expect(x.cpus.isEmpty)
        #expect(a.freeCPUCount == 4)
        #expect(throws: AllocationError.self) { try a.reserve(AllocationRequest(cpus: 5), id: "y") }
    }

    @Test func overProvisioningMultipliesCapacity() throws {
        var a = allocator(small) {
            $0.disableNUMAPinning = true
            $0.overProvisioning.enabled = true
            $0.overProvisioning.cpuMultiplier = 4
            $0.overProvisioning.memoryMultiplier = 2
            $0.osCores = [0]
        }
        #expect(a.resources.mode == .overprovisioned)
        #expect(a.resources.totalCPUs == 15 * 4)
        #expect(a.resources.totalMemoryBytes == 64 * Self.gib)
        _ = try a.reserve(AllocationRequest(cpus: 60, memoryBytes: 64 * Self.gib), id: "all")
        #expect(throws: AllocationError.self) { try a.reserve(AllocationRequest(cpus: 1), id: "more") }
    }

    @Test func releaseIsTheInverseAndTwiceIsAnError() throws {
        var a = allocator(small)
        let before = (a.freeCPUs, a.freeMemory)
        _ = try a.reserve(AllocationRequest(cpus: 3, memoryBytes: Self.gib), id: "x")
        try a.release("x")
        #expect(a.freeCPUs == before.0)
        #expect(a.freeMemory == before.1)
        do {
            try a.release("x")
            Issue.record("second release must fail")
        } catch {
            #expect(error.code == .unknownAllocation)
        }
        #expect(a.freeCPUs == before.0)
    }

    @Test func duplicateIDsAreRefused() throws {
        var a = allocator(small)
        _ = try a.reserve(AllocationRequest(cpus: 1), id: "x")
        #expect(throws: AllocationError.self) { try a.reserve(AllocationRequest(cpus: 1), id: "x") }
        #expect(a.allocations.count == 1)
    }

    @Test func adoptChecksThatEverythingIsStillFree() throws {
        var a = allocator(small)
        let x = try a.reserve(AllocationRequest(cpus: 2, memoryBytes: Self.gib), id: "x")
        var b = allocator(small)
        try b.adopt(x)
        #expect(b.freeCPUs == a.freeCPUs)
        #expect(b.freeMemory == a.freeMemory)
        var clash = x
        clash.id = "y"
        #expect(throws: AllocationError.self) { try b.adopt(clash) }
    }

    /// CPUs withheld for stage processor pools: never placed, but an instance
    /// that held them before the pools were configured is adopted, and they
    /// go back to the pools (not to the offer) when it ends.
    @Test func withheldCPUsAreAdoptableButNeverPlaced() throws {
        var before = allocator(small)
        let x = try before.reserve(AllocationRequest(cpus: 2, memoryBytes: Self.gib), id: "x")
        let pool = x.cpus
        let (eff0, _) = EffectiveResources.compute(topology: small, resources: ResourcesConfig(), hostname: "test")
        var eff = eff0
        for i in eff.nodes.indices { eff.nodes[i].cpus.subtract(pool) }
        var a = Allocator(resources: eff, withheld: pool)
        #expect(a.freeCPUs.isDisjoint(with: pool))
        try a.adopt(x)
        #expect(a.heldWithheld == pool)
        var twice = x
        twice.id = "x2"
        #expect(throws: AllocationError.self) { try a.adopt(twice) }
        // Everything else placed: the pool's CPUs are never among them.
        var placed = CPUSet()
        var n = 0
        while let got = try? a.reserve(AllocationRequest(cpus: 1), id: "p\(n)") {
            placed.formUnion(got.cpus)
            n += 1
        }
        #expect(placed.isDisjoint(with: pool) && placed.union(pool).count == 16, "\(placed.listString)")
        try a.release("x")
        #expect(a.heldWithheld.isEmpty && a.freeCPUs.isDisjoint(with: pool), "back to the pools, not to the offer")
        #expect(throws: AllocationError.self) { try a.reserve(AllocationRequest(cpus: 1), id: "more") }
    }

    @Test func dryRunReservesNothing() throws {
        let a = allocator(small)
        let p = try a.placement(for: AllocationRequest(cpus: 4))
        #expect(p.cpus.count == 4)
        #expect(a.allocations.isEmpty)
        #expect(a.freeCPUs.count == 16)
    }

    @Test func multiSocketNodeTakesWholeSocketsFirst() throws {
        // Four packages share one NUMA node (like 96em64t): 8 CPUs = two whole packages.
        var cpus: [CPU] = []
        for p in 0..<4 {
            for c in 0..<4 {
                let id = p * 4 + c
                cpus.append(CPU(id: id, package: p, core: id, numaNode: 0, l3: p, siblings: [id]))
            }
        }
        let t = Topology(cpus: cpus, numaNodes: [NUMANode(id: 0, cpus: CPUSet(range: 0...15), memoryBytes: 1 << 34)])
        var a = allocator(t)
        _ = try a.reserve(AllocationRequest(cpus: 1), id: "one")  // breaks package 0
        let eight = try a.reserve(AllocationRequest(cpus: 8), id: "eight")
        #expect(eight.cpus == CPUSet(range: 4...11), "two whole untouched packages")
        let three = try a.reserve(AllocationRequest(cpus: 3), id: "three")
        #expect(three.cpus == [1, 2, 3], "the used package is filled before the free one is broken")
    }

    @Test func l3GroupsAreKeptTogether() throws {
        // EPYC-like: L3 groups of 3 cores, no SMT.
        let t = Topology.synthetic(sockets: 1, coresPerNode: 12, coresPerL3: 3)
        var a = allocator(t)
        let x = try a.reserve(AllocationRequest(cpus: 2), id: "x")
        #expect(x.cpus == [0, 1])
        let y = try a.reserve(AllocationRequest(cpus: 3), id: "y")
        #expect(y.cpus == [3, 4, 5], "a whole free L3 group, not the rest of a broken one plus another")
        let z = try a.reserve(AllocationRequest(cpus: 1), id: "z")
        #expect(z.cpus == [2], "the broken L3 group is filled first")
    }
}
