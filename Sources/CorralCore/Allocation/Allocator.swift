/// Decides which CPUs, which NUMA node's memory and which GPUs each workload
/// gets, and keeps the books. A value type with no I/O: the executor holds one
/// inside an actor and persists every change.
///
/// Placement (pinned mode):
/// - `require`: a request's CPUs, memory and GPUs come from ONE NUMA node. Among
///   the nodes that can hold all three, the one with the fewest free CPUs wins
///   (ties: lowest id): best fit, so big holes stay open for big requests.
/// - `prefer`: as `require` when one node can hold it; otherwise the fewest
///   nodes that can, and among those the tightest fit.
/// - Inside the chosen nodes, CPUs are taken as the Kubernetes CPU manager's
///   static policy does in packed mode: whole NUMA nodes, then whole packages,
///   while the request still needs at least that many; then (Corral's addition,
///   like the kubelet's prefer-align-cpus-by-uncorecache) whole L3 groups; then
///   whole free physical cores; then single threads. At every level the
///   most-used unit that can still serve goes first (fewest free CPUs, ties by
///   lowest id), so a half-used core or L3 group is filled before a new one is
///   broken.
/// - `fullPhysicalCores`: only whole cores are handed out; a request is
///   rounded up to whole cores (``Allocation/roundedUpBy`` shows by how much).
///
/// Unpinned and over-provisioned modes count CPUs and memory against the
/// (multiplied) capacity and pin nothing. GPUs are always whole and counted.
///
/// Reserve and release are exact inverses; nothing is handed to two holders;
/// releasing twice is an error and changes nothing.
public struct Allocator: Sendable {
    public let resources: EffectiveResources
    public private(set) var allocations: [String: Allocation] = [:]
    /// Free pinned CPUs.
    public private(set) var freeCPUs: CPUSet
    /// Free memory per NUMA node (pinned mode).
    public private(set) var freeMemory: [Int: UInt64]
    public private(set) var freeGPUs: Set<Int>
    /// Free CPU count and memory in unpinned modes (virtual when over-provisioned).
    public private(set) var freeCPUCount: Int
    public private(set) var freeMemoryTotal: UInt64
    /// CPUs kept out of the offer for others (stage processor pools): never
    /// placed, but an allocation recorded before they were withheld can be
    /// adopted with them, so nothing running is lost.
    public let withheld: CPUSet
    /// Withheld CPUs held by adopted allocations.
    public private(set) var heldWithheld = CPUSet()

    let layouts: [NodeLayout]
    let index: MachineIndex

    public init(resources: EffectiveResources, withheld: CPUSet = CPUSet()) {
        self.resources = resources
        self.withheld = withheld
        freeCPUs = resources.nodes.reduce(CPUSet()) { $0.union($1.cpus) }
        freeMemory = Dictionary(uniqueKeysWithValues: resources.nodes.map { ($0.id, $0.memoryBytes) })
        freeGPUs = Set(resources.gpus.map(\.index))
        freeCPUCount = resources.totalCPUs
        freeMemoryTotal = resources.totalMemoryBytes
        let index = MachineIndex(offered: resources.nodes.reduce(CPUSet()) { $0.union($1.cpus) },
                                 topology: resources.topology)
        self.index = index
        layouts = resources.nodes.map { NodeLayout(offer: $0, index: index) }
    }

    public var isPinned: Bool { resources.mode == .pinned }

    // MARK: Reserve

    /// Reserves resources for `request` under `id`.
    public mutating func reserve(_ request: AllocationRequest, id: String) throws(AllocationError) -> Allocation {
        guard allocations[id] == nil else {
            throw AllocationError(.duplicateAllocation, "allocation \(id) already exists", context: ["id": id])
        }
        let a = try place(request, id: id)
        commit(a)
        return a
    }

    /// Where `request` would land now, without reserving anything.
    public func placement(for request: AllocationRequest) throws(AllocationError) -> Allocation {
        try place(request, id: "dry-run")
    }

    /// Takes back an allocation recorded earlier (after a restart), checking
    /// that every CPU, byte and GPU in it is still free and offered.
    public mutating func adopt(_ a: Allocation) throws(AllocationError) {
        guard allocations[a.id] == nil else {
            throw AllocationError(.duplicateAllocation, "allocation \(a.id) already exists", context: ["id": a.id])
        }
        if a.pinned {
            guard isPinned else {
                throw AllocationError(.conflict, "allocation \(a.id) is pinned but this executor does not pin")
            }
            let fromPool = a.cpus.intersection(withheld)
            let busy = a.cpus.subtracting(fromPool).subtracting(freeCPUs).union(fromPool.intersection(heldWithheld))
            guard busy.isEmpty else {
                throw AllocationError(.conflict, "allocation \(a.id) holds CPUs \(busy.listString) that are not free",
                                      context: ["id": a.id])
            }
            for (node, bytes) in a.memoryByNode where (freeMemory[node] ?? 0) < bytes {
                throw AllocationError(.conflict, "allocation \(a.id) holds more memory on node \(node) than is free",
                                      context: ["id": a.id])
            }
        } else {
            guard !isPinned else {
                throw AllocationError(.conflict, "allocation \(a.id) is unpinned but this executor pins")
            }
            guard a.cpuCount <= freeCPUCount, a.memoryBytes <= freeMemoryTotal else {
                throw AllocationError(.conflict, "allocation \(a.id) needs more than is free", context: ["id": a.id])
            }
        }
        let busyGPUs = Set(a.gpus).subtracting(freeGPUs)
        guard busyGPUs.isEmpty else {
            throw AllocationError(.conflict, "allocation \(a.id) holds GPUs \(busyGPUs.sorted()) that are not free",
                                  context: ["id": a.id])
        }
        commit(a)
    }

    mutating func commit(_ a: Allocation) {
        if a.pinned {
            freeCPUs.subtract(a.cpus)
            heldWithheld.formUnion(a.cpus.intersection(withheld))
            for (node, bytes) in a.memoryByNode { freeMemory[node]! -= bytes }
        } else {
            freeCPUCount -= a.cpuCount
            freeMemoryTotal -= a.memoryBytes
        }
        freeGPUs.subtract(a.gpus)
        allocations[a.id] = a
    }

    // MARK: Release

    /// Returns everything held under `id`. Releasing an unknown (or already
    /// released) id is an error and changes nothing.
    @discardableResult
    public mutating func release(_ id: String) throws(AllocationError) -> Allocation {
        guard let a = allocations.removeValue(forKey: id) else {
            throw AllocationError(.unknownAllocation, "no allocation \(id) is held (already released?)", context: ["id": id])
        }
        if a.pinned {
            // Withheld CPUs go back to their pools, not to the offer.
            freeCPUs.formUnion(a.cpus.subtracting(withheld))
            heldWithheld.subtract(a.cpus.intersection(withheld))
            for (node, bytes) in a.memoryByNode { freeMemory[node]! += bytes }
        } else {
            freeCPUCount += a.cpuCount
            freeMemoryTotal += a.memoryBytes
        }
        freeGPUs.formUnion(a.gpus)
        return a
    }

    // MARK: Placement

    func place(_ r: AllocationRequest, id: String) throws(AllocationError) -> Allocation {
        guard r.cpus >= 1 else {
            throw AllocationError(.invalidRequest, "a workload needs at least 1 CPU (asked for \(r.cpus))")
        }
        guard r.gpus >= 0 else { throw AllocationError(.invalidRequest, "GPU count cannot be negative") }
        if r.gpus > 0 && resources.gpus.isEmpty {
            throw AllocationError(.doesNotFit, "asked for \(r.summary), but this executor offers no GPUs"
                                  + " (resources.enableNvidiaGpu is false or no GPU was found)")
        }
        return isPinned ? try placePinned(r, id: id) : try placeCounted(r, id: id)
    }

    func placeCounted(_ r: AllocationRequest, id: String) throws(AllocationError) -> Allocation {
        guard r.cpus <= freeCPUCount, r.memoryBytes <= freeMemoryTotal, r.gpus <= freeGPUs.count else {
            let virtual = resources.mode == .overprovisioned ? " (over-provisioned capacity)" : ""
            throw AllocationError(.doesNotFit,
                                  "does not fit: asked for \(r.summary); free\(virtual): \(freeCPUCount) CPUs, "
                                  + "\(DataSize.human(freeMemoryTotal)) memory, \(freeGPUs.count) GPUs",
                                  context: ["asked": r.summary])
        }
        return Allocation(id: id, cpus: [], cpuCount: r.cpus, requestedCPUs: r.cpus, numaNodes: [],
                          memoryBytes: r.memoryBytes, memoryByNode: [:], gpus: Array(freeGPUs.sorted().prefix(r.gpus)),
                          pinned: false)
    }

    /// Free CPUs a node could give a request (whole free cores only, with fullPhysicalCores).
    /// Whether some NUMA node alone could take `cpus` CPUs and `memoryBytes`
    /// now (pinned mode); a quick check before a full placement. In unpinned
    /// modes: whether the counts fit.
    public func couldHoldOnOneNode(cpus n: Int, memoryBytes: UInt64) -> Bool {
        guard isPinned else { return n <= freeCPUCount && memoryBytes <= freeMemoryTotal }
        for l in layouts where (freeMemory[l.id] ?? 0) >= memoryBytes && capacity(l) >= n { return true }
        return false
    }

    /// The most CPUs one NUMA node could give a request now (pinned), or the free count (unpinned).
    public var largestNodeHole: Int {
        guard isPinned else { return freeCPUCount }
        return layouts.reduce(0) { max($0, capacity($1)) }
    }

    func capacity(_ l: NodeLayout) -> Int {
        if resources.fullPhysicalCores {
            return l.cores.reduce(0) { $0 + (index.coreCPUs[$1].isSubset(of: freeCPUs) ? index.coreCPUs[$1].count : 0) }
        }
        return l.cpus.intersectionCount(freeCPUs)
    }

    func freeGPUs(on l: NodeLayout) -> [Int] { l.gpus.filter { freeGPUs.contains($0) } }
    var freeFloatingGPUs: [Int] { resources.floatingGPUs.filter { freeGPUs.contains($0) } }

    func placePinned(_ r: AllocationRequest, id: String) throws(AllocationError) -> Allocation {
        let policy = r.numaPolicy ?? resources.numaPolicy
        let floating = freeFloatingGPUs.count
        let caps = layouts.map { capacity($0) }

        // One node: best fit.
        var best: Int? = nil
        for (i, l) in layouts.enumerated() {
            guard caps[i] >= r.cpus, (freeMemory[l.id] ?? 0) >= r.memoryBytes,
                  freeGPUs(on: l).count + floating >= r.gpus
            else { continue }
            if best == nil || caps[i] < caps[best!] { best = i }
        }
        if let b = best {
            return build(r, id: id, scope: [b])
        }
        if policy == .prefer, let scope = spanningScope(r, caps: caps) {
            return build(r, id: id, scope: scope)
        }
        throw refusal(r, policy: policy, caps: caps)
    }

    /// The fewest nodes that together hold the request, tightest fit first.
    func spanningScope(_ r: AllocationRequest, caps: [Int]) -> [Int]? {
        let n = layouts.count
        guard n > 1 else { return nil }
        let mem = layouts.map { freeMemory[$0.id] ?? 0 }
        let gpus = layouts.map { freeGPUs(on: $0).count }
        let floating = freeFloatingGPUs.count
        func feasible(_ s: [Int]) -> Bool {
            s.reduce(0) { $0 + caps[$1] } >= r.cpus && s.reduce(UInt64(0)) { $0 + mem[$1] } >= r.memoryBytes
                && s.reduce(0) { $0 + gpus[$1] } + floating >= r.gpus
        }
        if n <= 16 {
            for k in 2...n {
                var bestSet: [Int]? = nil
                var bestFree = Int.max
                var combo = Array(0..<k)
                while true {
                    if feasible(combo) {
                        let free = combo.reduce(0) { $0 + caps[$1] }
                        if free < bestFree { bestFree = free; bestSet = combo }
                    }
                    // Next combination in lexicographic order.
                    var i = k - 1
                    while i >= 0 && combo[i] == n - k + i { i -= 1 }
                    if i < 0 { break }
                    combo[i] += 1
                    for j in (i + 1)..<k { combo[j] = combo[j - 1] + 1 }
                }
                if let bestSet { return bestSet }
            }
            return nil
        }
        // Many nodes: the largest first until it fits.
        var chosen: [Int] = []
        for i in (0..<n).sorted(by: { caps[$0] != caps[$1] ? caps[$0] > caps[$1] : $0 < $1 }) {
            chosen.append(i)
            if feasible(chosen) { return chosen.sorted() }
        }
        return nil
    }

    func refusal(_ r: AllocationRequest, policy: NUMAPolicy, caps: [Int]) -> AllocationError {
        guard !layouts.isEmpty else {
            return AllocationError(.doesNotFit, "does not fit: asked for \(r.summary), but no NUMA node offers CPUs")
        }
        let byCPU = caps.indices.max { caps[$0] != caps[$1] ? caps[$0] < caps[$1] : $0 > $1 }!
        let byMem = layouts.indices.max { (freeMemory[layouts[$0].id] ?? 0) < (freeMemory[layouts[$1].id] ?? 0) }!
        let gpuMax = layouts.map { freeGPUs(on: $0).count }.max() ?? 0
        let scope = policy == .require ? "on one NUMA node (numaPolicy require)" : "on any set of NUMA nodes"
        let rounding = resources.fullPhysicalCores ? " in whole free cores" : ""
        var msg = "does not fit: asked for \(r.summary) \(scope); the most any node can offer: "
        msg += "\(caps[byCPU]) free CPUs\(rounding) (node \(layouts[byCPU].id)), "
        msg += "\(DataSize.human(freeMemory[layouts[byMem].id] ?? 0)) free memory (node \(layouts[byMem].id))"
        if r.gpus > 0 || !resources.gpus.isEmpty { msg += ", \(gpuMax + freeFloatingGPUs.count) free GPUs" }
        if policy == .require && layouts.count > 1 {
            let total = caps.reduce(0, +)
            if total >= r.cpus { msg += "; \(total) CPUs are free across all nodes: numaPolicy prefer could span them" }
        }
        return AllocationError(.doesNotFit, msg, context: ["asked": r.summary, "policy": policy.rawValue])
    }

    /// Chooses CPUs, memory and GPUs inside `scope` (indices into layouts),
    /// which is known to hold the request.
    func build(_ r: AllocationRequest, id: String, scope: [Int]) -> Allocation {
        let scoped = scope.map { layouts[$0] }
        var picker = CPUPicker(index: index, layouts: scoped, free: freeCPUs, wholeCores: resources.fullPhysicalCores)
        let cpus = picker.pick(r.cpus)

        // Memory: each node's share in proportion to the CPUs it gives, capped by
        // what it has free; the rest from the nodes with the most memory left.
        var memoryByNode: [Int: UInt64] = [:]
        if scoped.count == 1 {
            memoryByNode[scoped[0].id] = r.memoryBytes
        } else {
            var left = r.memoryBytes
            var room: [Int: UInt64] = [:]
            for l in scoped {
                let given: Int = l.cpus.intersectionCount(cpus)
                let fraction: Double = Double(given) / Double(cpus.count)
                let share = UInt64(Double(r.memoryBytes) * fraction)
                let free: UInt64 = freeMemory[l.id] ?? 0
                let take: UInt64 = min(share, free, left)
                memoryByNode[l.id] = take
                room[l.id] = (freeMemory[l.id] ?? 0) - take
                left -= take
            }
            for l in scoped.sorted(by: { room[$0.id]! > room[$1.id]! }) where left > 0 {
                let take = min(room[l.id]!, left)
                memoryByNode[l.id]! += take
                left -= take
            }
        }
        let nodes = scoped.filter { !$0.cpus.isDisjoint(with: cpus) || (memoryByNode[$0.id] ?? 0) > 0 }.map(\.id)

        var gpus: [Int] = []
        if r.gpus > 0 {
            let local = scoped.flatMap { freeGPUs(on: $0) }
            gpus = Array((local + freeFloatingGPUs).prefix(r.gpus))
        }
        return Allocation(id: id, cpus: cpus, cpuCount: cpus.count, requestedCPUs: r.cpus, numaNodes: nodes.sorted(),
                          memoryBytes: r.memoryBytes, memoryByNode: memoryByNode.filter { $0.value > 0 || scoped.count == 1 },
                          gpus: gpus, pinned: true)
    }
}

/// The offered CPUs' structure, precomputed once: cores, L3 groups and
/// packages as flat arrays, with each CPU's unit indices, so that picking CPUs
/// updates counters instead of building sets.
struct MachineIndex: Sendable {
    var coreCPUs: [CPUSet] = [], corePkg: [Int] = [], coreL3: [Int] = [], coreID: [Int] = []
    var l3CPUs: [CPUSet] = [], l3Pkg: [Int] = [], l3ID: [Int] = []
    var pkgCPUs: [CPUSet] = [], pkgID: [Int] = []
    /// Indexed by CPU id; -1 where the CPU is not offered (or has no such unit).
    var cpuCore: [Int] = [], cpuL3: [Int] = [], cpuPkg: [Int] = []

    init(offered: CPUSet, topology: Topology) {
        let size = (offered.last ?? -1) + 1
        cpuCore = Array(repeating: -1, count: size)
        cpuL3 = cpuCore
        cpuPkg = cpuCore
        var pkgIndex: [Int: Int] = [:], l3Index: [Int: Int] = [:], coreIndex: [Int: Int] = [:]
        for c in offered {
            let cpu = topology.cpu(c)
            let p = cpu?.package ?? -1
            if pkgIndex[p] == nil { pkgIndex[p] = pkgCPUs.count; pkgCPUs.append([]); pkgID.append(p) }
            let pi = pkgIndex[p]!
            pkgCPUs[pi].insert(c)
            cpuPkg[c] = pi
            var li = -1
            if let l = cpu?.l3 {
                if l3Index[l] == nil { l3Index[l] = l3CPUs.count; l3CPUs.append([]); l3Pkg.append(pi); l3ID.append(l) }
                li = l3Index[l]!
                l3CPUs[li].insert(c)
            }
            cpuL3[c] = li
            // A CPU with no known core is a core of its own.
            let k = cpu?.core ?? (1_000_000 + c)
            if coreIndex[k] == nil {
                coreIndex[k] = coreCPUs.count
                coreCPUs.append([]); corePkg.append(pi); coreL3.append(li); coreID.append(k)
            }
            coreCPUs[coreIndex[k]!].insert(c)
            cpuCore[c] = coreIndex[k]!
        }
    }
}

/// One NUMA node's offered CPUs and the units inside them.
struct NodeLayout: Sendable {
    let id: Int
    let cpus: CPUSet
    let gpus: [Int]
    /// Indices into the machine index.
    let cores: [Int]
    let l3s: [Int]
    let packages: [Int]

    init(offer: NodeOffer, index: MachineIndex) {
        id = offer.id
        cpus = offer.cpus
        gpus = offer.gpus
        var cores = Set<Int>(), l3s = Set<Int>(), pkgs = Set<Int>()
        for c in offer.cpus {
            cores.insert(index.cpuCore[c])
            if index.cpuL3[c] >= 0 { l3s.insert(index.cpuL3[c]) }
            pkgs.insert(index.cpuPkg[c])
        }
        self.cores = cores.sorted()
        self.l3s = l3s.sorted()
        self.packages = pkgs.sorted()
    }
}

/// The packed CPU choice inside a scope of one or more NUMA nodes.
struct CPUPicker {
    let index: MachineIndex
    let layouts: [NodeLayout]
    let wholeCores: Bool
    var avail: CPUSet
    var coreFree: [Int], l3Free: [Int], pkgFree: [Int]
    var taken = CPUSet()
    var remaining = 0

    init(index: MachineIndex, layouts: [NodeLayout], free: CPUSet, wholeCores: Bool) {
        self.index = index
        self.layouts = layouts
        self.wholeCores = wholeCores
        let scope = layouts.count == 1 ? layouts[0].cpus : layouts.reduce(CPUSet()) { $0.union($1.cpus) }
        avail = free.intersection(scope)
        coreFree = Array(repeating: 0, count: index.coreCPUs.count)
        l3Free = Array(repeating: 0, count: index.l3CPUs.count)
        pkgFree = Array(repeating: 0, count: index.pkgCPUs.count)
        for l in layouts {
            for c in l.cores { coreFree[c] = index.coreCPUs[c].intersectionCount(avail) }
            for u in l.l3s { l3Free[u] = index.l3CPUs[u].intersectionCount(avail) }
            for p in l.packages { pkgFree[p] = index.pkgCPUs[p].intersectionCount(avail) }
        }
    }

    mutating func take(_ cpus: CPUSet) {
        for c in cpus {
            avail.remove(c)
            coreFree[index.cpuCore[c]] -= 1
            if index.cpuL3[c] >= 0 { l3Free[index.cpuL3[c]] -= 1 }
            pkgFree[index.cpuPkg[c]] -= 1
        }
        taken.formUnion(cpus)
        remaining -= cpus.count
    }

    /// Takes whole units (all their CPUs free in scope, no more than still
    /// needed), in the order of their keys.
    mutating func takeWhole(_ units: [(key: (Int, Int, Int), cpus: CPUSet)], roundUp: Bool = false) {
        for u in units.sorted(by: { $0.key < $1.key }) where remaining > 0 {
            let size = u.cpus.count
            guard size > 0, roundUp || size <= remaining, u.cpus.isSubset(of: avail) else { continue }
            take(u.cpus)
        }
    }

    mutating func pick(_ n: Int) -> CPUSet {
        remaining = n
        let single = layouts.count == 1
        let cores = single ? layouts[0].cores : layouts.flatMap(\.cores)
        // 1. Whole NUMA nodes (only when a request spans nodes).
        if !single {
            takeWhole(layouts.map { (key: ($0.cpus.count, $0.id, 0), cpus: $0.cpus) })
        }
        // 2. Whole packages. A level whose units are all larger than what is
        // still needed is skipped without building its candidate list.
        let pkgs = single ? layouts[0].packages : Array(Set(layouts.flatMap(\.packages)))
        if remaining > 0, pkgs.contains(where: { pkgFree[$0] <= remaining && pkgFree[$0] == index.pkgCPUs[$0].count }) {
            takeWhole(pkgs.map { p in (key: (pkgFree[p], index.pkgID[p], 0), cpus: index.pkgCPUs[p]) })
        }
        // 3. Whole L3 groups, most-used package first.
        let l3s = single ? layouts[0].l3s : layouts.flatMap(\.l3s)
        if remaining > 0, l3s.contains(where: { l3Free[$0] <= remaining && l3Free[$0] == index.l3CPUs[$0].count }) {
            takeWhole(l3s.filter { l3Free[$0] == index.l3CPUs[$0].count }
                .map { u in (key: (pkgFree[index.l3Pkg[u]], l3Free[u], index.l3ID[u]), cpus: index.l3CPUs[u]) })
        }
        // 4. Whole free cores, most-used L3 group and package first. With
        // fullPhysicalCores the last core may give more than is still needed.
        if remaining > 0, wholeCores || cores.contains(where: { coreFree[$0] <= remaining && coreFree[$0] == index.coreCPUs[$0].count }) {
            let units = cores.filter { coreFree[$0] > 0 && coreFree[$0] == index.coreCPUs[$0].count }.map { c in
                (key: (index.coreL3[c] >= 0 ? l3Free[index.coreL3[c]] : 0, pkgFree[index.corePkg[c]], index.coreID[c]),
                 cpus: index.coreCPUs[c])
            }
            takeWhole(units, roundUp: wholeCores)
        }
        if wholeCores { return taken }
        // 5. Single threads: the core with the fewest free threads, in the
        // most-used L3 group and package, lowest id first.
        while remaining > 0 {
            var best = -1
            var bestKey = (Int.max, Int.max, Int.max, Int.max)
            for c in cores where coreFree[c] > 0 {
                let key = (coreFree[c], index.coreL3[c] >= 0 ? l3Free[index.coreL3[c]] : 0,
                           pkgFree[index.corePkg[c]], index.coreID[c])
                if key < bestKey { bestKey = key; best = c }
            }
            guard best >= 0, let cpu = index.coreCPUs[best].firstCommon(with: avail) else { break }
            take([cpu])
        }
        return taken
    }
}
