import Foundation

/// damocles-worker's `[processors]` section, loaded as users wrote it, plus
/// Corral's additions (all optional): `limitation.deadline` (a default per-job
/// deadline per stage) and `restart` (backoff and crash-loop limit).
public struct ProcessorsConfig: Sendable {
    /// Stage tokens: at most this many jobs of the stage run at once (absent: no limit).
    public var concurrent: [String: Int] = [:]
    /// At most one start of the stage per interval.
    public var staggered: [String: ConfigDuration] = [:]
    /// Default deadline per job of the stage (absent: none; a job can set its own).
    public var deadline: [String: ConfigDuration] = [:]
    /// Named counting locks.
    public var locks: [String: Int] = [:]
    /// The processors of each stage, in file order.
    public var stages: [String: [ProcessorEntry]] = [:]
    public var restart = RestartPolicy()
    /// `[processors.static_tree_d]`: sector size in bytes -> the static tree_d
    /// file damocles' processors use for CC sectors of that size (not a stage).
    public var staticTreeD: [UInt64: String] = [:]

    public init() {}

    /// The stages some of whose processors have no `bin` (damocles would run
    /// its built-in processor; Corral has none and cannot start them).
    public var stagesWithoutBin: [String] {
        stageNames.filter { stages[$0]?.contains { $0.bin == nil } ?? false }
    }

    /// Stages in a stable order.
    public var stageNames: [String] { stages.keys.sorted() }

    /// Every processor, stage by stage.
    public var allEntries: [ProcessorEntry] { stageNames.flatMap { stages[$0] ?? [] } }
}

/// One `[[processors.<stage>]]` table: one child process.
public struct ProcessorEntry: Sendable, Hashable {
    public var stage: String
    /// Position among its stage's processors (0-based).
    public var index: Int
    public var bin: String?
    public var args: [String]?
    public var stableWait = ConfigDuration.seconds(5)
    public var cpuset: CPUSet?
    public var groupName = "vc-worker"
    public var numaPreferred: Int?
    /// Jobs it runs at once (nil: no limit, as damocles reads it).
    public var concurrent: Int?
    public var envs: [String: String] = [:]
    public var inheritEnvs = true
    public var locks: [String] = []
    public var autoRestart = true

    public init(stage: String, index: Int) {
        self.stage = stage
        self.index = index
    }

    /// `pc1#0`, for messages and the API.
    public var name: String { "\(stage)#\(index)" }

    /// The GPUs its `CUDA_VISIBLE_DEVICES` names (how damocles configs give a processor its GPU).
    public var gpus: [Int] {
        (envs["CUDA_VISIBLE_DEVICES"] ?? "").split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }
    /// The key path of this entry in the file.
    public var path: String { "processors.\(stage)[\(index)]" }
}

/// How a dead processor is brought back: exponential backoff with jitter,
/// stopped after `crashLoopLimit` deaths in a row without a completed job.
public struct RestartPolicy: Sendable, Hashable {
    public var initialBackoff = ConfigDuration.seconds(1)
    public var maxBackoff = ConfigDuration.seconds(60)
    public var crashLoopLimit = 5
    public init() {}
}

public enum ProcessorsConfigLoader {
    static let entryKeys = ["bin", "args", "stable_wait", "cgroup", "numa_preferred", "concurrent", "envs",
                            "inherit_envs", "locks", "auto_restart"]
    /// Keys of the `[processors]` table that are not stages.
    static let reserved = ["limitation", "limit", "ext_locks", "static_tree_d", "restart"]
    /// The sector sizes damocles seals (`seal_types_from_u64`), the keys `static_tree_d` accepts.
    public static let sectorSizes: [(name: String, bytes: UInt64)] = [
        ("2KiB", 2 << 10), ("8MiB", 8 << 20), ("512MiB", 512 << 20), ("32GiB", 32 << 30), ("64GiB", 64 << 30),
    ]
    /// The stage names damocles-worker uses; others are accepted with a warning.
    public static let knownStages = ["add_pieces", "tree_d", "pc1", "pc2", "c1", "c2", "snap_encode", "snap_prove",
                                     "transfer", "unseal", "window_post", "winning_post", "synth_proof", "sealing_daemons"]
    /// Top-level sections of a whole damocles-worker file: not Corral's to read.
    static let workerSections = ["worker", "metrics", "sector_manager", "rpc", "sealing", "sealing_thread", "attached",
                                 "attached_selection", "common", "remote_store", "persist_store", "sealing_daemons"]

    /// Parses TOML text. Syntax errors name the line and column; everything
    /// else is checked by ``read(_:reader:)``.
    public static func load(text: String, file: String) -> (ProcessorsConfig?, [ConfigIssue]) {
        let (node, issues) = TOMLSource.tree(text: text, file: file)
        guard let node else { return (nil, issues) }
        let reader = TOMLSource.reader(file: file)
        let config = read(node, reader: reader)
        return (reader.hasErrors ? nil : config, reader.issues)
    }

    public static func load(path: String) -> (ProcessorsConfig?, [ConfigIssue]) {
        TOMLSource.load(path: path, load(text:file:))
    }

    /// Loads `path` and checks it against the machine: the config (nil when it
    /// did not load) and every issue found, load and placement alike.
    public static func loadChecked(path: String, topology: Topology, offered: CPUSet,
                                   osCores: CPUSet) -> (ProcessorsConfig?, [ConfigIssue]) {
        TOMLSource.load(path: path) { loadChecked(text: $0, file: $1, topology: topology, offered: offered, osCores: osCores) }
    }

    /// ``loadChecked(path:topology:offered:osCores:)`` for text in hand.
    public static func loadChecked(text: String, file: String, topology: Topology, offered: CPUSet,
                                   osCores: CPUSet) -> (ProcessorsConfig?, [ConfigIssue]) {
        let (loaded, issues) = load(text: text, file: file)
        guard let loaded else { return (nil, issues) }
        let all = issues + ProcessorsPlacementCheck.check(loaded, topology: topology, offered: offered, osCores: osCores, file: file)
        return (loaded, all)
    }

    static func read(_ root: ConfigNode, reader r: ConfigReader) -> ProcessorsConfig {
        var config = ProcessorsConfig()
        guard case .mapping(let top) = root.value else {
            r.error("", root, "expected TOML tables")
            return config
        }
        var processors: ConfigNode?
        var others: [String] = []
        for e in top {
            if e.key == "processors" { processors = e.value; continue }
            if workerSections.contains(e.key) { others.append(e.key); continue }
            var m = "top-level key \"\(e.key)\" is neither [processors] nor a damocles-worker section; ignored"
            if let s = Suggestion.closest(to: e.key, among: ["processors"] + workerSections) { m += " (did you mean \"\(s)\"?)" }
            r.warning(e.key, e.value, m)
        }
        if !others.isEmpty {
            r.note("", nil, "a whole damocles-worker file: Corral reads only [processors]; "
                   + others.map { "[\($0)]" }.joined(separator: ", ") + " are damocles-worker's and left alone")
        }
        guard let processors else {
            r.error("processors", nil, "no [processors] section", allowed: "[processors.limitation.concurrent], [[processors.<stage>]] ...")
            return config
        }
        guard case .mapping(let entries) = processors.value else {
            r.error("processors", processors, "expected a table, found \(processors.kindDescription)")
            return config
        }
        for e in entries where !reserved.contains(e.key) {
            let path = "processors.\(e.key)"
            if !knownStages.contains(e.key) {
                var m = "\"\(e.key)\" is not a stage damocles-worker knows; it is used as written"
                if let s = Suggestion.closest(to: e.key, among: knownStages + reserved) { m += " (did you mean \"\(s)\"?)" }
                r.warning(path, e.value, m)
            }
            guard let items = r.sequence(e.value, at: path) else { continue }
            if items.isEmpty { r.warning(path, e.value, "no processors listed for stage \(e.key)") }
            config.stages[e.key] = items.enumerated().compactMap { i, item in entry(item, stage: e.key, index: i, reader: r) }
        }
        let fields = r.mapping(processors, at: "processors", known: reserved + entries.map(\.key).filter { !reserved.contains($0) })
        if let limitation = fields?["limitation"],
           let l = r.mapping(limitation, at: "processors.limitation", known: ["concurrent", "staggered", "deadline"]) {
            if let c = l["concurrent"] { config.concurrent = stageInts(c, at: l.path("concurrent"), reader: r) }
            if let s = l["staggered"] { config.staggered = stageDurations(s, at: l.path("staggered"), reader: r, staggered: true) }
            if let d = l["deadline"] { config.deadline = stageDurations(d, at: l.path("deadline"), reader: r, staggered: false) }
        }
        if let old = fields?["limit"] {
            // damocles' older spelling, used when limitation.concurrent is absent.
            let legacy = stageInts(old, at: "processors.limit", reader: r)
            if config.concurrent.isEmpty {
                config.concurrent = legacy
            } else {
                r.warning("processors.limit", old, "ignored: processors.limitation.concurrent is set and takes precedence")
            }
        }
        if let locks = fields?["ext_locks"], let l = r.mapping(locks, at: "processors.ext_locks", known: mappingKeys(locks)) {
            for key in l.entries.keys.sorted() {
                guard let n = l[key], let v = r.int(n, at: l.path(key), in: 1...1_000_000) else { continue }
                config.locks[key] = v
            }
        }
        if let trees = fields?["static_tree_d"],
           let t = r.mapping(trees, at: "processors.static_tree_d", known: mappingKeys(trees)) {
            for key in t.entries.keys.sorted() {
                guard let n = t[key], let path = r.string(n, at: t.path(key), nonEmpty: true) else { continue }
                guard let size = DataSize(parsing: key)?.bytes, sectorSizes.contains(where: { $0.bytes == size }) else {
                    r.error(t.path(key), n, value: key, "\"\(key)\" is not a sector size damocles seals",
                            allowed: sectorSizes.map(\.name).joined(separator: ", "))
                    continue
                }
                if let earlier = config.staticTreeD[size] {
                    r.error(t.path(key), n, value: key, "a second tree_d for the same sector size (\(earlier) is given too)",
                            allowed: "one path per sector size")
                    continue
                }
                config.staticTreeD[size] = path
            }
        }
        if let restart = fields?["restart"],
           let f = r.mapping(restart, at: "processors.restart", known: ["initial_backoff", "max_backoff", "crash_loop_limit"]) {
            if let n = f["initial_backoff"], let v = r.duration(n, at: f.path("initial_backoff"), in: .milliseconds(10)...ConfigDuration.seconds(3600)) {
                config.restart.initialBackoff = v
            }
            if let n = f["max_backoff"], let v = r.duration(n, at: f.path("max_backoff"), in: .milliseconds(10)...ConfigDuration.seconds(86400)) {
                config.restart.maxBackoff = v
            }
            if let n = f["crash_loop_limit"], let v = r.int(n, at: f.path("crash_loop_limit"), in: 1...1000) {
                config.restart.crashLoopLimit = v
            }
        }
        crossCheck(&config, reader: r)
        return config
    }

    static func mappingKeys(_ node: ConfigNode) -> [String] {
        if case .mapping(let e) = node.value { return e.map(\.key) }
        return []
    }

    static func stageInts(_ node: ConfigNode, at path: String, reader r: ConfigReader) -> [String: Int] {
        guard let m = r.mapping(node, at: path, known: mappingKeys(node)) else { return [:] }
        var out: [String: Int] = [:]
        for key in m.entries.keys.sorted() {
            guard let n = m[key] else { continue }
            if let v = r.int(n, at: m.path(key), in: 0...1_000_000) {
                if v == 0 {
                    r.error(m.path(key), n, value: "0", "a stage limit of 0 would never run a job of \(key)",
                            allowed: "an integer from 1 (remove the key for no limit)")
                } else {
                    out[key] = v
                }
            }
        }
        return out
    }

    static func stageDurations(_ node: ConfigNode, at path: String, reader r: ConfigReader, staggered: Bool) -> [String: ConfigDuration] {
        guard let m = r.mapping(node, at: path, known: mappingKeys(node)) else { return [:] }
        var out: [String: ConfigDuration] = [:]
        for key in m.entries.keys.sorted() {
            guard let n = m[key], let v = r.duration(n, at: m.path(key)) else { continue }
            if staggered && v < .seconds(1) {
                r.warning(m.path(key), n, "an interval under 1s is ignored, as damocles-worker does")
                continue
            }
            if !staggered && v.nanoseconds == 0 {
                r.error(m.path(key), n, value: "\(v)", "a deadline of 0 fails every job", allowed: "a positive duration")
                continue
            }
            out[key] = v
        }
        return out
    }

    static func entry(_ node: ConfigNode, stage: String, index: Int, reader r: ConfigReader) -> ProcessorEntry? {
        var e = ProcessorEntry(stage: stage, index: index)
        guard let f = r.mapping(node, at: e.path, known: entryKeys, ignored: ["weight"]) else { return nil }
        if let n = f["bin"], let v = r.string(n, at: f.path("bin"), nonEmpty: true) { e.bin = v }
        if let n = f["args"], let v = r.stringList(n, at: f.path("args")) { e.args = v }
        if let n = f["stable_wait"], let v = r.duration(n, at: f.path("stable_wait"), in: .milliseconds(1)...ConfigDuration.seconds(86_400)) {
            e.stableWait = v
        }
        if let n = f["cgroup"], let c = r.mapping(n, at: f.path("cgroup"), known: ["cpuset", "group_name"]) {
            if let s = c["cpuset"], let v = r.cpuList(s, at: c.path("cpuset")) {
                if v.isEmpty { r.error(c.path("cpuset"), s, value: "", "the cpuset is empty", allowed: "a CPU list such as \"0-41\"") }
                e.cpuset = v
            }
            if let g = c["group_name"], let v = r.string(g, at: c.path("group_name"), nonEmpty: true) {
                if v.contains("..") || v.hasPrefix("/") {
                    r.error(c.path("group_name"), g, value: v, "a cgroup name must stay under the executor's own cgroup",
                            allowed: "a relative name without \"..\" (e.g. vc-worker)")
                } else {
                    e.groupName = v
                }
            }
        }
        if let n = f["numa_preferred"], let v = r.int(n, at: f.path("numa_preferred"), in: 0...1023) { e.numaPreferred = v }
        if let n = f["concurrent"], let v = r.int(n, at: f.path("concurrent"), in: 0...100_000) {
            if v == 0 {
                r.error(f.path("concurrent"), n, value: "0", "a processor with concurrent = 0 never runs a job",
                        allowed: "an integer from 1 (remove the key for no limit)")
            } else {
                e.concurrent = v
            }
        }
        if let n = f["envs"], let v = r.stringMap(n, at: f.path("envs")) { e.envs = v }
        if let n = f["inherit_envs"], let v = r.bool(n, at: f.path("inherit_envs")) { e.inheritEnvs = v }
        if let n = f["locks"], let v = r.stringList(n, at: f.path("locks")) {
            if Set(v).count != v.count { r.warning(f.path("locks"), n, "a lock is listed twice; it is taken once") }
            var seen = Set<String>()
            e.locks = v.filter { seen.insert($0).inserted }
        }
        if let n = f["auto_restart"], let v = r.bool(n, at: f.path("auto_restart")) { e.autoRestart = v }
        return e
    }

    /// Checks that need the whole section: locks declared, limits that cannot
    /// be reached, pools sharing CPUs without a lock between them.
    static func crossCheck(_ c: inout ProcessorsConfig, reader r: ConfigReader) {
        let declared = c.locks.keys.sorted()
        for e in c.allEntries {
            for (i, lock) in e.locks.enumerated() where c.locks[lock] == nil {
                var m = "lock \"\(lock)\" is not declared in [processors.ext_locks]"
                if let s = Suggestion.closest(to: lock, among: declared) { m += "; did you mean \"\(s)\"?" }
                r.error("\(e.path).locks[\(i)]", nil, value: lock, m,
                        allowed: declared.isEmpty ? "declare it: [processors.ext_locks] \(lock) = 1" : declared.joined(separator: ", "))
            }
        }
        for stage in c.stagesWithoutBin {
            let missing = c.stages[stage]!.filter { $0.bin == nil }
            r.warning("processors.\(stage)", nil,
                      "\(missing.map(\.name).joined(separator: ", ")) \(missing.count == 1 ? "has" : "have") no bin: damocles-worker would run "
                      + "its built-in \(stage) processor, Corral has none and needs a bin to start \(missing.count == 1 ? "it" : "them") "
                      + (missing.count == c.stages[stage]!.count
                         ? "(the executor leaves stage \(stage) stopped and runs the other pools)"
                         : "(the executor runs stage \(stage) on its other processors)"))
        }
        for stage in c.concurrent.keys.sorted() where c.stages[stage] == nil {
            r.warning("processors.limitation.concurrent.\(stage)", nil, "stage \(stage) has a limit but no processors")
        }
        for (stage, entries) in c.stages.sorted(by: { $0.key < $1.key }) {
            guard let limit = c.concurrent[stage], entries.allSatisfy({ $0.concurrent != nil }) else { continue }
            let sum = entries.reduce(0) { $0 + ($1.concurrent ?? 0) }
            if limit > sum {
                r.warning("processors.limitation.concurrent.\(stage)", nil,
                          "the stage limit \(limit) is above what its processors can run together (\(sum)); at most \(sum) run at once")
            }
        }
        let all = c.allEntries
        for (i, a) in all.enumerated() {
            for b in all[(i + 1)...] {
                guard let x = a.cpuset, let y = b.cpuset, !x.isDisjoint(with: y) else { continue }
                if Set(a.locks).isDisjoint(with: b.locks) {
                    r.warning(b.path + ".cgroup.cpuset", nil,
                              "CPUs \(x.intersection(y).listString) are also given to \(a.name) and no lock keeps the two apart;"
                              + " they will compete for those cores")
                }
            }
        }
    }
}

/// Checks of a processors config against the machine: every CPU must exist
/// and be offered to workloads (not osCores, not disallowed), and the memory
/// preference should match where the CPUs are.
public enum ProcessorsPlacementCheck {
    public static func check(_ c: ProcessorsConfig, topology: Topology, offered: CPUSet, osCores: CPUSet,
                             file: String) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        let existing = CPUSet(topology.cpus.map(\.id))
        let nodes = Set(topology.numaNodes.map(\.id))
        // Relative paths are damocles-worker's working directory's: not checked here.
        for (size, tree) in c.staticTreeD.sorted(by: { $0.key < $1.key }) where tree.hasPrefix("/") && !FileManager.default.fileExists(atPath: tree) {
            let name = ProcessorsConfigLoader.sectorSizes.first { $0.bytes == size }?.name ?? "\(size)"
            issues.append(ConfigIssue(.warning, file: file, location: nil, path: "processors.static_tree_d.\(name)", value: tree,
                                      message: "\(tree) does not exist on this machine; damocles-worker refuses to start without it"))
        }
        for e in c.allEntries {
            let path = e.path
            if let set = e.cpuset {
                let missing = set.subtracting(existing)
                if !missing.isEmpty {
                    issues.append(ConfigIssue(.error, file: file, location: nil, path: path + ".cgroup.cpuset", value: set.listString,
                                              message: "CPUs \(missing.listString) do not exist on this machine",
                                              allowed: "CPUs of this machine: \(existing.listString)"))
                }
                let reserved = set.intersection(osCores)
                if !reserved.isEmpty {
                    issues.append(ConfigIssue(.error, file: file, location: nil, path: path + ".cgroup.cpuset", value: set.listString,
                                              message: "CPUs \(reserved.listString) are reserved for the OS (resources.osCores)",
                                              allowed: "offered CPUs: \(offered.listString)"))
                }
                let refused = set.intersection(existing).subtracting(offered).subtracting(osCores)
                if !refused.isEmpty {
                    issues.append(ConfigIssue(.error, file: file, location: nil, path: path + ".cgroup.cpuset", value: set.listString,
                                              message: "CPUs \(refused.listString) are not offered (offline, outside this executor's cpuset, or disallowed)",
                                              allowed: "offered CPUs: \(offered.listString)"))
                }
                let homes = Set(set.compactMap { topology.cpu($0)?.numaNode })
                if homes.count > 1 {
                    issues.append(ConfigIssue(.warning, file: file, location: nil, path: path + ".cgroup.cpuset", value: set.listString,
                                              message: "the cpuset spans NUMA nodes \(homes.sorted().map { String($0) }.joined(separator: ", ")); "
                                              + "memory will be remote for some of its threads"))
                }
                if let preferred = e.numaPreferred, homes.count == 1, let home = homes.first, home != preferred {
                    issues.append(ConfigIssue(.warning, file: file, location: nil, path: path + ".numa_preferred", value: String(preferred),
                                              message: "numa_preferred = \(preferred) but the cpuset's CPUs are on node \(home); "
                                              + "every allocation would be remote (set numa_preferred = \(home))"))
                }
            }
            if let preferred = e.numaPreferred, !nodes.contains(preferred) {
                issues.append(ConfigIssue(.error, file: file, location: nil, path: path + ".numa_preferred", value: String(preferred),
                                          message: "NUMA node \(preferred) does not exist on this machine",
                                          allowed: nodes.sorted().map { String($0) }.joined(separator: ", ")))
            }
        }
        return issues
    }

    /// Warnings for cpusets that share CPUs with pinned instances (id and CPUs):
    /// the processor and the instance would compete for those cores.
    public static func overlaps(_ c: ProcessorsConfig, pinned: [(id: String, cpus: CPUSet)], file: String) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        for e in c.allEntries {
            guard let set = e.cpuset else { continue }
            for (id, cpus) in pinned.sorted(by: { $0.id < $1.id }) {
                let shared = set.intersection(cpus)
                guard !shared.isEmpty else { continue }
                issues.append(ConfigIssue(.warning, file: file, location: nil, path: e.path + ".cgroup.cpuset", value: set.listString,
                                          message: (shared.count == 1 ? "CPU \(shared.listString) is" : "CPUs \(shared.listString) are")
                                          + " also given to pinned instance \(id); "
                                          + "the processor and the instance will compete for them until the instance stops"))
            }
        }
        return issues
    }
}
