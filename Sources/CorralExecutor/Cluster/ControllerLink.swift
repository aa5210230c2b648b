import AsyncHTTPClient
import CorralCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// The executor's cluster membership without ZooKeeper (Drove v1.33's
/// `options.remoteUpdateMode: RPC`):
/// - finds the leader by asking every URL of `controllers.endpoints` for
///   `/apis/v1/ping` every `leadershipCheckInterval` (only the leader answers
///   200), within `controllerConnectTimeout` / `controllerResponseTimeout`;
/// - pushes its ``ExecutorNodeData`` to the leader as EXECUTOR_SNAPSHOT
///   messages: when something changes (debounced), when a new leader is
///   found, and as a heartbeat; the controller keeps it in ZooKeeper and
///   forgets it when the snapshots stop;
/// - reports every workload state change to the leader, as in STORE mode.
public actor ControllerLink: ClusterLink {
    let executor: Executor
    let endpoints: [String]
    let checkInterval: Duration
    let http: HTTPClient
    let reporter: StateReporter
    let logger: Logger
    private let port = PortLatch()
    private let cadence: PublishCadence
    private var leader: String?
    public var leaderEndpoint: String? { leader }
    private var identity: (port: Int, id: String)?
    private var lastPublished: ExecutorNodeData?
    private var lastWriteWall: Double?
    private var snapshots = 0
    private var outageSince: Date?

    /// The snapshot is pushed at least this often (and at least every
    /// `leadershipCheckInterval`): well inside a controller's
    /// `staleExecutorAge` (45 s by default).
    public static let defaultHeartbeat = Duration.seconds(15)

    public init(executor: Executor, controllers: ControllersConfig, options: ExecutorOptions, clusterAuth: ClusterAuthConfig,
                metrics: Metrics, logger: Logger, heartbeat: Duration = ControllerLink.defaultHeartbeat,
                debounce: Duration = ClusterMember.defaultDebounce) {
        self.executor = executor
        endpoints = controllers.endpoints
        checkInterval = controllers.leadershipCheckInterval.duration
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .nanoseconds(Int64(options.controllerConnectTimeout.nanoseconds)),
                                      read: .nanoseconds(Int64(options.controllerResponseTimeout.nanoseconds)))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let response = options.controllerResponseTimeout.duration + options.controllerConnectTimeout.duration
        reporter = StateReporter(executor: executor, secret: clusterAuth.secrets[.EXECUTOR], http: http, timeout: response,
                                 metrics: metrics, logger: logger)
        cadence = PublishCadence(debounce: debounce, heartbeat: min(heartbeat, controllers.leadershipCheckInterval.duration))
        self.logger = logger
    }

    public func setPort(_ port: Int) async { await self.port.set(port) }

    public func run() async throws {
        let port = await self.port.wait()
        let id = DroveIdentity.executorId(hostname: executor.hostname, port: port)
        identity = (port, id)
        logger.info("joining the cluster through the controllers (remoteUpdateMode RPC)",
                    metadata: ["controllers": "\(endpoints.joined(separator: ","))", "executorId": "\(id)"])
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.followLeader(port: port, id: id) }
                group.addTask {
                    await self.cadence.run(changes: await self.executor.changes(coalescing: true)) { force in
                        await self.publish(port: port, id: id, force: force)
                    }
                }
                group.addTask { await self.reporter.run(id: id) { await self.leader } }
            }
        }
        try? await http.shutdown()
        logger.info("left the cluster")
    }

    // MARK: - The leader

    private func followLeader(port: Int, id: String) async {
        while !Task.isCancelled {
            let found = await findLeader()
            if found != leader {
                if let found {
                    logger.info("the leader controller is \(found)")
                    if let since = outageSince {
                        logger.notice("a leader controller answers again after \(Int(Date().timeIntervalSince(since).rounded())) s")
                        outageSince = nil
                    }
                } else {
                    logger.warning("no controller of \(endpoints.joined(separator: ", ")) answers as the leader: instances keep running; snapshots resume when one does")
                    outageSince = Date()
                }
                leader = found
                // A new leader gets the whole picture at once.
                if found != nil, await publish(port: port, id: id, force: true) { await cadence.wrote() }
            }
            try? await Task.sleep(for: checkInterval)
        }
    }

    /// The first endpoint whose `/apis/v1/ping` answers 200 (followers answer 400).
    func findLeader() async -> String? {
        for endpoint in endpoints {
            let request = HTTPClientRequest(url: endpoint + "/apis/v1/ping")
            guard let response = try? await http.execute(request, timeout: .seconds(5)) else { continue }
            _ = try? await response.body.collect(upTo: 1 << 16)
            if response.status.code == 200 { return endpoint }
        }
        return nil
    }

    // MARK: - Snapshots

    /// Drove's `ExecutorSnapshotMessage`.
    struct Snapshot: Encodable {
        var type = DroveMessage.ControllerMessageType.EXECUTOR_SNAPSHOT
        var header: DroveMessage.Header
        var nodeData: ExecutorNodeData
    }

    /// Sends the snapshot if it changed (or `force`); whether one was sent.
    @discardableResult
    func publish(port: Int, id: String, force: Bool) async -> Bool {
        guard let leader else { return false }
        let data = await executor.nodeData(port: port, executorId: id)
        if !force, let last = lastPublished, last.sameContent(as: data) { return false }
        guard let body = try? ExecutorNodeData.encoder.encode(Snapshot(header: .executorRequest(), nodeData: data)) else { return false }
        if await reporter.send(body, to: leader, what: "the executor's snapshot") {
            lastPublished = data
            lastWriteWall = Date().timeIntervalSince1970
            snapshots += 1
        }
        return true
    }

    // MARK: - Status

    public func status() async -> ClusterStatus {
        let bound = await port.value ?? 0
        let id = identity?.id ?? DroveIdentity.executorId(hostname: executor.hostname, port: bound)
        return ClusterStatus(mode: RemoteUpdateMode.RPC.rawValue, namespace: "", connectionString: endpoints.joined(separator: ","),
                             connected: leader != nil, session: nil, state: leader == nil ? "no leader" : "leader found",
                             node: "kept by the leader controller", executorId: id,
                             executorState: await executor.clusterState.rawValue, lastPublish: lastWriteWall, nodeWrites: snapshots,
                             leader: leader, outageSince: outageSince?.timeIntervalSince1970,
                             reportsSent: await reporter.sent, reportsFailed: await reporter.failed)
    }
}
