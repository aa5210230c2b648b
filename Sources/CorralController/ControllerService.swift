import AsyncHTTPClient
import CorralCore
import CorralExecutor
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import ZooKeeperClient

/// `corral controller`: the ZooKeeper session, the executor roster, the
/// leader election and the application engine in one ``Service``, and the
/// REST API beside it in one ServiceGroup. SIGTERM and SIGINT leave the
/// election (a follower takes over at once) without touching any workload.
public struct ControllerService: Sendable {
    public struct Listening: Sendable { public var address: String; public var port: Int }

    public enum Failure: Error, CustomStringConvertible {
        case refused(String)
        public var description: String { switch self { case .refused(let s): s } }
    }

    /// Runs until SIGTERM or SIGINT (or the group is shut down: `onServiceGroup` hands it out).
    public static func run(config: ControllerConfig, hostname: String, logger: Logger,
                           onListening: @escaping @Sendable (Listening) async -> Void = { _ in },
                           onServiceGroup: @escaping @Sendable (ServiceGroup) async -> Void = { _ in }) async throws {
        guard let connector = config.server.applicationConnectors.first else { throw Failure.refused("server.applicationConnectors is empty") }
        if connector.type == .https {
            throw Failure.refused("server.applicationConnectors: type https (port \(connector.port)) is not supported yet; put a TLS proxy in front or use type http")
        }
        let cs: ZooKeeperConnectionString
        do { cs = try ZooKeeperConnectionString(config.zookeeper.connectionString) } catch {
            throw Failure.refused("zookeeper.connectionString: \(error.reason) (allowed: host:port[,host:port...][/chroot])")
        }
        guard let controllerSecret = config.clusterAuth.secrets[.CONTROLLER] else {
            throw Failure.refused("clusterAuth has no CONTROLLER secret: executors would refuse the controller's messages, and the cluster key that seals env values is derived from it")
        }
        if config.clusterAuth.secrets[.EXECUTOR] == nil {
            logger.warning("clusterAuth has no EXECUTOR secret: executors' state reports are refused (their node data is still watched)")
        }
        var zkLogger = logger
        zkLogger.logLevel = max(logger.logLevel, .warning)
        let credentials = ZooKeeperCredentials(controllerSecret: controllerSecret)
        let zk = ZooKeeperClient(ZooKeeperClientConfiguration(connectionString: cs, sessionTimeout: config.zookeeper.sessionTimeout.duration,
                                                              authentication: [credentials.authentication], logger: zkLogger))
        let paths = ControllerPaths(namespace: config.zookeeper.namespace)
        let store = ClusterStore(zk: zk, paths: paths, acl: credentials.acl)
        let roster = ExecutorRoster(zk: zk, paths: paths, logger: logger)
        let leadership = Leadership(zk: zk, paths: paths, hostname: hostname, logger: logger)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let messenger = ExecutorMessenger(http: http, secret: controllerSecret, nodeId: hostname)
        let sealer = SecretBox(current: SecretBox.clusterKey(fromControllerSecret: controllerSecret.value))
        let events = ClusterEvents(retention: config.options.maxEventsStorageDuration.duration)
        let engine = ApplicationEngine(store: store, messenger: messenger, sealer: sealer, options: config.options,
                                       leadership: leadership, events: events, logger: logger)
        let snapshots = SnapshotRegistry(zk: zk, paths: paths, acl: credentials.acl, staleAge: config.options.staleExecutorAge.duration,
                                         logger: logger)
        let core = ControllerCore(zk: zk, roster: roster, leadership: leadership, engine: engine, options: config.options,
                                  http: http, connection: "\(cs)", snapshots: snapshots, logger: logger)
        let api = ControllerAPI.router(.init(engine: engine, roster: roster, leadership: leadership, users: UserAuthenticator(config.userAuth),
                                             options: config.options, executorSecret: config.clusterAuth.secrets[.EXECUTOR],
                                             messenger: messenger, events: events, logger: logger, snapshots: snapshots))
        var appLogger = logger
        appLogger.logLevel = .warning
        let app = Application(
            router: api,
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(clamping: connector.idleTimeout.nanoseconds)))),
            configuration: .init(address: .hostname(connector.bindHost ?? "0.0.0.0", port: connector.port), serverName: "corral"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? connector.port
                await core.setPort(port)
                await onListening(Listening(address: channel.localAddress?.ipAddress ?? "?", port: port))
            },
            logger: appLogger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: core), .init(service: app)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        await onServiceGroup(group)
        try await group.run()
    }
}

/// The long-lived work of a controller: ZooKeeper, the roster's watch, the
/// election, and (while leading) the engine and its monitor.
actor ControllerCore: Service {
    let zk: ZooKeeperClient
    let roster: ExecutorRoster
    let leadership: Leadership
    let engine: ApplicationEngine
    let options: ControllerOptions
    let http: HTTPClient
    let connection: String
    let snapshots: SnapshotRegistry
    let logger: Logger
    private let port = PortLatch()

    init(zk: ZooKeeperClient, roster: ExecutorRoster, leadership: Leadership, engine: ApplicationEngine, options: ControllerOptions,
         http: HTTPClient, connection: String, snapshots: SnapshotRegistry, logger: Logger) {
        self.zk = zk
        self.roster = roster
        self.leadership = leadership
        self.engine = engine
        self.options = options
        self.http = http
        self.connection = connection
        self.snapshots = snapshots
        self.logger = logger
    }

    func setPort(_ p: Int) async { await port.set(p) }

    func run() async throws {
        let port = await self.port.wait()
        await zk.start()
        logger.info("controller started", metadata: ["zookeeper": "\(connection)", "port": "\(port)"])
        let engine = self.engine, roster = self.roster, leadership = self.leadership, zk = self.zk
        let stale = options.staleExecutorAge.duration
        let cleanEvery = options.staleCheckInterval.duration
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await roster.run() }
                group.addTask { await self.snapshots.run(every: .seconds(1)) }
                group.addTask { await leadership.run(port: port) }
                group.addTask {
                    for await change in await roster.changes() {
                        switch change {
                        case .updated(let d): await engine.executorUpdated(d)
                        case .removed(let id, _, let reason): await engine.executorRemoved(id, reason: reason)
                        }
                    }
                }
                group.addTask {
                    for await leading in await leadership.updates() {
                        if leading { await engine.takeOver() } else { await engine.stepDown() }
                    }
                }
                group.addTask {
                    var lastState = ""
                    for await state in await zk.stateUpdates() {
                        let s = "\(state)"
                        if s != lastState { self.logger.info("ZooKeeper session \(s)") }
                        lastState = s
                    }
                }
                group.addTask {
                    // The monitor and the staleness sweep; the stale data cleaner every staleCheckInterval.
                    var lastClean = ContinuousClock.now
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        await roster.sweep(staleAfter: stale)
                        await engine.retakeIfNeeded()
                        await engine.monitor()
                        if ContinuousClock.now - lastClean >= cleanEvery {
                            lastClean = .now
                            await engine.cleanStale()
                        }
                    }
                }
            }
        }
        await engine.stepDown()
        await zk.close()
        try? await http.shutdown()
        logger.info("controller stopped; workloads keep running")
    }
}
