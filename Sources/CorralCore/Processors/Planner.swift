import Foundation

/// What `corral plan` is asked to fit on a machine: the stages, what one task
/// of each needs, and what to keep for the OS. Read from TOML:
///
///     os_cores = 2                 # whole cores kept for the OS and maintenance
///     strategy = "exclusive"       # or "shared"; --strategy overrides
///     memory_headroom = "5%"       # of each NUMA node kept free (or a size)
///
///     [stages.pc1]
///     cores = 2                    # physical cores per task
///     same_l3 = true               # a task's cores sit in one L3 group
///     memory = "64GiB"             # per task
///     minutes = 177                # how long a task takes (finds the bottleneck)
///     ratio = 28                   # or: wanted tasks at once relative to other stages
///     bin = "/usr/local/bin/damocles-worker"
///     envs = { FIL_PROOFS_USE_MULTICORE_SDR = "1" }
///
///     [stages.c2]
///     cores = 16
///     gpus = 1                     # 0 or 1 per task
///     count = 1                    # exactly this many at once (optional)
public struct PlanWorkload: Sendable, Hashable {
    public struct Stage: Sendable, Hashable {
        public var name: String
        public var cores: Int
        public var sameL3 = false
        public var memoryBytes: UInt64 = 0
        public var gpus = 0
        public var minutes: Double?
        /// Wanted share of tasks at once relative to other stages (e.g. pc1 28, c2 1).
        public var ratio: Double?
        public var count: Int?
        public var bin: String?
        public var args: [String]?
        public var envs: [String: String] = [:]

        public init(name: String, cores: Int) {
            self.name = name
            self.cores = cores
        }

        /// How far `n` tasks at once go toward this stage's share: n / ratio when
        /// a ratio is wanted, else tasks per minute (n / minutes). The stage
        /// with the least gets the next GPU or core group.
        func share(_ n: Int) -> Double {
            if let ratio { return Double(n) / ratio }
            return Double(n) / (minutes ?? 1)
        }
    }

    public enum Strategy: String, Sendable, CaseIterable {
        /// Each GPU stage has GPUs of its own (the seed's Scheme A).
        case exclusive
        /// Every GPU runs one processor of each GPU stage behind one lock (Scheme B).
        case shared
    }

    public var stages: [Stage] = []
    public var osCores = 0
    public var strategy: Strategy = .exclusive
    /// Fraction of each node's memory kept free (when `memoryHeadroomBytes` is nil).
    public var memoryHeadroomFraction = 0.05
    public var memoryHeadroomBytes: UInt64?

    public init() {}

    static let stageKeys = ["cores", "same_l3", "memory", "gpus", "minutes", "ratio", "count", "bin", "args", "envs"]

    /// Loads and checks a workload file; every problem is reported with its key.
    public static func load(text: String, file: String) -> (PlanWorkload?, [ConfigIssue]) {
        let (node, issues) = TOMLSource.tree(text: text, file: file)
        guard let node else { return (nil, issues) }
        let r = TOMLSource.reader(file: file)
        var w = PlanWorkload()
        if case .mapping(let entries) = node.value, let p = entries.first(where: { $0.key == "processors" }) {
            r.error("processors", p.value, "this is a processors config, not a workload; review it with `corral plan --explain FILE`",
                    allowed: "os_cores, strategy, memory_headroom, [stages.<name>]")
            return (nil, r.issues)
        }
        guard let top = r.mapping(node, at: "", known: ["os_cores", "strategy", "memory_headroom", "stages"]) else {
            return (nil, r.issues)
        }
        if let n = top["os_cores"], let v = r.int(n, at: "os_cores", in: 0...4096) { w.osCores = v }
        if let n = top["strategy"], let v = r.choice(n, at: "strategy", as: Strategy.self) { w.strategy = v }
        if let n = top["memory_headroom"], let s = r.string(n, at: "memory_headroom", nonEmpty: true) {
            if s.hasSuffix("%"), let p = Double(s.dropLast()), (0..<100).contains(p) {
                w.memoryHeadroomFraction = p / 100
            } else if let size = DataSize(parsing: s) {
                w.memoryHeadroomBytes = size.bytes
            } else {
                r.error("memory_headroom", n, value: s, "not a percentage or a size", allowed: "\"5%\" or \"32GiB\"")
            }
        }
        guard let stagesNode = top["stages"] else {
            r.error("stages", nil, "no [stages.<name>] tables", allowed: "[stages.pc1] with cores = N, ...")
            return (nil, r.issues)
        }
        guard let stages = r.mapping(stagesNode, at: "stages", known: ProcessorsConfigLoader.mappingKeys(stagesNode)) else {
            return (nil, r.issues)
        }
        let known = ProcessorsConfigLoader.knownStages
        let names = stages.entries.keys.sorted { a, b in
            (known.firstIndex(of: a) ?? Int.max, a) < (known.firstIndex(of: b) ?? Int.max, b)
        }
        for name in names {
            guard let sn = stages[name], let f = r.mapping(sn, at: stages.path(name), known: stageKeys) else { continue }
            guard let coresNode = f["cores"] else {
                r.error(f.path("cores"), sn, "missing: how many physical cores one task of \(name) needs", allowed: "an integer from 1")
                continue
            }
            guard let cores = r.int(coresNode, at: f.path("cores"), in: 1...4096) else { continue }
            var s = Stage(name: name, cores: cores)
            if let n = f["same_l3"], let v = r.bool(n, at: f.path("same_l3")) { s.sameL3 = v }
            if let n = f["memory"], let v = r.dataSize(n, at: f.path("memory")) { s.memoryBytes = v.bytes }
            if let n = f["gpus"], let v = r.int(n, at: f.path("gpus"), in: 0...1) { s.gpus = v }
            if let n = f["count"], let v = r.int(n, at: f.path("count"), in: 1...100_000) { s.count = v }
            if let n = f["minutes"], let v = r.positiveNumber(n, at: f.path("minutes"), allowed: "minutes per task, e.g. 177 or 12.5") {
                s.minutes = v
            }
            if let n = f["ratio"], let v = r.positiveNumber(n, at: f.path("ratio"), allowed: "e.g. 28 for pc1 and 1 for c2") {
                s.ratio = v
            }
            if let n = f["bin"], let v = r.string(n, at: f.path("bin"), nonEmpty: true) { s.bin = v }
            if let n = f["args"], let v = r.stringList(n, at: f.path("args")) { s.args = v }
            if let n = f["envs"], let v = r.stringMap(n, at: f.path("envs")) { s.envs = v }
            w.stages.append(s)
        }
        if w.stages.isEmpty && !r.hasErrors {
            r.error("stages", stagesNode, "no stages listed", allowed: "[stages.pc1] with cores = N, ...")
        }
        return (r.hasErrors ? nil : w, r.issues)
    }

    public static func load(path: String) -> (PlanWorkload?, [ConfigIssue]) {
        TOMLSource.load(path: path, load(text:file:))
    }
}

/// A processors scheme designed for a machine, with its explanation.
public struct ProcessorsPlan: Sendable {
    public struct Processor: Sendable, Hashable {
        public var stage: String
        public var cores: [Int]   // core indexes (Topology.cores)
        public var cpus: CPUSet
        public var node: Int
        public var concurrent: Int
        public var gpu: Int?
        public var lock: String?
    }
    public var processors: [Processor]
    /// Tasks at once per stage.
    public var concurrency: [String: Int]
    /// Tasks per hour per stage, when its `minutes` is known.
    public var throughput: [String: Double]
    public var bottleneck: String?
    public var osCPUs: CPUSet
    public var idleCPUs: CPUSet
    public var notes: [String]
    public var workload: PlanWorkload
}

public struct PlanError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    init(_ m: String) { message = m }
}

/// Designs a processors scheme: every cpuset inside one NUMA node with
/// `numa_preferred` on that node; tasks needing one L3 group packed group by
/// group; GPU processors on their GPU's node; no two pools sharing a core
/// unless they share a lock (strategy shared). Objective: the most tasks of
/// the bottleneck stage. See docs/plan.md for the rules.
public enum Planner {
    struct NodeCores {
        var node: Int
        var memory: UInt64
        /// L3 groups of offered whole cores, in core order.
        var groups: [[Int]]
        var coreCount: Int { groups.reduce(0) { $0 + $1.count } }
    }

    public static func plan(_ w: PlanWorkload, topology: Topology, offered: CPUSet) throws(PlanError) -> ProcessorsPlan {
        let cores = topology.cores.filter { $0.cpus.isSubset(of: offered) }
        let coreCPUs = Dictionary(uniqueKeysWithValues: cores.map { ($0.index, $0.cpus) })
        var nodes: [NodeCores] = []
        for n in topology.numaNodes.sorted(by: { $0.id < $1.id }) {
            let mine = cores.filter { $0.numaNode == n.id }
            guard !mine.isEmpty else { continue }
            var byGroup: [Int: [Int]] = [:]
            for c in mine { byGroup[c.l3 ?? -1, default: []].append(c.index) }
            let groups = byGroup.values.map { $0.sorted() }.sorted { $0[0] < $1[0] }
            let headroom = w.memoryHeadroomBytes ?? UInt64(Double(n.memoryBytes) * w.memoryHeadroomFraction)
            nodes.append(NodeCores(node: n.id, memory: n.memoryBytes > headroom ? n.memoryBytes - headroom : 0, groups: groups))
        }
        guard !nodes.isEmpty else { throw PlanError("no offered whole cores on this machine") }
        var notes: [String] = []

        // 1. GPU processors: which stage on which GPU.
        let gpuStages = w.stages.filter { $0.gpus > 0 }
        let cpuStages = w.stages.filter { $0.gpus == 0 }
        let gpus = topology.gpus.sorted { ($0.numaNode ?? 0, $0.index) < ($1.numaNode ?? 0, $1.index) }
        struct GPUGroup { var gpu: Int; var node: Int; var stages: [PlanWorkload.Stage] }
        var gpuGroups: [GPUGroup] = []
        func home(_ g: GPU) -> Int { g.numaNode.flatMap { n in nodes.contains { $0.node == n } ? n : nil } ?? nodes[0].node }
        if !gpuStages.isEmpty {
            guard !gpus.isEmpty else {
                throw PlanError("stages \(gpuStages.map(\.name).joined(separator: ", ")) need a GPU, and this machine has none")
            }
            switch w.strategy {
            case .exclusive:
                guard gpus.count >= gpuStages.count else {
                    throw PlanError("strategy exclusive gives each GPU stage a GPU of its own: \(gpuStages.count) GPU stages "
                                    + "(\(gpuStages.map(\.name).joined(separator: ", "))) but \(gpus.count) GPU(s); use --strategy shared")
                }
                var given: [String: Int] = [:]
                for g in gpus {
                    // The stage with the fewest tasks per hour (then fewest GPUs) gets the next GPU.
                    let open = gpuStages.filter { s in given[s.name, default: 0] < (s.count ?? Int.max) }
                    guard let s = open.min(by: { a, b in
                        let ta = a.share(given[a.name, default: 0]), tb = b.share(given[b.name, default: 0])
                        return (ta, given[a.name, default: 0]) < (tb, given[b.name, default: 0])
                    }) else { break }
                    given[s.name, default: 0] += 1
                    gpuGroups.append(GPUGroup(gpu: g.index, node: home(g), stages: [s]))
                }
                for s in gpuStages where given[s.name, default: 0] == 0 {
                    throw PlanError("stage \(s.name) got no GPU (count limits left none); use --strategy shared")
                }
            case .shared:
                gpuGroups = gpus.map { GPUGroup(gpu: $0.index, node: home($0), stages: gpuStages) }
            }
        }

        // 2. Cores the GPU groups and the OS need, per node.
        var needs: [Int: Int] = [:]
        for g in gpuGroups { needs[g.node, default: 0] += g.stages.map(\.cores).max() ?? 0 }
        let osNode = nodes[0].node
        needs[osNode, default: 0] += w.osCores

        // 3. CPU stages, group by group, the stage with the fewest tasks per hour first.
        var used: [String: [Int: [Int]]] = [:]          // stage -> node -> cores of its tasks
        var leftovers: [Int: [Int]] = [:]               // node -> cores in partly used groups
        var wholeFree: [Int: [Int]] = [:]               // node -> cores of untouched groups
        var memoryLeft = Dictionary(uniqueKeysWithValues: nodes.map { ($0.node, $0.memory) })
        func tasks(_ s: PlanWorkload.Stage, on node: Int) -> Int { (used[s.name]?[node]?.count ?? 0) / s.cores }
        func total(_ s: PlanWorkload.Stage) -> Int { (used[s.name]?.values.reduce(0) { $0 + $1.count } ?? 0) / s.cores }
        func rate(_ s: PlanWorkload.Stage) -> Double { s.share(total(s)) }
        // Cores a node can give CPU stages and still meet its GPU and OS needs.
        var spare = Dictionary(uniqueKeysWithValues: nodes.map { ($0.node, $0.coreCount - needs[$0.node, default: 0]) })
        for n in nodes where spare[n.node]! < 0 {
            throw PlanError("NUMA node \(n.node) has \(n.coreCount) offered cores; its GPU processors and OS cores need \(needs[n.node, default: 0])")
        }
        // Interleave nodes so that counts and memory spread evenly.
        var cursor = Dictionary(uniqueKeysWithValues: nodes.map { ($0.node, 0) })
        var progress = true
        while progress && !cpuStages.isEmpty {
            progress = false
            for n in nodes {
                let gi = cursor[n.node]!
                guard gi < n.groups.count else { continue }
                let group = n.groups[gi]
                var free = group
                var placedAny = false
                // Fill this group: each task goes to the slowest stage that still fits.
                while true {
                    let fits = cpuStages.filter { s in
                        total(s) < (s.count ?? Int.max)
                            && s.cores <= free.count
                            && (s.memoryBytes == 0 || memoryLeft[n.node]! >= s.memoryBytes)
                            // Taking these cores must leave enough spare cores for the node's GPU and OS needs.
                            && spare[n.node]! - s.cores >= 0
                    }
                    guard let s = fits.min(by: { (rate($0), $0.name) < (rate($1), $1.name) }) else { break }
                    let take = Array(free.prefix(s.cores))
                    free.removeFirst(s.cores)
                    used[s.name, default: [:]][n.node, default: []] += take
                    memoryLeft[n.node]! -= s.memoryBytes
                    spare[n.node]! -= s.cores
                    placedAny = true
                }
                cursor[n.node] = gi + 1
                if placedAny {
                    leftovers[n.node, default: []] += free
                } else {
                    wholeFree[n.node, default: []] += group
                }
                progress = true
            }
        }
        for n in nodes {
            for gi in (cursor[n.node] ?? 0)..<n.groups.count { wholeFree[n.node, default: []] += n.groups[gi] }
        }
        let widest = nodes.flatMap(\.groups).map(\.count).max() ?? 0
        for s in cpuStages where total(s) == 0 && s.cores > widest {
            throw PlanError("stage \(s.name): tasks are packed inside L3 groups (the largest here has \(widest) cores); "
                            + "a task of \(s.cores) cores does not fit one")
        }
        for s in cpuStages where total(s) == 0 {
            throw PlanError("stage \(s.name) does not fit: one task needs \(s.cores) cores"
                            + (s.memoryBytes > 0 ? " and \(DataSize.human(s.memoryBytes))" : "")
                            + " after the GPU processors and OS cores are placed")
        }
        for s in cpuStages {
            if let c = s.count, total(s) < c { notes.append("stage \(s.name): only \(total(s)) of the \(c) tasks asked for fit") }
            if s.memoryBytes > 0, nodes.contains(where: { memoryLeft[$0.node]! < s.memoryBytes && spare[$0.node]! >= s.cores }) {
                notes.append("stage \(s.name) is limited by memory: \(DataSize.human(s.memoryBytes)) per task")
            }
        }

        // 4. Cores for GPU groups: leftovers of partly used groups first, then whole groups.
        var pool: [Int: [Int]] = [:]
        for n in nodes { pool[n.node] = (leftovers[n.node] ?? []) + (wholeFree[n.node] ?? []) }
        var processors: [ProcessorsPlan.Processor] = []
        for g in gpuGroups {
            let width = g.stages.map(\.cores).max() ?? 0
            let take = Array(pool[g.node]!.prefix(width))
            pool[g.node]!.removeFirst(min(width, pool[g.node]!.count))
            let lock = g.stages.count > 1 ? "gpu\(g.gpu)" : nil
            for s in g.stages {
                let mine = Array(take.prefix(s.cores))
                processors.append(.init(stage: s.name, cores: mine, cpus: cpus(mine, coreCPUs), node: g.node,
                                        concurrent: 1, gpu: g.gpu, lock: lock))
            }
        }
        // 5. OS cores from what is left on the first node (the end of it).
        let osCores = Array(pool[osNode]!.suffix(w.osCores))
        pool[osNode]!.removeLast(osCores.count)
        for s in cpuStages {
            for n in nodes {
                let k = tasks(s, on: n.node)
                guard k > 0 else { continue }
                let mine = used[s.name]![n.node]!.sorted()
                processors.append(.init(stage: s.name, cores: mine, cpus: cpus(mine, coreCPUs), node: n.node,
                                        concurrent: k, gpu: nil, lock: nil))
            }
        }
        let order = w.stages.map(\.name)
        processors.sort { (order.firstIndex(of: $0.stage)!, $0.node, $0.cores.first ?? 0) < (order.firstIndex(of: $1.stage)!, $1.node, $1.cores.first ?? 0) }
        var concurrency: [String: Int] = [:]
        for s in w.stages {
            concurrency[s.name] = s.gpus > 0 ? processors.filter { $0.stage == s.name }.count : total(s)
        }
        var throughput: [String: Double] = [:]
        for s in w.stages { if let m = s.minutes { throughput[s.name] = Double(concurrency[s.name]!) * 60 / m } }
        if w.strategy == .shared {
            // Stages sharing a GPU take turns: per GPU one task of each per round.
            let round = gpuStages.compactMap(\.minutes).reduce(0, +)
            if round > 0, gpuStages.allSatisfy({ $0.minutes != nil }) {
                for s in gpuStages { throughput[s.name] = Double(gpuGroups.count) * 60 / round }
            }
        }
        let bottleneck = throughput.count == w.stages.count ? throughput.min { ($0.value, $0.key) < ($1.value, $1.key) }?.key : nil
        let idle = pool.values.flatMap { $0 }.sorted()
        return ProcessorsPlan(processors: processors, concurrency: concurrency, throughput: throughput, bottleneck: bottleneck,
                              osCPUs: cpus(osCores, coreCPUs), idleCPUs: cpus(idle, coreCPUs), notes: notes, workload: w)
    }

    static func cpus(_ cores: [Int], _ map: [Int: CPUSet]) -> CPUSet {
        cores.reduce(CPUSet()) { $0.union(map[$1] ?? []) }
    }
}

extension ProcessorsPlan {
    /// The damocles `[processors]` TOML of the plan.
    public func toml() -> String {
        var out = "# Written by `corral plan` (strategy \(workload.strategy.rawValue)). Check it: corral processors check FILE\n\n"
        out += "[processors.limitation.concurrent]\n"
        for s in workload.stages { out += "\(s.name) = \(concurrency[s.name] ?? 0)\n" }
        let locks = Set(processors.compactMap(\.lock)).sorted()
        if !locks.isEmpty {
            out += "\n[processors.ext_locks]\n"
            for l in locks { out += "\(l) = 1\n" }
        }
        for p in processors {
            let s = workload.stages.first { $0.name == p.stage }!
            out += "\n[[processors.\(p.stage)]]\n"
            if let bin = s.bin { out += "bin = \(Self.quote(bin))\n" }
            if let args = s.args { out += "args = [\(args.map(Self.quote).joined(separator: ", "))]\n" }
            out += "numa_preferred = \(p.node)\n"
            out += "cgroup.cpuset = \"\(p.cpus.listString)\"\n"
            out += "concurrent = \(p.concurrent)\n"
            if let lock = p.lock { out += "locks = [\"\(lock)\"]\n" }
            var envs = s.envs
            if let g = p.gpu { envs["CUDA_VISIBLE_DEVICES"] = String(g) }
            if !envs.isEmpty {
                out += "envs = { " + envs.keys.sorted().map { "\($0) = \(Self.quote(envs[$0]!))" }.joined(separator: ", ") + " }\n"
            }
        }
        return out
    }

    static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// The plan in plain words.
    public func explanation(topology: Topology) -> String {
        var out = ""
        for s in workload.stages {
            let mine = processors.filter { $0.stage == s.name }
            let n = concurrency[s.name] ?? 0
            out += "\(s.name): \(n) at once"
            if let t = throughput[s.name] { out += String(format: ", %.1f tasks/hour", t) }
            out += "\n"
            for p in mine {
                out += "  node \(p.node): cpus \(p.cpus.listString) (\(p.cores.count) cores), \(p.concurrent) at once"
                if let g = p.gpu { out += ", GPU \(g)" }
                if let l = p.lock { out += ", shares it behind lock \(l)" }
                if s.sameL3 && p.gpu == nil { out += ", \(s.cores) cores per task in one L3 group" }
                out += "\n"
            }
        }
        out += "OS and maintenance: " + (osCPUs.isEmpty ? "none kept" : "cpus \(osCPUs.listString) (set resources.osCores in the executor YAML)") + "\n"
        out += "Left over: " + (idleCPUs.isEmpty ? "nothing" : "cpus \(idleCPUs.listString)") + "\n"
        if let b = bottleneck, let t = throughput[b] {
            out += "Bottleneck: \(b) at " + String(format: "%.1f", t) + " tasks/hour"
            let others = throughput.filter { $0.key != b }.map { "\($0.key) " + String(format: "%.1f", $0.value) }.sorted()
            if !others.isEmpty { out += " (" + others.joined(separator: ", ") + ")" }
            out += "\n"
        } else {
            out += "Bottleneck: unknown (give each stage `minutes`)\n"
        }
        for n in notes { out += "Note: \(n)\n" }
        return out
    }
}

/// `corral plan --explain`: an existing processors config in plain words.
public enum ProcessorsReview {
    public static func explain(_ c: ProcessorsConfig, issues: [ConfigIssue], topology: Topology, offered: CPUSet,
                               file: String) -> String {
        let groups = topology.l3Groups
        var out = "\(file): \(c.allEntries.count) processors in \(c.stageNames.count) stages\n"
        var owners: [Int: [String]] = [:]  // cpu -> processors
        var usedGPUs: Set<Int> = []
        for stage in c.stageNames {
            let limit = c.concurrent[stage].map { "at most \($0) at once" } ?? "no stage limit"
            out += "\(stage): \(limit)\n"
            for e in c.stages[stage] ?? [] {
                var line = "  \(e.name): "
                if let set = e.cpuset {
                    for cpu in set { owners[cpu, default: []].append(e.name) }
                    let nodes = Set(set.compactMap { topology.cpu($0)?.numaNode }).sorted()
                    line += "cpus \(set.listString) (\(set.count)) on node \(nodes.map { String($0) }.joined(separator: "+"))"
                    let touched = Set(set.compactMap { topology.cpu($0)?.l3 })
                    let whole = touched.filter { groups[$0].map { $0.isSubset(of: set) } ?? false }.count
                    if !touched.isEmpty { line += ", \(touched.count) L3 groups (\(whole) whole)" }
                } else {
                    line += "any CPU (no cpuset: not pinned)"
                }
                line += e.numaPreferred.map { ", memory from node \($0)" } ?? ", memory from anywhere"
                line += e.concurrent.map { ", \($0) at once" } ?? ", no per-processor limit"
                if let v = e.envs["CUDA_VISIBLE_DEVICES"] {
                    usedGPUs.formUnion(e.gpus)
                    line += ", GPU \(v)"
                }
                if !e.locks.isEmpty { line += ", locks \(e.locks.joined(separator: ", "))" }
                out += line + "\n"
            }
        }
        let idle = offered.subtracting(CPUSet(owners.keys))
        out += "Wasted: " + (idle.isEmpty ? "no offered CPU is idle" : "offered cpus \(idle.listString) (\(idle.count)) run no processor")
        let unusedGPUs = topology.gpus.map(\.index).filter { !usedGPUs.contains($0) }
        if !unusedGPUs.isEmpty { out += "; GPU \(unusedGPUs.map { String($0) }.joined(separator: ", ")) never named in CUDA_VISIBLE_DEVICES" }
        out += "\n"
        var split: [String] = []
        for cpus in groups.sorted(by: { $0.key < $1.key }).map(\.value) {
            let names = Set(cpus.flatMap { owners[$0] ?? [] })
            if names.count > 1 { split.append("L3 group \(cpus.listString): \(names.sorted().joined(separator: ", "))") }
        }
        if !split.isEmpty {
            out += "Shared L3 groups (\(split.count)): " + split.prefix(6).joined(separator: "; ")
                + (split.count > 6 ? "; and \(split.count - 6) more" : "") + "\n"
        }
        let problems = issues.filter { $0.severity == .error } + issues.filter { $0.severity == .warning }
        if problems.isEmpty {
            out += "Conflicts: none found\n"
        } else {
            out += "Conflicts:\n"
            for p in problems { out += "  \(p.severity.rawValue): \(p.path): \(p.message)\n" }
        }
        return out
    }
}
