import ArgumentParser
import CorralCore
import CorralExecutor
import CorralHost
import Foundation

struct ProcessorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "processors",
        abstract: "Work with stage processor configs (damocles-worker's [processors] TOML).",
        subcommands: [Check.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a processors config against this machine and print what would run where.",
            discussion: """
            Errors (exit status 1): unknown keys, undeclared locks, zero limits, CPUs that do not \
            exist or are not offered (osCores, outside the executor's cpuset). Warnings: numa_preferred \
            that does not match the cpuset's node, cpusets spanning NUMA nodes, pools sharing CPUs \
            without a lock, stage limits above what the pools can run, CPUs held by live pinned \
            instances of the executor whose state directory is given (or the default one).
            """
        )

        @Argument(help: ArgumentHelp("The TOML file with a [processors] section.", valueName: "FILE"))
        var file: String

        @OptionGroup var machine: MachineOptions

        @OptionGroup var executor: ExecutorConfigOption

        @Option(help: ArgumentHelp("An executor's state directory: warn about CPUs its live pinned instances hold "
                                   + "(default: those of `corral up` and `corral executor` that exist).", valueName: "DIR"))
        var stateDir: String?

        @Flag(help: "Print JSON.")
        var json = false

        struct Report: Encodable {
            var valid: Bool
            var file: String
            var errors: [ConfigIssue]
            var warnings: [ConfigIssue]
            var notes: [ConfigIssue]
            var processors: [Line]
        }

        struct Line: Encodable {
            var name: String
            var cpuset: String?
            var numaNodes: [Int]
            var numaPreferred: Int?
            var concurrent: Int?
            var locks: [String]
        }

        func run() throws {
            let ctx = try MachineContext.load(machine, executor)
            let topology = ctx.topology
            let (checked, configIssues) = ctx.check(path: file)
            // Problems of the executor config on this machine matter once the file itself loads.
            var issues = ctx.configIssues + (checked == nil ? [] : ctx.resourceIssues) + configIssues
            if let checked {
                issues += ProcessorsPlacementCheck.overlaps(checked, pinned: try pinnedInstances(), file: file)
            }
            let lines = (checked?.allEntries ?? []).map { e in
                Line(name: e.name, cpuset: e.cpuset?.listString,
                     numaNodes: Set(e.cpuset?.compactMap { topology.cpu($0)?.numaNode } ?? []).sorted(),
                     numaPreferred: e.numaPreferred, concurrent: e.concurrent, locks: e.locks)
            }
            let errors = issues.filter { $0.severity == .error }
            let warnings = issues.filter { $0.severity == .warning }
            let notes = issues.filter { $0.severity == .note }
            if json {
                try printJSON(Report(valid: errors.isEmpty, file: file, errors: errors, warnings: warnings, notes: notes,
                                     processors: lines))
            } else {
                if !errors.isEmpty {
                    FileHandle.standardError.write(Data((ConfigError(file: file, issues: issues).message + "\n").utf8))
                } else {
                    print("\(file): valid, \(lines.count) processors")
                    for l in lines {
                        let nodes = l.numaNodes.isEmpty ? "-" : l.numaNodes.map { String($0) }.joined(separator: ",")
                        print("  \(l.name.padding(toLength: 14, withPad: " ", startingAt: 0)) cpus \(l.cpuset ?? "any")"
                              + "  node \(nodes)  preferred \(l.numaPreferred.map { String($0) } ?? "-")"
                              + "  concurrent \(l.concurrent.map { String($0) } ?? "unlimited")"
                              + (l.locks.isEmpty ? "" : "  locks \(l.locks.joined(separator: ","))"))
                    }
                    for w in warnings + notes { print(w.description) }
                }
            }
            if !errors.isEmpty { throw ExitCode(1) }
        }

        /// Live pinned instances in the state database (`--state-dir`, else
        /// those of `corral up` and `corral executor` that exist).
        func pinnedInstances() throws -> [(id: String, cpus: CPUSet)] {
            let dirs = stateDir.map { [$0] } ?? [Defaults.userStateDir, Defaults.systemStateDir]
            var found: [(id: String, cpus: CPUSet)] = []
            for dir in dirs {
                guard FileManager.default.fileExists(atPath: "\(dir)/state.sqlite") else {
                    if stateDir != nil { throw fail("--state-dir \(dir): no state database (state.sqlite) there") }
                    continue
                }
                do {
                    found += StateStore.pinned(try StateStore(directory: dir).load(liveOnly: true))
                } catch {
                    throw fail("state directory \(dir): \(error.message)")
                }
            }
            return found
        }
    }
}
