import ArgumentParser
import CorralController
import CorralCore
import CorralHost
import Foundation

struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Run a cluster controller (Drove's controller API) from a config file.",
        discussion: """
        Reads Drove's controller YAML. Several controllers may run against one \
        ZooKeeper: one leads (elected through ZooKeeper), the others redirect API \
        calls to it. GET /apis/v1/ping answers 200 only on the leader. Losing \
        ZooKeeper gives up leadership until the session is back; it never exits. \
        SIGTERM and SIGINT leave the election without touching any workload.
        """
    )

    @Option(help: ArgumentHelp("The controller YAML.", valueName: "FILE"))
    var config: String

    @Flag(help: "Validate the config, print what would run, and exit.")
    var dryRun = false

    @Flag(help: "Print the zkCli.sh command that authenticates as Corral's controllers (to inspect the cluster's state nodes), and exit.")
    var zookeeperCredentials = false

    func run() async throws {
        let loaded: Loaded<ControllerConfig>
        do {
            let text = try ConfigFile.read(config)
            loaded = try ControllerConfig.load(yaml: text, file: config, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw fail(error.message)
        }
        let c = loaded.config
        if zookeeperCredentials {
            guard let secret = c.clusterAuth.secrets[.CONTROLLER] else { throw fail("\(config): clusterAuth has no CONTROLLER secret") }
            let credentials = ZooKeeperCredentials(controllerSecret: secret)
            print("addauth digest \(ZooKeeperCredentials.user):\(credentials.password)")
            return
        }
        let hostname = HostIdentity.hostname(configured: c.options.hostname, root: FileSystemRoot("/"))
        var lines = ["corral controller on \(hostname): ZooKeeper \(c.zookeeper.connectionString) (namespace \(c.zookeeper.namespace)); "
                     + "userAuth \(c.userAuth.enabled ? "on (\(c.userAuth.users.count) users)" : "off")"]
        lines += c.server.applicationConnectors.prefix(1).map { "  API http://\($0.bindHost ?? "0.0.0.0"):\($0.port)/apis/v1" }
        lines += loaded.warnings.map { "  warning: \($0.description)" }
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        if dryRun { return }
        let logger = makeLogger(c.logging, label: "corral.controller")
        do {
            try await ControllerService.run(config: c, hostname: hostname, logger: logger) { listening in
                FileHandle.standardOutput.write(Data("corral controller listening: API \(listening.address):\(listening.port)\n".utf8))
            }
        } catch let e as ControllerService.Failure {
            throw fail(e.description)
        }
    }
}
