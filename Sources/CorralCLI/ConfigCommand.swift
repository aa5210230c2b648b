import ArgumentParser
import CorralCore
import CorralHost
import Foundation

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with executor configuration files.",
        subcommands: [Check.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate an executor config and print what this node would offer.",
            discussion: """
            Every problem is reported (file:line:column, key path, bad value, what is allowed), \
            not only the first. Exit status 1 when the config is invalid.
            """
        )

        @Argument(help: ArgumentHelp("The executor YAML file.", valueName: "FILE"))
        var file: String

        @OptionGroup var machine: MachineOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            let root = FileSystemRoot(machine.fsroot)
            let loaded: Loaded<ExecutorConfig>
            do {
                loaded = try ConfigFile.loadExecutor(path: file)
            } catch {
                try report(error.issues)
                throw ExitCode(1)
            }
            let topology: Topology
            do {
                topology = try TopologyReader(root: root).read()
            } catch {
                throw fail(error.message)
            }
            let hostname = HostIdentity.hostname(configured: loaded.config.options.hostname, root: root)
            let (eff, issues) = EffectiveResources.compute(topology: topology, resources: loaded.config.resources,
                                                           hostname: hostname, file: file)
            let all = loaded.warnings + issues
            if all.contains(where: { $0.severity == .error }) {
                try report(all)
                throw ExitCode(1)
            }
            let r = ResourceReport(file: file, hostname: hostname, resources: eff, config: loaded.config, warnings: all)
            if json { try printJSON(r) } else { print(r.text, terminator: "") }
            if !json {
                // A valid config on an unprepared node still leaves workloads sharing cores: say so, and where to look.
                let facts = NodeFactsReader(root: root).read(paths: [])
                let findings = NodeDoctor(facts: facts, resources: eff, config: loaded.config).run()
                let fails = findings.filter { $0.status == .fail }, warns = findings.filter { $0.status == .warn }
                if !fails.isEmpty || !warns.isEmpty {
                    print("node preparation: \(fails.count) FAIL, \(warns.count) WARN (\((fails + warns).map(\.check.rawValue).joined(separator: ", "))): corral doctor --config \(file) explains each and its fix")
                }
            }
        }

        struct Invalid: Encodable {
            var valid = false
            var file: String
            var errors: [ConfigIssue]
            var warnings: [ConfigIssue]
        }

        func report(_ issues: [ConfigIssue]) throws {
            let errors = issues.filter { $0.severity == .error }
            if json {
                try printJSON(Invalid(file: file, errors: errors, warnings: issues.filter { $0.severity == .warning }))
            } else {
                let err = ConfigError(file: file, issues: issues)
                FileHandle.standardError.write(Data((err.message + "\n").utf8))
            }
        }
    }
}
