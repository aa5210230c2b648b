import CorralCore
import CorralEngines
import CorralHost
import CorralRuntime
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import ZooKeeperClient

/// Puts an executor together from a config and runs it: engines, state,
/// recovery, then the application and admin listeners in one ServiceGroup.
/// SIGTERM and SIGINT stop the listeners and return without stopping any
/// workload: the next start adopts them.
public struct ExecutorService: Sendable {
    public struct Plan: Sendable {
        public var config: ExecutorConfig
        public var resources: EffectiveResources
        public var hostname: String
        public var stateDir: String
        public var secret: Secret
        public var engines: [EngineKind: any Engine]
        public var warnings: [String]
        /// The stage processors, when `processors.config` names a file.
        public var processors: ProcessorsConfig? = nil
        /// The processors' CPUs: out of the offer, adoptable by instances that held them before.
        public var withheld = CPUSet()
        /// The key ring for values stored encrypted.
        public var secrets: SecretBox? = nil
        /// Where that key lives.
        public var secretKeyFile: String = ""
        /// `corral doctor`'s checks of this node, made at the start: logged
        /// once, and the ones not OK shown on /healthcheck.
        public var preparation: [DoctorFinding] = []
    }

    public enum Failure: Error, CustomStringConvertible {
        case refused(String)
        public var description: String {
            switch self { case .refused(let s): s }
        }
    }

    /// Everything that can be checked before listening: config, machine, engines, secret.
    public static func plan(config: ExecutorConfig, stateDir: String, fsroot: String = "/",
                            warnings configWarnings: [ConfigIssue] = []) async throws -> Plan {
        let root = FileSystemRoot(fsroot)
        let topology = try TopologyReader(root: root).read()
        let hostname = HostIdentity.hostname(configured: config.options.hostname, root: root)
        var (resources, issues) = EffectiveResources.compute(topology: topology, resources: config.resources, hostname: hostname)
        if let e = issues.first(where: { $0.severity == .error }) { throw Failure.refused(e.description) }
        var processors: ProcessorsConfig?
        var withheld = CPUSet()
        if let path = config.processors.config {
            let (loaded, all) = ProcessorsConfigLoader.loadChecked(path: path, topology: topology,
                                                                    offered: resources.offeredCPUs, osCores: resources.osCores)
            guard let loaded, !all.contains(where: { $0.severity == .error }) else {
                throw Failure.refused(ConfigError(file: path, issues: all).message)
            }
            issues += all
            processors = loaded
            // Processor CPUs belong to the pools: pinned instances never get them.
            withheld = loaded.allEntries.compactMap(\.cpuset).reduce(CPUSet()) { $0.union($1) }
            for i in resources.nodes.indices { resources.nodes[i].cpus.subtract(withheld) }
        }
        guard let secret = config.clusterAuth.secrets[.CONTROLLER] else {
            throw Failure.refused("clusterAuth has no CONTROLLER secret: the API would be open to anyone."
                                  + " Add one (or run `corral up`, which generates one).")
        }
        for (kind, list) in [("application", config.server.applicationConnectors), ("admin", config.server.adminConnectors)] {
            if list.isEmpty { throw Failure.refused("server.\(kind)Connectors is empty") }
            if let https = list.first(where: { $0.type == .https }) {
                throw Failure.refused("server.\(kind)Connectors: type https (port \(https.port)) is not supported yet;"
                                      + " put a TLS proxy in front or use type http")
            }
        }
        var warnings = (configWarnings + issues.filter { $0.severity == .warning }).map(\.description)
        var engines: [EngineKind: any Engine] = [:]
        do {
            // A recorded topology (--fsroot) is not this machine's: book as on it, pin nothing.
            let simulated = root.path != "/"
            if simulated { warnings.append("--fsroot \(fsroot): CPUs are booked as on that machine; native processes are not pinned here") }
            engines[.process] = try ProcessEngine(stateDir: "\(stateDir)/processes", appliesPinning: !simulated)
        } catch {
            warnings.append("process engine unavailable: \(error.message)")
        }
        let docker = DockerEngine(socketPath: config.options.dockerSocketPath,
                                  commandTimeout: config.options.containerCommandTimeout.duration,
                                  cacheImages: config.options.cacheImages,
                                  // One executor per state directory: its containers carry a hash of it.
                                  owner: SpecHash.of(URL(fileURLWithPath: stateDir).standardizedFileURL.path),
                                  registryAuth: config.dockerAuth)
        if FileManager.default.fileExists(atPath: config.options.dockerSocketPath), await docker.ping() {
            engines[.docker] = docker
        } else {
            warnings.append("no container engine answers on \(config.options.dockerSocketPath): DOCKER executables are refused")
        }
        if engines.isEmpty { throw Failure.refused("no engine is available") }
        let keyFile = config.options.secretKeyFile ?? "\(stateDir)/keys/secrets.key"
        let secrets: SecretBox
        do throws(SecretError) {
            warnings += FileModes.tighten((keyFile as NSString).deletingLastPathComponent, to: 0o700)
            secrets = try SecretBox.load(keyFile: keyFile)
        } catch {
            throw Failure.refused("options.secretKeyFile: \(error.message)")
        }
        let facts = NodeFactsReader(root: root).read(paths: DoctorReport.writtenPaths(config: config, stateDir: stateDir),
                                                     selfName: "the executor")
        let preparation = NodeDoctor(facts: facts, resources: resources, config: config).run()
        return Plan(config: config, resources: resources, hostname: hostname, stateDir: stateDir, secret: secret,
                    engines: engines, warnings: warnings, processors: processors, withheld: withheld,
                    secrets: secrets, secretKeyFile: keyFile, preparation: preparation)
    }

    public struct Listening: Sendable {
        public var application: [String]
        public var admin: [String]
    }

    /// Runs until SIGTERM or SIGINT. `onListening` gets the bound addresses.
    /// `onServiceGroup` gets the group before it runs (to shut it down
    /// gracefully without a signal, as tests do).
    public static func run(_ plan: Plan, logger: Logger,
                           onListening: @escaping @Sendable (Listening) async -> Void = { _ in },
                           onServiceGroup: @escaping @Sendable (ServiceGroup) async -> Void = { _ in }) async throws {
        let metrics = Metrics()
        let executor = try Executor(config: plan.config, resources: plan.resources, hostname: plan.hostname,
                                    stateDir: plan.stateDir, engines: plan.engines, withheld: plan.withheld, metrics: metrics,
                                    logger: logger)
        for note in executor.store.tightened { logger.notice("\(note): state files are Corral's alone") }
        let report = DoctorReport(hostname: plan.hostname, config: nil, findings: plan.preparation)
        logger.info("node preparation checked (corral doctor explains each)",
                    metadata: ["ok": "\(report.summary.ok)", "warn": "\(report.summary.warn)", "fail": "\(report.summary.fail)"])
        for f in plan.preparation where f.status != .ok {
            logger.warning("node preparation \(f.status.rawValue): \(f.check.rawValue)\(f.subject.map { " (\($0))" } ?? ""): \(f.saw)\(f.fix.map { "; fix: \($0)" } ?? "")")
        }
        let recovered = try await executor.recover()
        let apps = AppReconciler(executor: executor, store: executor.store, secrets: plan.secrets)
        logger.info("recovered state", metadata: ["adopted": "\(recovered.adopted.count)", "lost": "\(recovered.lost.count)",
                                                  "finished": "\(recovered.finished.count)", "reaped": "\(recovered.reaped.count)"])
        let env = ProcessInfo.processInfo.environment
        let logPath = plan.config.logging.instanceLogs?.logPath ?? "\(plan.stateDir)/logs"
        // Shut down in reverse order: listeners first, then stages, apps, and last the supervisors.
        var services: [any Service] = [executor.workloads, apps]
        var stages: StageDispatcher?
        if let processors = plan.processors {
            let jobs = StoredJobs(store: executor.store, metrics: metrics, logger: logger)
            let d = StageDispatcher(config: processors, logDir: plan.config.processors.logDir ?? "\(logPath)/processors",
                                    cgroups: .detect(parentName: "corral"), environment: env, store: jobs)
            // Pool CPUs are withheld from new instances; instances adopted from
            // before the pools were configured may still hold some of them.
            let overlaps = ProcessorsPlacementCheck.overlaps(processors, pinned: StateStore.pinned(executor.store.loadOrLog(logger)),
                                                             file: plan.config.processors.config ?? "processors")
            for w in overlaps { logger.warning("\(w)") }
            await d.note(warnings: overlaps.map(\.description))
            await d.start()
            do {
                await d.restore(try executor.store.loadJobs())
            } catch {
                logger.error("cannot read the stage jobs from before the restart", metadata: ["error": "\(error.message)"])
            }
            let snap = await d.snapshot()
            let ready = snap.stages.flatMap(\.processors).filter { $0.state == .ready }.count
            logger.info("stage processors started", metadata: ["ready": "\(ready)", "configured": "\(processors.allEntries.count)"])
            stages = d
            services.append(StageService(dispatcher: d, store: jobs))
        }
        // The metadata providers, before anything is published.
        if !plan.config.resources.metadata.providers.isEmpty {
            let metadata = ExecutorMetadata(config: plan.config.resources.metadata, environment: env, executor: executor, logger: logger)
            await metadata.collect()
            services.append(metadata)
        }
        var cluster: (any ClusterLink)?
        if plan.config.options.remoteUpdateMode == .RPC, let controllers = plan.config.controllers {
            cluster = ControllerLink(executor: executor, controllers: controllers, options: plan.config.options,
                                     clusterAuth: plan.config.clusterAuth, metrics: metrics, logger: logger)
            services.append(cluster!)
        } else if let zookeeper = plan.config.zookeeper {
            do throws(ZooKeeperConnectionString.ParseError) {
                cluster = try ClusterMember(executor: executor, zookeeper: zookeeper, clusterAuth: plan.config.clusterAuth,
                                            metrics: metrics, logger: logger, sessionTimeout: zookeeper.sessionTimeout.duration)
            } catch {
                throw Failure.refused("zookeeper.connectionString: \(error.reason) (allowed: host:port[,host:port...][/chroot])")
            }
            // Before the listeners: it leaves the cluster after they stop.
            services.append(cluster!)
        }
        // `corral run`'s socket, bound before anything listens: a job can be
        // sent as soon as the executor says it is up. A socket that cannot be
        // bound leaves the rest of the executor running.
        let runSocketPath = plan.config.options.runSocketPath
        if !runSocketPath.isEmpty {
            let desk = RunDesk(configPath: plan.config.options.runConfigPath, executor: executor, logger: logger)
            await executor.serveRuns(desk)
            do {
                let remote = cluster.map {
                    RemoteRunControl.Link(cluster: $0, executorSecret: plan.config.clusterAuth.secrets[.EXECUTOR],
                                          controllerSecret: plan.config.clusterAuth.secrets[.CONTROLLER])
                }
                let socket = try await RunSocket.bind(path: runSocketPath, desk: desk, executor: executor, remote: remote, logger: logger)
                services.append(socket)
                logger.info("corral run socket listening", metadata: ["path": "\(runSocketPath)", "config": "\(desk.configPath)"])
            } catch {
                logger.error("corral run socket \(runSocketPath) could not be bound: corral run is unavailable here", metadata: ["error": "\(error)"])
            }
        }
        let bound = BoundAddresses()
        let appCount = plan.config.server.applicationConnectors.count
        let total = appCount + plan.config.server.adminConnectors.count
        for (i, c) in (plan.config.server.applicationConnectors + plan.config.server.adminConnectors).enumerated() {
            let isApp = i < appCount
            let router = isApp
                ? ExecutorAPI.applicationRouter(executor: executor, secret: plan.secret, metrics: metrics, environment: env,
                                                apps: apps, stages: stages, requestLog: plan.config.server.requestLog.appenders,
                                                cluster: cluster, logger: logger)
                : ExecutorAPI.adminRouter(executor: executor, metrics: metrics, logPath: logPath, stages: stages, cluster: cluster,
                                          preparation: plan.preparation.filter { $0.status != .ok })
            var appLogger = logger
            appLogger.logLevel = .warning
            let app = Application(
                router: router,
                server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(clamping: c.idleTimeout.nanoseconds)))),
                configuration: .init(address: .hostname(c.bindHost ?? "0.0.0.0", port: c.port),
                                     serverName: "corral"),
                onServerRunning: { [cluster] channel in
                    let address = channel.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
                    if isApp, let port = channel.localAddress?.port { await cluster?.setPort(port) }
                    if let all = await bound.add(address, application: isApp, expected: total) {
                        await onListening(all)
                    }
                },
                logger: appLogger)
            services.append(app)
        }
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        await onServiceGroup(group)
        try await group.run()
        logger.info("stopped listening; workloads keep running and are adopted on the next start")
    }

    actor BoundAddresses {
        var application: [String] = []
        var admin: [String] = []
        func add(_ a: String, application isApp: Bool, expected: Int) -> Listening? {
            if isApp { application.append(a) } else { admin.append(a) }
            return application.count + admin.count == expected ? Listening(application: application, admin: admin) : nil
        }
    }
}
