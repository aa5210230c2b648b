import AsyncHTTPClient
import CorralCore
import CorralRuntime
import Foundation
import Logging
import NIOCore

/// Sends Drove messages from the executor to the leader controller
/// (`POST /apis/v1/messages` with the EXECUTOR secret): every workload state
/// change as a state report, and (in RPC mode) the executor's snapshots.
/// Drove's rule for retries: three attempts a second apart.
actor StateReporter {
    let executor: Executor
    let secret: Secret?
    let http: HTTPClient
    let timeout: Duration
    let metrics: Metrics
    let logger: Logger
    private(set) var sent = 0
    private(set) var failed = 0
    private var warnedNoSecret = false

    init(executor: Executor, secret: Secret?, http: HTTPClient = .shared, timeout: Duration = .seconds(2), metrics: Metrics, logger: Logger) {
        self.executor = executor
        self.secret = secret
        self.http = http
        self.timeout = timeout
        self.metrics = metrics
        self.logger = logger
    }

    /// Reports every workload change to the leader `leader()` names, as it happens.
    func run(id: String, leader: @escaping @Sendable () async -> String?) async {
        let changes = await executor.changes(coalescing: false)
        for await change in changes {
            guard case .workload(let info) = change, let endpoint = await leader() else { continue }
            guard let body = await report(info, id: id) else { continue }
            await send(body, to: endpoint, what: "a state report of \(info.instanceId)")
        }
    }

    /// The state report of one workload, as Drove's controller reads it.
    func report(_ info: InstanceInfo, id: String) async -> Data? {
        let snapshot = await executor.resourceSnapshot(executorId: id)
        let hostname = await executor.hostname
        switch info.kind {
        case .application:
            let drove = DroveInstanceInfo(info, spec: await executor.instanceSpec(info.instanceId), executorId: id,
                                          hostname: hostname, resources: executor.resources)
            if await executor.isLocalService(info.instanceId) {
                return try? ExecutorNodeData.encoder.encode(DroveMessage.StateReport(
                    type: .LOCAL_SERVICE_INSTANCE_STATE_REPORT, header: .executorRequest(), resourceSnapshot: snapshot,
                    instanceInfo: DroveLocalServiceInstanceInfo(drove)))
            }
            return try? ExecutorNodeData.encoder.encode(DroveMessage.StateReport(type: .INSTANCE_STATE_REPORT, header: .executorRequest(),
                                                                                 resourceSnapshot: snapshot, instanceInfo: drove))
        case .task:
            let drove = DroveTaskInfo(info, spec: await executor.taskSpec(info.instanceId), executorId: id,
                                      hostname: hostname, resources: executor.resources)
            return try? ExecutorNodeData.encoder.encode(DroveMessage.StateReport(type: .TASK_STATE_REPORT, header: .executorRequest(),
                                                                                 resourceSnapshot: snapshot, instanceInfo: drove))
        }
    }

    /// Sends one message; whether the leader took it.
    @discardableResult
    func send(_ body: Data, to endpoint: String, what: String) async -> Bool {
        guard let secret else {
            if !warnedNoSecret {
                warnedNoSecret = true
                logger.warning("clusterAuth has no EXECUTOR secret: messages to the controller (state reports, snapshots) are not sent")
            }
            return false
        }
        var request = HTTPClientRequest(url: endpoint + "/apis/v1/messages")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "NodeId", value: await executor.hostname)
        request.headers.add(name: "Cluster-Authorization", value: secret.value)
        request.body = .bytes(ByteBuffer(data: body))
        for attempt in 1...3 {
            do {
                let response = try await http.execute(request, timeout: TimeAmount(timeout))
                _ = try? await response.body.collect(upTo: 1 << 16)
                if (200..<300).contains(Int(response.status.code)) {
                    sent += 1
                    metrics.increment(.clusterReports, [("result", "sent")])
                    return true
                }
            } catch {}
            if attempt < 3 { try? await Task.sleep(for: .seconds(1)) }
        }
        failed += 1
        metrics.increment(.clusterReports, [("result", "failed")])
        logger.warning("the leader controller did not take \(what)", metadata: ["leader": "\(endpoint)"])
        return false
    }
}
