import ArgumentParser
import CorralCore
import Foundation

/// The `corral` command line.
public struct CorralCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "corral",
        abstract: "Run workloads on dedicated CPU cores, NUMA-local memory and whole GPUs.",
        discussion: """
        Start with `corral topology` to see what this machine offers, then
        `corral config check executor.yml` to see what an executor config would expose.
        """,
        version: CorralVersion.current,
        subcommands: [UpCommand.self, ExecutorCommand.self, ControllerCommand.self, PasswordHashCommand.self, StatusCommand.self, InstancesCommand.self, TasksCommand.self, AppsCommand.self,
                      TopologyCommand.self, ConfigCommand.self, ProcessorsCommand.self, AllocateCommand.self,
                      JobsCommand.self, StagesCommand.self, PlanCommand.self, MapCommand.self, DoctorCommand.self, RunCommand.self]
    )

    public init() {}

    /// The arguments as `corral` reads them when called as `exorun` (a
    /// symlink): `exorun run ...` is `corral run ...`, `exorun config` is
    /// `corral run config`, anything else (`-h`) goes to `corral run`.
    public static func arguments(invokedAs name: String, _ args: [String]) -> [String] {
        guard (name as NSString).lastPathComponent == "exorun" else { return args }
        return args.first == "run" ? args : ["run"] + args
    }
}

public enum CorralVersion {
    public static let current = "0.1.0"
}

/// Options shared by commands that read the machine.
struct MachineOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Read the machine from this directory instead of /.", valueName: "DIR"))
    var fsroot: String = "/"
}

/// Writes JSON the way every command does: sorted keys, pretty, one trailing newline.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// Prints a Corral error to standard error and exits with `code`, without stack noise.
func fail(_ message: String, code: Int32 = 1) -> ExitCode {
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
    return ExitCode(code)
}
