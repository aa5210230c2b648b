import AsyncHTTPClient
import CorralCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// One `corral run --cluster` job, seen from the executor whose socket took
/// it: the leader places it (``RemoteRunJob`` to its `/apis/v1/corral/run-jobs`
/// with the EXECUTOR secret), the executor it lands on starts it, and this
/// one relays it to the client: the job's log as it grows (stdout and stderr
/// come as one stream: the log keeps them together), stop signals as a
/// cancel of the task there, and its exit status.
public actor RemoteRunControl {
    /// What reaching the cluster takes: the link that knows the leader, and
    /// the secrets for the leader (EXECUTOR) and for executors (CONTROLLER).
    public struct Link: Sendable {
        public var cluster: any ClusterLink
        public var executorSecret: Secret?
        public var controllerSecret: Secret?
        public init(cluster: any ClusterLink, executorSecret: Secret?, controllerSecret: Secret?) {
            self.cluster = cluster
            self.executorSecret = executorSecret
            self.controllerSecret = controllerSecret
        }
    }

    let job: RemoteRunJob
    let link: Link
    let output: ClientOutput
    let logger: Logger
    let http: HTTPClient
    private var cancelledBy: Int32?
    private var cancelSent = false
    private var placement: RemoteRunJob.Placement?
    /// Cut short by a stop signal.
    private let alarm = Alarm()
    private var ended = false

    init(job: RemoteRunJob, link: Link, output: ClientOutput, logger: Logger, http: HTTPClient = .shared) {
        self.job = job
        self.link = link
        self.output = output
        self.logger = logger
        self.http = http
    }

    /// How often the job's state and log are read where it runs: often at
    /// first, so a short job's end is seen soon after it comes, then less
    /// (a quarter longer each time) down to every `slowestPoll` for a job
    /// that runs on.
    static let firstPoll = Duration.milliseconds(20)
    static let slowestPoll = Duration.milliseconds(500)

    static func poll(after interval: Duration) -> Duration { min(slowestPoll, interval * 5 / 4) }
    /// How long the job may be out of sight (its executor silent, or not
    /// showing it) before its end is given up as unknown.
    static let patience = Duration.seconds(120)

    func run() async -> Result<RunOutcome, RunFailure> {
        defer { ended = true }
        let placed: RemoteRunJob.Placement
        switch await place() {
        case .failure(let f): return .failure(f)
        case .success(let p): placed = p
        }
        placement = placed
        logger.info("corral run \(job.taskId): placed by the leader", metadata: ["executor": "\(placed.hostname):\(placed.port)", "instanceId": "\(placed.instanceId)"])
        if cancelledBy != nil { await sendCancel() }
        var offset: Int64 = 0
        var missingSince: ContinuousClock.Instant?
        var interval = Self.firstPoll
        while true {
            offset = await relayLog(from: offset, at: placed)
            switch await state(at: placed) {
            case .unreachable, .unknown:
                // Not there (yet: the start may still be on its way), or the
                // executor does not answer (a restart adopts the job): for a while.
                let since = missingSince ?? .now
                missingSince = since
                if ContinuousClock.now - since > Self.patience {
                    return .failure(RunFailure(.startFailed, "executor \(placed.hostname):\(placed.port), where the leader placed task \(job.taskId), "
                        + "has not shown it for \(Int(Self.patience.seconds)) s; its exit status is unknown"))
                }
            case .known(let s):
                missingSince = nil
                if s.isEnded {
                    _ = await relayLog(from: offset, at: placed, all: true)
                    let whereRan = "on \(placed.hostname):\(placed.port)"
                    if let code = s.exitCode {
                        let how = cancelledBy.map { "cancelled by signal \($0); " } ?? ""
                        return .success(RunOutcome(status: code, taskId: job.taskId, summary: how + (s.lastError ?? "exited with code \(code)") + " " + whereRan))
                    }
                    if let sig = cancelledBy { return .success(RunOutcome(status: 128 + sig, taskId: job.taskId, summary: "cancelled by signal \(sig) \(whereRan)")) }
                    return .failure(RunFailure(.startFailed, "task \(job.taskId) \(whereRan) ended without an exit status: \(s.lastError ?? s.state)"))
                }
            }
            await alarm.sleep(for: interval)
            interval = Self.poll(after: interval)
        }
    }

    /// A signal from the client: a stop signal cancels the task where it
    /// runs (the job gets SIGTERM, its grace, then its cleanup hooks); other
    /// signals do not cross nodes.
    func signal(_ s: Int32) async {
        guard RunJobControl.stopSignals.contains(s) else {
            output.frames.yield(RunFrame(.progress, Array("signal \(s) is not passed on to a job on another node".utf8)))
            return
        }
        guard cancelledBy == nil else { return }
        cancelledBy = s
        if placement != nil { await sendCancel() }
        alarm.ring()
    }

    func clientGone() async {
        guard cancelledBy == nil, !ended else { return }
        logger.warning("corral run \(job.taskId): the client went away; stopping the job on the node it runs on")
        await signal(SIGTERM)
    }

    // MARK: The leader

    private func place() async -> Result<RemoteRunJob.Placement, RunFailure> {
        guard let leader = await link.cluster.leaderEndpoint else {
            return .failure(RunFailure(.unavailable, "--cluster: no leader controller is known to this executor yet; try again"))
        }
        guard let secret = link.executorSecret else {
            return .failure(RunFailure(.unavailable, "--cluster: this executor's clusterAuth has no EXECUTOR secret to speak to the leader with"))
        }
        guard let body = try? JSONEncoder().encode(job) else { return .failure(RunFailure(.invalidRequest, "the job cannot be encoded")) }
        var request = HTTPClientRequest(url: leader + RemoteRunJob.controllerPath)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "NodeId", value: job.origin)
        request.headers.add(name: "Cluster-Authorization", value: secret.value)
        request.body = .bytes(ByteBuffer(data: body))
        do {
            let response = try await http.execute(request, timeout: .seconds(60))
            let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
            if response.status == .ok, let p = try? JSONDecoder().decode(RemoteRunJob.Placement.self, from: data) { return .success(p) }
            let said = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["message"] as? String
            let code: RunFailure.Code = response.status == .serviceUnavailable ? .unavailable : .startFailed
            return .failure(RunFailure(code, "--cluster: the leader at \(leader) did not place the job: \(said ?? "HTTP \(response.status.code)")"))
        } catch {
            return .failure(RunFailure(.unavailable, "--cluster: the leader at \(leader) did not answer: \(error)"))
        }
    }

    // MARK: Where it runs

    struct TaskState: Decodable {
        var state: String
        var exitCode: Int32?
        var lastError: String?
        /// Ended as the local `corral run` sees it: STOPPED or LOST, or
        /// DEPROVISIONING with its exit status (the output is drained to the
        /// log by then; only the container's removal is left).
        var isEnded: Bool {
            state == WorkloadState.task(.STOPPED).name || state == WorkloadState.task(.LOST).name
                || (state == WorkloadState.task(.DEPROVISIONING).name && exitCode != nil)
        }
    }

    private func call(_ method: HTTPMethod, _ url: String, timeout: TimeAmount = .seconds(10)) async -> (HTTPResponseStatus, Data)? {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "NodeId", value: job.origin)
        if let secret = link.controllerSecret { request.headers.add(name: "Cluster-Authorization", value: secret.value) }
        guard let response = try? await http.execute(request, timeout: timeout),
              let bytes = try? await response.body.collect(upTo: 4 << 20) else { return nil }
        return (response.status, Data(buffer: bytes))
    }

    enum Sighting {
        case known(TaskState)
        /// The executor answers but does not know the task.
        case unknown
        case unreachable
    }

    private func state(at p: RemoteRunJob.Placement) async -> Sighting {
        guard let (status, data) = await call(.GET, p.endpoint + "/apis/v1/tasks/\(job.taskId)") else { return .unreachable }
        if status == .notFound { return .unknown }
        guard status == .ok, let s = try? JSONDecoder().decode(TaskState.self, from: data) else { return .unreachable }
        return .known(s)
    }

    /// Gives the client what the job's log holds past `offset`; the new offset.
    private func relayLog(from offset: Int64, at p: RemoteRunJob.Placement, all: Bool = false) async -> Int64 {
        var at = offset
        for _ in 0..<(all ? 64 : 4) {
            let url = p.endpoint + "/apis/v1/logs/filestream/\(RunDesk.sourceAppName)/\(job.taskId)/read/output.log?offset=\(at)&length=262144"
            guard let (status, data) = await call(.GET, url), status == .ok,
                  let chunk = try? JSONDecoder().decode(LogChunk.self, from: data), !chunk.data.isEmpty else { break }
            output.write(Array(chunk.data.utf8), from: .stdout)
            at = chunk.next
        }
        return at
    }

    private func sendCancel() async {
        guard !cancelSent, let p = placement else { return }
        cancelSent = true
        let (taskId, url) = (job.taskId, p.endpoint + "/apis/v1/tasks/\(job.taskId)")
        // The cancel returns once the job has stopped; the loop sees that.
        Task { [logger] in
            if await self.call(.DELETE, url, timeout: .minutes(20)) == nil {
                logger.warning("corral run \(taskId): the cancel did not reach \(p.hostname):\(p.port)")
            }
        }
    }
}
