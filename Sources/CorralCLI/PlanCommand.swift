import ArgumentParser
import CorralCore
import CorralHost
import Foundation

/// `--config EXECUTOR_YAML`: the executor config whose osCores and cpuset limits apply.
struct ExecutorConfigOption: ParsableArguments {
    @Option(help: ArgumentHelp("The executor YAML (its osCores and cpuset limits apply).", valueName: "EXECUTOR_YAML"))
    var config: String?
}

/// The machine as an executor config sees it: topology and what is offered.
struct MachineContext {
    var topology: Topology
    var resources: EffectiveResources
    /// Problems of the executor config file itself.
    var configIssues: [ConfigIssue]
    /// Problems of that config on this machine (an osCores entry it lacks, ...).
    var resourceIssues: [ConfigIssue]
    var issues: [ConfigIssue] { configIssues + resourceIssues }

    static func load(_ machine: MachineOptions, _ executor: ExecutorConfigOption) throws -> MachineContext {
        let config = executor.config
        var configIssues: [ConfigIssue] = []
        var resources = ResourcesConfig()
        if let config {
            do {
                resources = try ConfigFile.loadExecutor(path: config).config.resources
            } catch {
                configIssues = error.issues
            }
        }
        let root = FileSystemRoot(machine.fsroot)
        let topology: Topology
        do {
            topology = try TopologyReader(root: root).read()
        } catch {
            throw fail(error.message)
        }
        let (eff, effIssues) = EffectiveResources.compute(topology: topology, resources: resources,
                                                          hostname: HostIdentity.hostname(configured: nil, root: root),
                                                          file: config ?? "defaults")
        return MachineContext(topology: topology, resources: eff, configIssues: configIssues, resourceIssues: effIssues)
    }

    /// A processors config checked against this machine.
    func check(text: String, file: String) -> (ProcessorsConfig?, [ConfigIssue]) {
        ProcessorsConfigLoader.loadChecked(text: text, file: file, topology: topology,
                                           offered: resources.offeredCPUs, osCores: resources.osCores)
    }

    /// ``check(text:file:)`` for a file.
    func check(path: String) -> (ProcessorsConfig?, [ConfigIssue]) {
        ProcessorsConfigLoader.loadChecked(path: path, topology: topology,
                                           offered: resources.offeredCPUs, osCores: resources.osCores)
    }
}

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Design a processors config for this machine from a workload file, or review one.",
        discussion: """
        corral plan --workload sealing.toml [--strategy exclusive|shared] [--out processors.toml]
        corral plan --explain processors.toml

        The workload file lists stages and what one task needs (cores, one L3 group or not, \
        memory, a GPU, minutes per task, an exact count); see docs/plan.md. The plan keeps every \
        cpuset inside one NUMA node with numa_preferred on it, packs L3-bound tasks group by \
        group, puts GPU processors on their GPU's node, never lets pools share a core without a \
        lock, and gives the most tasks it can to the slowest stage. The written config passes \
        `corral processors check`.
        """
    )

    @OptionGroup var machine: MachineOptions

    @Option(help: ArgumentHelp("The workload to plan for (TOML).", valueName: "FILE"))
    var workload: String?

    @Option(help: ArgumentHelp("exclusive: each GPU stage gets GPUs of its own; shared: paired GPU stages share each GPU behind a lock (default: the workload's, else exclusive).",
                               valueName: "STRATEGY"))
    var strategy: String?

    @Option(help: ArgumentHelp("Write the processors config here (default: standard output, explanation as comments).", valueName: "FILE"))
    var out: String?

    @Option(help: ArgumentHelp("Review this processors config in plain words instead of planning.", valueName: "FILE"))
    var explain: String?

    @OptionGroup var executor: ExecutorConfigOption

    func validate() throws {
        guard (workload == nil) != (explain == nil) else {
            throw ValidationError("give either --workload FILE (plan) or --explain FILE (review)")
        }
        if let strategy, PlanWorkload.Strategy(rawValue: strategy) == nil {
            throw ValidationError("--strategy \(strategy): allowed: exclusive, shared")
        }
    }

    func run() throws {
        let ctx = try MachineContext.load(machine, executor)
        if let e = ctx.issues.first(where: { $0.severity == .error }) { throw fail(e.description) }
        if let explain {
            let (c, issues) = ctx.check(path: explain)
            guard let c else { throw fail(ConfigError(file: explain, issues: issues).message) }
            print(ProcessorsReview.explain(c, issues: issues, topology: ctx.topology, offered: ctx.resources.offeredCPUs,
                                           file: explain), terminator: "")
            return
        }
        let file = workload!
        let (loaded, issues) = PlanWorkload.load(path: file)
        guard var w = loaded else { throw fail(ConfigError(file: file, issues: issues).message) }
        if let strategy { w.strategy = PlanWorkload.Strategy(rawValue: strategy)! }
        let plan: ProcessorsPlan
        do {
            plan = try Planner.plan(w, topology: ctx.topology, offered: ctx.resources.offeredCPUs)
        } catch {
            throw fail("\(file): \(error.message)")
        }
        let toml = plan.toml()
        // The plan must pass the same check the executor applies.
        let (_, found) = ctx.check(text: toml, file: out ?? "plan")
        if let e = found.first(where: { $0.severity == .error }) {
            throw fail("the plan does not pass its own check (please report this): \(e)")
        }
        let words = plan.explanation(topology: ctx.topology)
            + found.map { "Warning: \($0.message) (\($0.path))\n" }.joined()
        if let out {
            do {
                try toml.write(toFile: out, atomically: true, encoding: .utf8)
            } catch {
                throw fail("cannot write \(out): \(error.localizedDescription)")
            }
            print("wrote \(out) (passes corral processors check)")
            print(words, terminator: "")
        } else {
            print(words.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "# \($0)" }.joined(separator: "\n"))
            print(toml, terminator: "")
        }
    }
}
