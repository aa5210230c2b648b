import ArgumentParser
import CorralCore
import CorralExecutor
import CorralHost
import Foundation
import Logging

/// Where `corral up` and the client commands keep and find state by default.
enum Defaults {
    /// `CORRAL_STATE_DIR`, else `$XDG_STATE_HOME/corral`, else `~/.local/state/corral`.
    static var userStateDir: String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["CORRAL_STATE_DIR"], !d.isEmpty { return d }
        if let x = env["XDG_STATE_HOME"], !x.isEmpty { return "\(x)/corral" }
        return NSHomeDirectory() + "/.local/state/corral"
    }

    /// Where `corral executor` keeps state when neither --state-dir nor options.stateDir says.
    static let systemStateDir = "/var/lib/corral"

    static let url = "http://127.0.0.1:8080"

    /// The first container engine socket that exists.
    static func dockerSocket() -> String? {
        var candidates = ["/var/run/docker.sock", "/run/podman/podman.sock"]
        if let x = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] { candidates.append("\(x)/podman/podman.sock") }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The secret `corral up` generated, made once (0600).
    static func secret(in dir: String, create: Bool) throws -> String? {
        let path = "\(dir)/secret"
        if let s = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty {
            return s
        }
        guard create else { return nil }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var bytes = [UInt8](repeating: 0, count: 24)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let secret = bytes.map { String(format: "%02x", $0) }.joined()
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(path)")
        }
        return secret
    }
}

/// A daemon's own log (`corral.executor`, `corral.controller`), as the config's `logging` section says.
func makeLogger(_ config: LoggingConfig, label: String = "corral.executor") -> Logger {
    LoggingSystem.bootstrap(ExecutorLogging.factory(config))
    return Logger(label: label)
}

struct ExecutorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executor",
        abstract: "Run the executor daemon from a config file.",
        discussion: """
        Listens on server.applicationConnectors (the API, every /apis request needs \
        Cluster-Authorization: <the CONTROLLER secret>) and server.adminConnectors \
        (/ping, /healthcheck). SIGTERM and SIGINT stop it without stopping workloads; \
        the next start adopts them. State lives in --state-dir, else options.stateDir, \
        else \(Defaults.systemStateDir).
        """
    )

    @Option(help: ArgumentHelp("The executor YAML.", valueName: "FILE"))
    var config: String

    @Option(help: ArgumentHelp("Where to keep state (overrides options.stateDir).", valueName: "DIR"))
    var stateDir: String?

    @OptionGroup var machine: MachineOptions

    @Flag(help: "Validate, print what would be exposed, and exit.")
    var dryRun = false

    func run() async throws {
        let loaded: Loaded<ExecutorConfig>
        do {
            loaded = try ConfigFile.loadExecutor(path: config)
        } catch {
            throw fail(error.message)
        }
        let dir = stateDir ?? loaded.config.options.stateDir ?? Defaults.systemStateDir
        try await serve(config: loaded.config, stateDir: dir, fsroot: machine.fsroot, warnings: loaded.warnings,
                        dryRun: dryRun, banner: nil)
    }
}

/// Plans, prints, and (unless a dry run) runs the executor.
func serve(config: ExecutorConfig, stateDir: String, fsroot: String, warnings: [ConfigIssue], dryRun: Bool,
           banner: (@Sendable (ExecutorService.Listening) -> String)?) async throws {
    let plan: ExecutorService.Plan
    do {
        plan = try await ExecutorService.plan(config: config, stateDir: stateDir, fsroot: fsroot, warnings: warnings)
    } catch {
        throw fail("\(error)")
    }
    let r = plan.resources
    var lines = ["corral executor on \(plan.hostname): \(r.mode.rawValue), \(r.totalCPUs) CPUs and "
                 + "\(DataSize.human(r.totalMemoryBytes)) in \(r.nodes.count) NUMA node\(r.nodes.count == 1 ? "" : "s"); "
                 + "engines: \(plan.engines.keys.map(\.rawValue).sorted().joined(separator: ", ")); state in \(stateDir)"]
    lines += config.server.applicationConnectors.map { "  API   http://\($0.bindHost ?? "0.0.0.0"):\($0.port)\(config.server.applicationContextPath == "/" ? "" : config.server.applicationContextPath)/apis/v1" }
    lines += config.server.adminConnectors.map { "  admin http://\($0.bindHost ?? "0.0.0.0"):\($0.port)/healthcheck" }
    lines += plan.warnings.map { "  warning: \($0)" }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    if dryRun { return }
    let logger = makeLogger(config.logging)
    do {
        try await ExecutorService.run(plan, logger: logger) { listening in
            let text = banner?(listening)
                ?? "corral executor listening: API \(listening.application.joined(separator: ", ")), admin \(listening.admin.joined(separator: ", "))"
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    } catch {
        throw fail("\(error)")
    }
}

struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run a standalone executor on sensible defaults for this machine.",
        discussion: """
        State and instance logs go to \(Defaults.userStateDir) (CORRAL_STATE_DIR overrides). \
        The API and admin ports listen on 127.0.0.1. Containers run through the first Docker \
        or Podman socket found, and native processes through the process engine. A secret is \
        generated once and kept in the state directory; client commands find it there.
        """
    )

    @Option(help: "API port.") var port = 8080
    @Option(help: "Admin port.") var adminPort = 8081
    @Option(help: ArgumentHelp("State directory.", valueName: "DIR")) var stateDir: String?

    func run() async throws {
        let dir = stateDir ?? Defaults.userStateDir
        guard let secret = try Defaults.secret(in: dir, create: true) else { throw fail("cannot create a secret in \(dir)") }
        var config = ExecutorConfig()
        config.server.applicationConnectors = [Connector(port: port, bindHost: "127.0.0.1")]
        config.server.adminConnectors = [Connector(port: adminPort, bindHost: "127.0.0.1")]
        config.clusterAuth.secrets[.CONTROLLER] = Secret(secret)
        if let socket = Defaults.dockerSocket() { config.options.dockerSocketPath = socket }
        var drove = InstanceLogAppender()
        drove.logPath = "\(dir)/logs"
        config.logging.appenders.append(.drove(drove))
        let url = "http://127.0.0.1:\(port)"
        try await serve(config: config, stateDir: dir, fsroot: "/", warnings: [], dryRun: false) { _ in
            """
            corral is up: API \(url), admin http://127.0.0.1:\(adminPort)/healthcheck
            the secret is in \(dir)/secret; client commands read it from there.
            console: \(url)/ (any user name; the password is that secret)
            try:  corral tasks run examples/hello-task.json --wait
                  corral status
            """
        }
    }
}
