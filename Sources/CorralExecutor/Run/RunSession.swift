import CorralCore
import Foundation
import Logging

/// One connection to the run socket: its first frame is the request (a job,
/// or a config reload), later ones the client's signals; the answer ends
/// with one `.exit` or `.error` frame.
actor RunSession {
    let caller: PeerCredentials
    let desk: RunDesk
    let executor: Executor
    let output: ClientOutput
    let logger: Logger
    let remote: RemoteRunControl.Link?
    private var started = false
    private var job: RunJobControl?
    private var remoteJob: RemoteRunControl?
    private var gone = false

    init(caller: PeerCredentials, desk: RunDesk, executor: Executor, remote: RemoteRunControl.Link? = nil, output: ClientOutput, logger: Logger) {
        self.caller = caller
        self.desk = desk
        self.executor = executor
        self.remote = remote
        self.output = output
        self.logger = logger
    }

    /// Handles a frame from the client; the work the request starts, if it does.
    func received(_ frame: RunFrame) async -> (@Sendable () async -> Void)? {
        guard started else {
            started = true
            guard frame.kind == .request else {
                fail(RunFailure(.invalidRequest, "the first frame must be the request, not \(frame.kind)"))
                return { }
            }
            let request: RunRequest
            do {
                request = try JSONDecoder().decode(RunRequest.self, from: Data(frame.payload))
            } catch {
                fail(RunFailure(.invalidRequest, "the request is not corral run's JSON: \(error)"))
                return { }
            }
            switch request.action {
            case .reloadConfig:
                let result = await desk.reload(by: caller)
                switch result {
                case .success(let summary): send(.exit, RunOutcome(status: 0, taskId: "", summary: summary))
                case .failure(let f): fail(f)
                }
                return { }
            case .run:
                return await begin(request)
            }
        }
        if frame.kind == .signal, let s = frame.payload.first {
            await job?.signal(Int32(s))
            await remoteJob?.signal(Int32(s))
        }
        return nil
    }

    private func begin(_ request: RunRequest) async -> (@Sendable () async -> Void)? {
        let taskId = "run-" + UUID().uuidString.prefix(8).lowercased()
        if request.cluster { return await beginRemote(request, taskId: taskId) }
        // A node that runs no containers itself but is in a cluster (a
        // submit node): its jobs go to the cluster, as with --cluster.
        if remote != nil, await executor.engines[.docker] == nil { return await beginRemote(request, taskId: taskId) }
        let spec: TaskSpec, config: RunConfig
        switch await desk.prepare(request, caller: caller, taskId: taskId) {
        case .failure(let f):
            logger.info("corral run refused", metadata: ["uid": "\(caller.uid)", "code": "\(f.code.rawValue)", "reason": "\(f.message)"])
            fail(f)
            return { }
        case .success(let prepared): (spec, config) = (prepared.spec, prepared.config)
        }
        logger.info("corral run job", metadata: ["taskId": "\(taskId)", "uid": "\(caller.uid)", "gid": "\(caller.gid)", "pid": "\(caller.pid)",
                                                 "cpus": "\(spec.resources.cpus)", "memory": "\(spec.resources.memoryBytes)"])
        let control = RunJobControl(executor: executor, spec: spec, config: config, output: output, logger: logger)
        job = control
        if gone { await control.clientGone() }
        return { [output] in
            switch await control.run() {
            case .success(let outcome):
                output.frames.yield(RunFrame(.exit, Self.json(outcome)))
            case .failure(let f):
                output.frames.yield(RunFrame(.error, Self.json(f)))
            }
        }
    }

    /// `--cluster`: what can be checked here is, then the leader places it.
    private func beginRemote(_ request: RunRequest, taskId: String) async -> (@Sendable () async -> Void)? {
        guard let remote else {
            fail(RunFailure(.unavailable, "--cluster: this executor is not in a cluster (its config has no zookeeper or controllers section); "
                + "without --cluster the job runs here"))
            return { }
        }
        if let why = request.problem(forTheCluster: true) {
            fail(RunFailure(.invalidRequest, why))
            return { }
        }
        var forwarded = request
        forwarded.cluster = false
        let job = RemoteRunJob(request: forwarded, caller: caller, taskId: taskId, origin: await executor.hostname)
        logger.info("corral run job for the cluster", metadata: ["taskId": "\(taskId)", "uid": "\(caller.uid)", "pid": "\(caller.pid)",
                                                             "cpus": "\(request.cpus)", "memory": "\(request.memory ?? "")"])
        let control = RemoteRunControl(job: job, link: remote, output: output, logger: logger)
        remoteJob = control
        if gone { await control.clientGone() }
        return { [output] in
            switch await control.run() {
            case .success(let outcome): output.frames.yield(RunFrame(.exit, Self.json(outcome)))
            case .failure(let f): output.frames.yield(RunFrame(.error, Self.json(f)))
            }
        }
    }

    func clientGone() async {
        gone = true
        await job?.clientGone()
        await remoteJob?.clientGone()
    }

    private func fail(_ f: RunFailure) { send(.error, f) }

    private func send(_ kind: RunFrame.Kind, _ value: some Encodable) {
        output.frames.yield(RunFrame(kind, Self.json(value)))
    }

    static func json(_ value: some Encodable) -> [UInt8] {
        Array((try? JSONEncoder().encode(value)) ?? Data("{}".utf8))
    }
}
