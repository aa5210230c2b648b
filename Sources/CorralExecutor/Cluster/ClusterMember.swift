import AsyncHTTPClient
import CorralCore
import CorralRuntime
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import ZooKeeperClient

/// Makes the executor a member of a Drove-style cluster (the executor YAML's
/// `zookeeper:` section):
/// - publishes ``ExecutorNodeData`` as an EPHEMERAL node at
///   `/<namespace>/executor/<hostname>-<port>` (kept in place across
///   reconnects and recreated after an expiry);
/// - rewrites it when something changes, at most once per debounce window,
///   and otherwise only as often as a Drove controller's staleness rule
///   needs (``defaultHeartbeat``), instead of Drove's blind 20 s rewrite;
/// - follows the leader controller through a watch on
///   `/<namespace>/controller` (no polling) and reports every workload state
///   change to it (`INSTANCE_STATE_REPORT`, `TASK_STATE_REPORT`);
/// - rides out ZooKeeper outages: nothing running is touched, the outage is
///   logged once when it starts and once when it ends.
public actor ClusterMember: ClusterLink {

    /// Drove's controller drops executors whose `updated` is older than
    /// `staleExecutorAge` (45 s) and polls every 10 s: a rewrite every 30 s
    /// keeps the node fresh with margin; changes are written when they happen.
    public static let defaultHeartbeat = Duration.seconds(30)
    public static let defaultDebounce = Duration.milliseconds(200)

    public nonisolated let namespace: String
    let executor: Executor
    let zk: ZooKeeperClient
    let connectionString: ZooKeeperConnectionString
    let reporter: StateReporter
    let logger: Logger
    let metrics: Metrics

    private let port = PortLatch()
    private let cadence: PublishCadence
    private var node: EphemeralNode?
    private var lastPublished: ExecutorNodeData?
    private var lastWriteWall: Double?
    private var session: ZooKeeperSessionState = .connecting
    private var outageSince: Date?
    private var leader: ControllerNodeData?
    private var identity: (port: Int, id: String)?

    public init(executor: Executor, zookeeper: ZookeeperConfig, clusterAuth: ClusterAuthConfig, metrics: Metrics,
                logger: Logger, sessionTimeout: Duration = .seconds(30),
                debounce: Duration = ClusterMember.defaultDebounce,
                heartbeat: Duration = ClusterMember.defaultHeartbeat) throws(ZooKeeperConnectionString.ParseError) {
        connectionString = try ZooKeeperConnectionString(zookeeper.connectionString)
        self.executor = executor
        self.namespace = zookeeper.namespace
        reporter = StateReporter(executor: executor, secret: clusterAuth.secrets[.EXECUTOR], metrics: metrics, logger: logger)
        cadence = PublishCadence(debounce: debounce, heartbeat: heartbeat)
        self.metrics = metrics
        // The client's own connect/lose lines repeat what this type logs.
        var zkLogger = logger
        zkLogger.logLevel = max(logger.logLevel, .warning)
        self.logger = logger
        zk = ZooKeeperClient(ZooKeeperClientConfiguration(connectionString: connectionString, sessionTimeout: sessionTimeout,
                                                          logger: zkLogger))
    }

    /// The port controllers reach this executor on (the first application
    /// connector, once it is bound).
    public func setPort(_ port: Int) async { await self.port.set(port) }

    var basePath: String { "/" + namespace }

    func nodePath(_ port: Int) async -> String {
        ZooKeeperPath.join(basePath + "/executor", DroveIdentity.nodeName(hostname: await executor.hostname, port: port))
    }

    func executorId(_ port: Int) async -> String { DroveIdentity.executorId(hostname: await executor.hostname, port: port) }

    public func run() async throws {
        let port = await self.port.wait()
        let id = await executorId(port)
        identity = (port, id)
        let path = await nodePath(port)
        metrics.set(.clusterConnected, [], 0)
        await zk.start()
        let first = await executor.nodeData(port: port, executorId: id)
        let node = EphemeralNode(client: zk, path: path, data: first.encoded())
        self.node = node
        lastPublished = first
        await node.start()
        logger.info("joining the cluster", metadata: ["zookeeper": "\(connectionString)", "node": "\(path)", "executorId": "\(id)"])
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.followSession() }
                group.addTask {
                    await self.cadence.run(changes: await self.executor.changes(coalescing: true)) { force in
                        await self.publish(port: port, id: id, force: force)
                    }
                }
                group.addTask { await self.followLeader() }
                group.addTask { await self.reporter.run(id: id) { await self.leaderEndpoint } }
            }
        }
        // Leaving: the node goes now rather than at the session's expiry.
        await node.close()
        await zk.close()
        logger.info("left the cluster")
    }

    // MARK: - Publishing

    /// Writes the node if its content changed (or `force`, the heartbeat);
    /// whether it wrote. The cadence's window starts when the write is done:
    /// writes are at least a window apart as ZooKeeper sees them.
    @discardableResult
    func publish(port: Int, id: String, force: Bool) async -> Bool {
        guard let node else { return false }
        let data = await executor.nodeData(port: port, executorId: id)
        if !force, let last = lastPublished, last.sameContent(as: data) { return false }
        lastPublished = data
        do {
            try await node.update(data.encoded())
            if await node.isInPlace {
                lastWriteWall = Date().timeIntervalSince1970
                metrics.increment(.clusterNodeWrites)
            }
        } catch {
            // The node keeps the new data and writes it when the session is back.
            logger.debug("node update deferred", metadata: ["error": "\(error)"])
        }
        return true
    }

    /// Writes made to the executor's node (creates and rewrites).
    public func nodeWrites() async -> Int { await node?.writeCount ?? 0 }

    // MARK: - Session

    private func followSession() async {
        for await state in await zk.stateUpdates() {
            session = state
            switch state {
            case .connected(let s, let isNew):
                metrics.set(.clusterConnected, [], 1)
                if let since = outageSince {
                    let seconds = Int(Date().timeIntervalSince(since).rounded())
                    logger.notice("ZooKeeper is reachable again after \(seconds) s\(isNew ? "; new session, the executor's node is recreated" : "; same session")",
                                  metadata: ["session": "\(s.idHex)", "server": "\(s.server)"])
                    outageSince = nil
                    // Same session: the node is still there but writes made
                    // during the outage did not reach it (a new session's node
                    // is recreated with the latest data by EphemeralNode).
                    if !isNew, let identity, await publish(port: identity.port, id: identity.id, force: true) {
                        await cadence.wrote()
                    }
                } else {
                    logger.info("connected to ZooKeeper", metadata: ["session": "\(s.idHex)", "server": "\(s.server)"])
                }
            case .suspended, .expired, .connecting:
                metrics.set(.clusterConnected, [], 0)
                if outageSince == nil, state != .connecting {
                    outageSince = Date()
                    logger.warning("ZooKeeper is unreachable: instances keep running and this executor keeps serving its API; it re-registers when the ensemble is back",
                                   metadata: ["zookeeper": "\(connectionString)"])
                }
            case .closed:
                metrics.set(.clusterConnected, [], 0)
                return
            }
        }
    }

    // MARK: - The leader

    private func followLeader() async {
        let dir = basePath + "/controller"
        while !Task.isCancelled {
            do {
                let events = try await zk.addWatch(dir, recursive: true)
                await refreshLeader(dir)
                for try await _ in events { await refreshLeader(dir) }
            } catch {
                if Task.isCancelled { return }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func refreshLeader(_ dir: String) async {
        do {
            let names = try await zk.getChildren(dir).children.sorted()
            var found: ControllerNodeData?
            for name in names {
                guard let bytes = try? await zk.getData(ZooKeeperPath.join(dir, name)).data,
                      let data = try? JSONDecoder().decode(ControllerNodeData.self, from: Data(bytes)) else { continue }
                if data.leader { found = data; break }
            }
            if found != leader {
                logger.info(found.map { "the leader controller is \($0.endpoint)" } ?? "no leader controller is known")
            }
            leader = found
        } catch let error as ZooKeeperError where error.code == .noNode {
            leader = nil
        } catch {
            logger.debug("cannot read the controllers", metadata: ["error": "\(error)"])
        }
    }

    public var leaderEndpoint: String? { leader?.endpoint }

    // MARK: - Status

    public func status() async -> ClusterStatus {
        let port = await self.port.value ?? 0
        var sessionHex: String?
        if case .connected(let s, _) = session { sessionHex = s.idHex }
        return ClusterStatus(mode: RemoteUpdateMode.STORE.rawValue, namespace: namespace, connectionString: connectionString.description, connected: session.isConnected,
                      session: sessionHex, state: session.description, node: await nodePath(port),
                      executorId: await executorId(port), executorState: await executor.clusterState.rawValue,
                      lastPublish: lastWriteWall, nodeWrites: await nodeWrites(), leader: leader?.endpoint,
                      outageSince: outageSince?.timeIntervalSince1970, reportsSent: await reporter.sent, reportsFailed: await reporter.failed)
    }
}
