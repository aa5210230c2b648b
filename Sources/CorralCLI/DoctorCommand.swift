import ArgumentParser
import CorralCore
import CorralEngines
import CorralHost
import Foundation

/// `corral doctor`: the node preparation the executor setup guide asks for
/// (and what it leaves out), checked: each check OK, WARN or FAIL with what
/// it saw, why it matters for pinned workloads, and the exact fix.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this node's preparation for pinned workloads, and say how to fix what is not.",
        discussion: """
        Reads the machine (OS isolation, interrupts, NUMA and memory settings, CPUs, \
        cgroups, limits, storage, the container engine, GPUs) against the executor \
        config and prints OK / WARN / FAIL for each check with what it saw, why it \
        matters and the exact fix. Exit status 0 when nothing FAILs, 1 when something \
        does, 2 when the config does not load. Every check is in docs/doctor.md.
        """
    )

    @Option(help: ArgumentHelp("The executor YAML to judge the node against (default: the defaults).", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("State directory (default: options.stateDir, else /var/lib/corral).", valueName: "DIR"))
    var stateDir: String?

    @OptionGroup var machine: MachineOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let root = FileSystemRoot(machine.fsroot)
        var executorConfig = ExecutorConfig()
        if let config {
            do {
                executorConfig = try ConfigFile.loadExecutor(path: config).config
            } catch {
                FileHandle.standardError.write(Data((ConfigError(file: config, issues: error.issues).message + "\n").utf8))
                throw ExitCode(2)
            }
        }
        let topology: Topology
        do { topology = try TopologyReader(root: root).read() } catch { throw fail(error.message, code: 2) }
        let hostname = HostIdentity.hostname(configured: executorConfig.options.hostname, root: root)
        let (resources, _) = EffectiveResources.compute(topology: topology, resources: executorConfig.resources, hostname: hostname)
        let dir = stateDir ?? executorConfig.options.stateDir ?? Defaults.systemStateDir
        var facts = NodeFactsReader(root: root).read(paths: DoctorReport.writtenPaths(config: executorConfig, stateDir: dir),
                                                     selfName: "corral doctor (as the executor would be started from here)")
        // The engine answers only on the real machine; a recorded root has none to ask.
        if root.path == "/" {
            facts.engine = await Self.probe(socket: executorConfig.options.dockerSocketPath)
        }
        let report = DoctorReport(hostname: hostname, config: config,
                                  findings: NodeDoctor(facts: facts, resources: resources, config: executorConfig).run())
        if json { try printJSON(report) } else { print(report.text, terminator: "") }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }

    /// What the Docker Engine API socket answers to GET /version.
    static func probe(socket: String) async -> NodeFacts.Engine {
        guard FileManager.default.fileExists(atPath: socket) else {
            return .init(socket: socket, version: nil, apiVersion: nil, error: "no such socket")
        }
        let client = DockerClient(socketPath: socket, timeout: .seconds(5))
        do {
            let v = try await client.version()
            return .init(socket: socket, version: v.Version.map { "version \($0)" } ?? "version unknown", apiVersion: v.ApiVersion, error: nil)
        } catch {
            return .init(socket: socket, version: nil, apiVersion: nil, error: error.message)
        }
    }
}
