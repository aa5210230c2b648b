import CorralCore
import CorralEngines
import CorralRuntime
import Foundation
import Logging

/// One `corral run` job from its request to its exit status: starts it as a
/// task (retrying failed container starts with ``StartBackoff`` until
/// `container_start_timeout`), passes the client's signals on, and stops it
/// when the client goes away.
///
/// A stop signal goes to the container's first process (the runner), which
/// passes it to the job, kills the job after the grace period and runs the
/// cleanup hooks; should the container still run past ``RunJob/stopBound``,
/// it is killed.
actor RunJobControl {
    let executor: Executor
    let spec: TaskSpec
    let backoff: StartBackoff
    let output: ClientOutput
    let logger: Logger
    private var supervisor: TaskSupervisor?
    /// The first stop signal (from the client, or SIGTERM when it went away).
    private var cancelledBy: Int32?
    private var killTimer: Task<Void, Never>?
    /// Cut short by a stop signal.
    private let alarm = Alarm()
    /// The job has ended (its outcome is known).
    private var ended = false

    init(executor: Executor, spec: TaskSpec, config: RunConfig, output: ClientOutput, logger: Logger) {
        self.executor = executor
        self.spec = spec
        backoff = StartBackoff(ratio: config.randBackoffRatio, timeout: config.containerStartTimeout)
        self.output = output
        self.logger = logger
    }

    static let stopSignals: Set<Int32> = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    func progress(_ line: String) {
        output.frames.yield(RunFrame(.progress, Array(line.utf8)))
    }

    /// Runs the job to its end: its exit status, or why it could not run.
    func run() async -> Result<RunOutcome, RunFailure> {
        defer { ended = true }
        return await attempts()
    }

    private func attempts() async -> Result<RunOutcome, RunFailure> {
        let began = ContinuousClock.now
        var attempt = 0
        while true {
            if let s = cancelledBy { return .success(RunOutcome(status: 128 + s, taskId: spec.taskId, summary: "cancelled by signal \(s) before it started")) }
            attempt += 1
            let info: InstanceInfo
            do {
                info = try await executor.startTask(spec, watcher: output)
            } catch {
                let code: RunFailure.Code = error.code == .doesNotFit ? .doesNotFit : .startFailed
                return .failure(RunFailure(code, error.message))
            }
            guard let t = await executor.taskSupervisor(info.instanceId) else {
                return .failure(RunFailure(.startFailed, "task \(spec.taskId) ended before it could be followed"))
            }
            supervisor = t
            if let s = cancelledBy { Task { await self.stop(t, signal: s) } }
            // The status goes to the client as soon as the job has ended and
            // its output is drained: its cores are already free, and the
            // container's removal goes on without the client waiting on it.
            var end = await t.untilEnded()
            killTimer?.cancel()
            if end.exitCode == nil { end = await t.untilDone() }
            supervisor = nil
            if let code = end.exitCode {
                let how = cancelledBy.map { "cancelled by signal \($0); " } ?? ""
                return .success(RunOutcome(status: code, taskId: spec.taskId, summary: how + (end.lastError ?? "exited with code \(code)")))
            }
            let reason = end.lastError ?? "\(end.state)"
            if let s = cancelledBy { return .success(RunOutcome(status: 128 + s, taskId: spec.taskId, summary: "cancelled by signal \(s): \(reason)")) }
            guard let error = await t.startError else {
                return .failure(RunFailure(.startFailed, "task \(spec.taskId) ended without an exit status: \(reason)"))
            }
            guard Self.retryable(error.code) else {
                return .failure(RunFailure(.startFailed, "the container could not start (not retried: \(error.code.rawValue)): \(error.message)"))
            }
            let elapsed = ContinuousClock.now - began
            guard let wait = backoff.next(attempt - 1, elapsed: elapsed, u: Double.random(in: 0..<1)) else {
                return .failure(RunFailure(.startFailed, "the container did not start in \(attempt) attempts over container_start_timeout "
                    + "(\(Self.text(backoff.timeout))); the last failure: \(error.message)"))
            }
            let line = "start attempt \(attempt) failed: \(error.message); retrying in \(Self.text(wait))"
            logger.warning("corral run \(spec.taskId): \(line)", metadata: ["taskId": "\(spec.taskId)", "attempt": "\(attempt)"])
            progress(line)
            if cancelledBy == nil { await alarm.sleep(for: wait) }
        }
    }

    /// Failures a later attempt may not meet again: the engine busy or
    /// failing for a moment, the runtime failing to create the container.
    static func retryable(_ code: EngineErrorCode) -> Bool {
        switch code {
        case .startFailed, .timeout, .unavailable, .failed: true
        case .imageMissing, .refused, .limitTooHigh, .notFound: false
        }
    }

    /// A signal from the client: stop signals cancel the job; any signal is
    /// passed to a job that runs.
    func signal(_ s: Int32) async {
        guard s > 0, s < 65 else { return }
        let stops = Self.stopSignals.contains(s)
        if stops, cancelledBy == nil {
            cancelledBy = s
            alarm.ring()
        }
        if let t = supervisor {
            if stops { await stop(t, signal: s) } else { try? await t.signal(s) }
        }
    }

    /// The client is gone (its connection closed): nobody waits for the job.
    func clientGone() async {
        guard cancelledBy == nil, !ended else { return }
        logger.warning("corral run \(spec.taskId): the client went away; stopping the job", metadata: ["taskId": "\(spec.taskId)"])
        await signal(SIGTERM)
    }

    private func stop(_ t: TaskSupervisor, signal s: Int32) async {
        let state = await t.state
        if state == .RUNNING {
            do {
                try await t.signal(s)
            } catch {
                logger.warning("corral run \(spec.taskId): signal \(s) not delivered (\(error.message)); stopping the container")
                _ = await t.cancel(grace: .zero)
                return
            }
            guard killTimer == nil, let bound = spec.job?.stopBound else { return }
            killTimer = Task {
                guard (try? await Task.sleep(for: bound)) != nil else { return }
                _ = await t.cancel(grace: .zero)
            }
        } else if !state.isTerminal {
            // Not running yet: it is stopped as soon as it starts.
            Task { _ = await t.cancel(grace: spec.job?.stopBound ?? .seconds(10)) }
        }
    }

    static func text(_ d: Duration) -> String {
        let s = d.seconds
        return s < 10 ? String(format: "%.2fs", s) : String(format: "%.0fs", s)
    }
}
