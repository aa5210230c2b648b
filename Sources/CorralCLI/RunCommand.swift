import ArgumentParser
import CorralCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `corral run`: a batch job in a container on dedicated cores, as exorun
/// runs one (`exorun run -c N -m GB [-i IMAGE] -- COMMAND`), through the
/// local executor's run socket. docs/run.md.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a batch job in a container on dedicated cores, as you (exorun's `run`).",
        discussion: """
        corral run -c 4 -m 8 -i rocky9 -- ./job.sh args...
        The job runs as you (uid, gid and groups as the kernel reports them), in
        your current directory, with your environment minus the site's filter.
        Its exit status is this command's (128+N when killed by signal N; 125
        when it could not run). SIGINT, SIGTERM and SIGHUP stop it.
        Installed as `exorun` (a symlink to corral), `exorun run ...` and
        `exorun config` work unchanged.
        """,
        subcommands: [RunJobCommand.self, RunConfigCommand.self],
        defaultSubcommand: RunJobCommand.self
    )
}

/// Where the executor's run socket is.
struct RunSocketOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The executor's run socket (default: $CORRAL_RUN_SOCKET, else /run/corral/run.sock).", valueName: "PATH"))
    var socket: String?

    var path: String { socket ?? ProcessInfo.processInfo.environment["CORRAL_RUN_SOCKET"] ?? ExecutorOptions().runSocketPath }
}

struct RunJobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Run COMMAND as a job (the default: `corral run -c 2 -- COMMAND`).")

    @Option(name: [.customShort("c"), .long], help: "Dedicated cores.")
    var cpus: Int = 1
    @Option(name: [.customShort("m"), .long], help: ArgumentHelp("Memory: GB (2.5 rounds up to 3, as exorun), or a size (512MiB, 4G). Default: the cores' share of the node.", valueName: "MEMORY"))
    var memory: String?
    @Option(name: [.customShort("i"), .long], help: "Image (default: the site's container_image).")
    var image: String?
    @Option(name: .long, help: "Whole GPUs.")
    var gpus: Int = 0
    @Flag(name: .long, help: "Run it on whichever executor of the cluster the leader places it (-m is then required).")
    var cluster = false
    @Flag(name: [.customShort("v"), .long], help: "Say where the job ran when it ends.")
    var verbose = false
    @OptionGroup var socket: RunSocketOption
    @Argument(parsing: .captureForPassthrough, help: "-- COMMAND [ARGS...]")
    var command: [String] = []

    func run() throws {
        // `corral run --socket S config` reaches here (options first): it is
        // the reload all the same; `corral run -- config` runs a program.
        if command == ["config"] { return try RunConfigCommand(socket: socket).run() }
        var words = command
        if words.first == "--" { words.removeFirst() }
        let request = RunRequest(action: .run, command: words, cpus: cpus, memory: memory, image: image, gpus: gpus,
                                 env: ProcessInfo.processInfo.environment, tty: isatty(1) == 1, cluster: cluster)
        if let why = request.problem(forTheCluster: cluster) { throw fail(why, code: 125) }
        let status = try RunJobCommand.exchange(request, socket: socket.path, verbose: verbose)
        throw ExitCode(status)
    }

    /// Sends the request and follows the answer; the status to exit with.
    static func exchange(_ request: RunRequest, socket: String, verbose: Bool) throws -> Int32 {
        let client = RunClient(socketPath: socket)
        let fd: Int32
        do { fd = try client.connect() } catch { throw fail(error.description, code: 125) }
        defer { close(fd) }
        guard let body = try? JSONEncoder().encode(request), RunClient.send(fd, RunFrame(.request, Array(body))) else {
            throw fail("cannot send the request to \(socket): \(String(cString: strerror(errno)))", code: 125)
        }
        // Stop signals are the job's: each is passed on as a frame. Dispatch
        // delivers them off the signal context, where a write is safe.
        var sources: [DispatchSourceSignal] = []
        for s in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] {
            signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { _ = RunClient.send(fd, RunFrame(.signal, [UInt8(s)])) }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        let end: RunClient.End
        do {
            end = try RunClient.follow(fd) { line in FileHandle.standardError.write(Data("corral run: \(line)\n".utf8)) }
        } catch {
            throw fail(error.description, code: 125)
        }
        switch end {
        case .exit(let o):
            if verbose { FileHandle.standardError.write(Data("corral run: \(o.taskId.isEmpty ? "" : o.taskId + ": ")\(o.summary)\n".utf8)) }
            return o.status
        case .error(let f):
            FileHandle.standardError.write(Data("corral run: \(f.message)\n".utf8))
            return f.exitStatus
        }
    }
}

/// `corral run config` (exorun's `config`): the executor reloads its run
/// configuration. Root only, as the executor reads the caller off the socket.
struct RunConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Reload the run configuration (root only); a file that does not load changes nothing.")

    @OptionGroup var socket: RunSocketOption

    init() {}
    init(socket: RunSocketOption) { self.socket = socket }

    func run() throws {
        let status = try RunJobCommand.exchange(RunRequest(action: .reloadConfig), socket: socket.path, verbose: true)
        if status != 0 { throw ExitCode(status) }
    }
}
