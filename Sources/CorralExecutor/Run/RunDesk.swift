import CorralCore
import CorralEngines
import CorralHost
import Foundation
import Logging

/// What the executor knows for `corral run`: the site configuration (kept
/// whole: a reload that does not load changes nothing), and how a request
/// and the caller's credentials become a job's task spec. Every check of
/// the request happens here, before anything is started.
public actor RunDesk {
    public let configPath: String
    public let runnerPath: String?
    let executor: Executor
    let logger: Logger
    /// The configuration in force, or why there is none.
    private var current: Result<RunConfig, RunFailure>

    public init(configPath: String, executor: Executor, runnerPath: String? = ProcessEngine.findRunner(), logger: Logger) {
        self.configPath = configPath
        self.executor = executor
        self.runnerPath = runnerPath
        self.logger = logger
        current = Self.load(configPath)
        if case .failure(let f) = current { logger.error("corral run is refused until the configuration loads: \(f.message)") }
    }

    /// The file at `path`; a missing file is exorun's defaults.
    static func load(_ path: String) -> Result<RunConfig, RunFailure> {
        guard FileManager.default.fileExists(atPath: path) else { return .success(RunConfig()) }
        let (config, issues) = RunConfig.load(path: path)
        guard let config else {
            return .failure(RunFailure(.badConfig, issues.filter { $0.severity == .error }.map(\.description).joined(separator: "\n")))
        }
        return .success(config)
    }

    /// `corral run config`: root only (as the socket says). A file that does
    /// not load is refused whole and the configuration in force stays.
    public func reload(by caller: PeerCredentials) -> Result<String, RunFailure> {
        guard caller.uid == 0 else {
            logger.warning("corral run config refused: not root", metadata: ["uid": "\(caller.uid)", "pid": "\(caller.pid)"])
            return .failure(RunFailure(.forbidden, "only root may reload the run configuration (the executor sees uid \(caller.uid) on its socket)"))
        }
        switch Self.load(configPath) {
        case .failure(let f):
            let kept = (try? current.get()) != nil ? "the configuration in force is unchanged" : "corral run stays refused"
            logger.error("corral run config: \(configPath) does not load; \(kept)")
            return .failure(RunFailure(.badConfig, "\(f.message)\n\(configPath) was not loaded: \(kept)"))
        case .success(let c):
            current = .success(c)
            let summary = "reloaded \(configPath): default image \(c.containerImage), "
                + (c.approvedContainerImages.isEmpty ? "any image allowed" : "\(c.approvedContainerImages.count) approved images")
                + ", \(c.hooks.count) hooks, \(c.envVarFilter.count) filtered variables"
            logger.notice("\(summary)")
            return .success(summary)
        }
    }

    /// A job ready to start: its spec, and the configuration it was checked
    /// against (whose retry settings it then follows, whatever a reload does).
    public struct Prepared: Sendable {
        public var spec: TaskSpec
        public var config: RunConfig
    }

    /// A job's spec from a request and the caller's credentials, or why not.
    /// The caller's identity comes from `caller` alone; the request names none.
    public func prepare(_ request: RunRequest, caller: PeerCredentials, taskId: String) async -> Result<Prepared, RunFailure> {
        let config: RunConfig
        switch current {
        case .failure(let f): return .failure(f)
        case .success(let c): config = c
        }
        guard let runnerPath else {
            return .failure(RunFailure(.unavailable, "corral-runner was not found beside the corral executable or in PATH; set CORRAL_RUNNER to its path"))
        }
        guard await executor.engines[.docker] != nil else {
            return .failure(RunFailure(.unavailable, "this executor has no container engine (none answers on \(executor.config.options.dockerSocketPath))"))
        }
        if let why = request.problem(forTheCluster: false) { return .failure(RunFailure(.invalidRequest, why)) }
        let offered = executor.resources.offeredCPUs.count
        guard (1...max(1, offered)).contains(request.cpus) else {
            return .failure(RunFailure(.invalidRequest, "-c \(request.cpus): this node offers 1 to \(offered) dedicated cores"))
        }
        let memory = request.memoryBytes ?? defaultMemory(cpus: request.cpus)
        let image = request.image ?? config.containerImage
        if let why = ImageReference.problem(image) {
            return .failure(RunFailure(.invalidRequest, "-i \(image): \(why) (allowed: an image reference, name[:tag][@digest])"))
        }
        guard config.approves(image) else {
            return .failure(RunFailure(.imageNotApproved, "image \(image) is not approved on this node (\(configPath), approved_container_images): "
                + "allowed: \(config.approvedContainerImages.joined(separator: ", "))"))
        }
        for (hook, path) in config.hooks.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where !FileManager.default.isReadableFile(atPath: path) {
            return .failure(RunFailure(.badConfig, "\(configPath): \(hook.rawValue) = \(path): no such readable file on this node; no job runs without its hooks"))
        }
        // Who: the socket's credentials, named by the host's account database.
        let account = HostAccounts.user(caller.uid)
        let user = account?.name ?? "u\(caller.uid)"
        var groupNames: [UInt32: String] = [:]
        for g in [caller.gid] + caller.groups { groupNames[g] = HostAccounts.groupName(g) }
        let home = account.map(\.home).flatMap { Self.isDirectory($0) ? $0 : nil }
        let identity = RunIdentity(uid: caller.uid, gid: caller.gid, groups: caller.groups, user: user, groupNames: groupNames,
                                   home: home ?? "/", shell: "/bin/sh")
        // Where: the caller's directory (as the kernel says), bound in, unless it is the system's own.
        var volumes: [VolumeMount] = []
        if let home { volumes.append(VolumeMount(pathInContainer: home, pathOnHost: home, mode: .READ_WRITE)) }
        var workingDir = home ?? "/"
        if let cwd = caller.cwd, Self.isDirectory(cwd) {
            if Self.isSystemPath(cwd) {
                workingDir = "/"
            } else {
                workingDir = cwd
                if home.map({ cwd != $0 && !cwd.hasPrefix($0 + "/") }) ?? true {
                    volumes.append(VolumeMount(pathInContainer: cwd, pathOnHost: cwd, mode: .READ_WRITE))
                }
            }
        }
        var env = EnvFilter(config.envVarFilter).apply(request.env)
        env["HOME"] = home ?? "/"
        env["USER"] = user
        env["LOGNAME"] = user
        env["CORRAL_RUN"] = "1"
        let job = RunJob(identity: identity, workingDir: workingDir, hostname: config.containerHostname ?? executor.hostname,
                         runtime: config.runtime, tty: request.tty, grace: config.stopGracePeriod, hookTimeout: config.hookTimeout,
                         runnerPath: runnerPath, hooks: config.hooks)
        let spec = TaskSpec(sourceAppName: Self.sourceAppName, taskId: taskId,
                            executable: .docker(image: image, pullPolicy: .IF_NOT_PRESENT),
                            resources: ResourceRequest(cpus: request.cpus, memoryBytes: memory, gpus: request.gpus),
                            volumes: volumes, env: env, args: request.command, job: job)
        return .success(Prepared(spec: spec, config: config))
    }

    /// The app name `corral run` jobs are filed under (their logs: `<logPath>/corral-run/<taskId>/`).
    public static let sourceAppName = "corral-run"

    /// Without `-m`: the cores' share of the node's memory (each core's
    /// share of what the node offers, times the cores asked for).
    func defaultMemory(cpus: Int) -> UInt64 {
        let r = executor.resources
        let cores = max(1, r.offeredCPUs.count)
        let mib: UInt64 = 1 << 20
        return max(mib * 64, r.physicalMemoryBytes / UInt64(cores) * UInt64(cpus) / mib * mib)
    }

    static func isDirectory(_ path: String) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
    }

    /// Directories a job's own would shadow in the image: never bound in.
    static func isSystemPath(_ path: String) -> Bool {
        let system = ["/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr", "/var"]
        return system.contains(path) || ["/dev/", "/etc/", "/proc/", "/sys/", "/usr/", "/boot/", "/run/"].contains { path.hasPrefix($0) }
    }
}
