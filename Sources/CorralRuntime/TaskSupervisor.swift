import CorralCore
import CorralEngines
import Foundation

/// Drives one task: reserve, start, wait for its end, record the exit code,
/// remove, release. A cancel stops it and records RUN_FAILED ("cancelled").
public actor TaskSupervisor {
    public let spec: TaskSpec
    public nonisolated let instanceId: String

    private let driver: WorkloadDriver<TaskState>
    private var cancelReason: String?
    /// The reason a cancelled task records (its lastError).
    public static let cancelledReason = "cancelled"
    /// The reason of a task cancelled while still PENDING.
    public static let cancelledBeforeStartReason = "cancelled before it started"
    private var cancelGrace: Duration = .seconds(5)
    /// Why the engine could not start it, when it could not (its code tells
    /// a retry that may help from one that cannot).
    public private(set) var startError: EngineError?

    public init(spec: TaskSpec, instanceId: String, engine: any Engine, broker: any ResourceBroker,
                observer: (any InstanceObserver)? = nil, output: any LogSink, executorHost: String = "localhost",
                adopting: (allocation: Allocation, handle: WorkloadHandle)? = nil) {
        self.spec = spec
        self.instanceId = instanceId
        driver = WorkloadDriver(instanceId: instanceId, appId: spec.sourceAppName, kind: .task, taskId: spec.taskId,
                                engine: engine, broker: broker, observer: observer, output: output,
                                executorHost: executorHost, reportsReasonAlways: true,
                                adopting: adopting.map { .init(allocation: $0.allocation, handle: $0.handle) })
    }

    public var state: TaskState { driver.state }

    /// A supervisor for a task found after a restart, holding `allocation`.
    public init(adopting spec: TaskSpec, instanceId: String, allocation: Allocation, handle: WorkloadHandle,
                engine: any Engine, broker: any ResourceBroker, observer: (any InstanceObserver)? = nil,
                output: any LogSink, executorHost: String = "localhost") {
        self.init(spec: spec, instanceId: instanceId, engine: engine, broker: broker, observer: observer, output: output,
                  executorHost: executorHost, adopting: (allocation, handle))
    }

    /// Picks an adopted task up: still running, or finished while nobody watched
    /// (its runner recorded the result).
    public func resume() async {
        guard driver.state == .UNKNOWN, let h = driver.handle else { return }
        await driver.move(.RUNNING, "adopted after a restart")
        let how = await driver.engine.waitForExit(h)
        // Cancelled (the executor is shutting down): the wait means nothing; the next start adopts the task.
        if Task.isCancelled { return }
        await conclude(how)
    }

    public func markLost(_ reason: String) async { await driver.markLost(reason) }

    public var info: InstanceInfo { driver.info }

    public func provision() async -> AllocationError? {
        await driver.provision(spec.resources.allocationRequest)
    }

    public func run() async {
        if driver.state == .PENDING, await provision() != nil { return }
        guard driver.state == .PROVISIONING, let allocation = driver.allocation else { return }
        await driver.move(.STARTING)
        if let reason = cancelReason {
            await driver.move(.RUN_FAILED, reason)
            return await driver.finish(reason: reason)
        }
        var env = driver.environment(spec.env, allocation)
        env["CORRAL_TASK_ID"] = spec.taskId
        let launch = Launch(instanceID: instanceId, appID: spec.sourceAppName, kind: .task, executable: spec.executable,
                            args: spec.args, env: env, allocation: allocation, volumes: spec.volumes, configs: spec.configs, user: spec.user,
                            maxOpenFiles: 65_536, specHash: SpecHash.of(spec), job: spec.job)
        switch await driver.start(launch) {
        case .failure(let error):
            startError = error
            await driver.move(.RUN_FAILED, error.message)
            await driver.finish(reason: error.message)
        case .success(let h):
            await driver.move(.RUNNING)
            // A cancel that came while it was starting: stop it now.
            if cancelReason != nil { try? await driver.engine.stop(h, grace: cancelGrace) }
            let how = await driver.engine.waitForExit(h)
            if Task.isCancelled { return }
            await conclude(how)
        }
    }

    private func conclude(_ how: WorkloadExit) async {
        if let reason = cancelReason {
            driver.exitCode = how.code
            await driver.move(.RUN_FAILED, reason)
        } else {
            switch how {
            case .exited, .signaled:
                driver.exitCode = how.code
                await driver.move(.RUN_COMPLETED, how.summary)
            case .startFailed(let r):
                await driver.move(.RUN_FAILED, "could not start: \(r)")
            case .vanished(let r):
                return await driver.lose(r)
            }
        }
        await driver.finish(reason: driver.life.lastReason, exited: how.code != nil)
    }

    /// Cancels the task: stops it if it runs. Returns once it is STOPPED.
    @discardableResult
    public func cancel(grace: Duration = .seconds(5)) async -> InstanceInfo {
        if driver.state.isTerminal { return info }
        cancelReason = Self.cancelledReason
        cancelGrace = grace
        if driver.state == .PENDING {
            await driver.move(.STOPPED, Self.cancelledBeforeStartReason)
            return info
        }
        if let h = driver.handle, driver.state == .RUNNING { try? await driver.engine.stop(h, grace: grace) }
        return await untilDone()
    }

    public func untilDone() async -> InstanceInfo { await driver.untilDone() }

    /// Returns once the task has ended and its output is drained, its exit
    /// code known if it ran; its container may still be being removed.
    public func untilEnded() async -> InstanceInfo { await driver.untilEnded() }

    /// Sends `signal` to the running workload (its container's first process).
    public func signal(_ signal: Int32) async throws(EngineError) {
        guard let h = driver.handle, driver.state == .RUNNING else {
            throw EngineError(.notFound, "task \(spec.taskId) is not running (\(driver.state))")
        }
        try await driver.engine.signal(h, signal)
    }
}
