import CorralCore
import CorralEngines
import Foundation

/// Drives one task: reserve, start, wait for its end, record the exit code,
/// remove, release. A cancel stops it and records RUN_FAILED ("cancelled").
public actor TaskSupervisor {
    public let spec: TaskSpec
    public let instanceId: String
    let engine: any Engine
    let broker: any ResourceBroker
    let observer: (any InstanceObserver)?
    let output: any LogSink
    let executorHost: String

    private var life: Lifecycle<TaskState>
    private var allocation: Allocation?
    private var handle: WorkloadHandle?
    private var held = false
    private var exitCode: Int32?
    private var cancelReason: String?
    private var cancelGrace: Duration = .seconds(5)
    private let created = now()
    private var finished: [CheckedContinuation<InstanceInfo, Never>] = []

    public init(spec: TaskSpec, instanceId: String, engine: any Engine, broker: any ResourceBroker,
                observer: (any InstanceObserver)? = nil, output: any LogSink, executorHost: String = "localhost",
                adopting: (allocation: Allocation, handle: WorkloadHandle)? = nil) {
        self.spec = spec
        self.instanceId = instanceId
        self.engine = engine
        self.broker = broker
        self.observer = observer
        self.output = output
        self.executorHost = executorHost
        if let adopting {
            life = Lifecycle(.UNKNOWN, at: now(), reason: "found after a restart")
            allocation = adopting.allocation
            handle = adopting.handle
            held = true
        } else {
            life = Lifecycle(.PENDING, at: now())
        }
    }

    public var state: TaskState { life.state }

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
        guard life.state == .UNKNOWN, let h = handle else { return }
        await move(.RUNNING, "adopted after a restart")
        let how = await engine.waitForExit(h)
        await conclude(how, h)
    }

    public func markLost(_ reason: String) async {
        guard life.state == .UNKNOWN else { return }
        await move(.LOST, reason)
    }

    public var info: InstanceInfo {
        InstanceInfo(instanceId: instanceId, appId: spec.sourceAppName, kind: .task, state: life.state.rawValue,
                     allocation: allocation, ports: [:], engine: engine.name, handle: handle, created: created,
                     updated: life.enteredAt, lastError: life.lastReason, exitCode: exitCode, taskId: spec.taskId,
                     history: life.history.map(\.state.rawValue))
    }

    private func move(_ next: TaskState, _ reason: String? = nil) async {
        guard let effect = try? life.transition(to: next, reason: reason, at: now()) else {
            assertionFailure("illegal task move \(life.state) -> \(next)")
            return
        }
        if effect == .release, held {
            held = false
            await broker.release(id: instanceId)
        }
        await observer?.changed(info)
        if life.state.isTerminal {
            let i = info
            for c in finished { c.resume(returning: i) }
            finished = []
        }
    }

    public func provision() async -> AllocationError? {
        guard life.state == .PENDING else { return nil }
        await move(.PROVISIONING)
        do {
            let (a, _) = try await broker.reserve(spec.resources.allocationRequest, ports: 0, id: instanceId)
            held = true
            allocation = a
            return nil
        } catch {
            await move(.PROVISIONING_FAILED, error.message)
            await move(.DEPROVISIONING)
            await move(.STOPPED, error.message)
            return error
        }
    }

    public func run() async {
        if life.state == .PENDING, await provision() != nil { return }
        guard life.state == .PROVISIONING, let allocation else { return }
        await move(.STARTING)
        if let reason = cancelReason {
            await move(.RUN_FAILED, reason)
            return await finish(nil)
        }
        var env = spec.env
        env["CORRAL_INSTANCE_ID"] = instanceId
        env["CORRAL_TASK_ID"] = spec.taskId
        env["CORRAL_APP_ID"] = spec.sourceAppName
        env["CORRAL_EXECUTOR_HOST"] = executorHost
        env["CORRAL_CPUS"] = allocation.pinned ? allocation.cpus.listString : String(allocation.cpuCount)
        let launch = Launch(instanceID: instanceId, appID: spec.sourceAppName, kind: .task, executable: spec.executable,
                            args: spec.args, env: env, allocation: allocation, volumes: spec.volumes, user: spec.user,
                            maxOpenFiles: 65_536, specHash: SpecHash.of(spec))
        let h: WorkloadHandle
        do {
            h = try await engine.start(launch, output: output)
        } catch {
            await move(.RUN_FAILED, error.message)
            return await finish(nil)
        }
        handle = h
        await move(.RUNNING)
        // A cancel that came while it was starting: stop it now.
        if cancelReason != nil { try? await engine.stop(h, grace: cancelGrace) }
        let how = await engine.waitForExit(h)
        await conclude(how, h)
    }

    private func conclude(_ how: WorkloadExit, _ h: WorkloadHandle) async {
        if let reason = cancelReason {
            exitCode = how.code
            await move(.RUN_FAILED, reason)
        } else {
            switch how {
            case .exited, .signaled:
                exitCode = how.code
                await move(.RUN_COMPLETED, how.summary)
            case .startFailed(let r):
                await move(.RUN_FAILED, "could not start: \(r)")
            case .vanished(let r):
                try? await engine.remove(h)
                await move(.LOST, r)
                return
            }
        }
        await finish(h)
    }

    private func finish(_ h: WorkloadHandle?) async {
        // Its output pipe drains a moment after it exits: a STOPPED task's log is complete.
        if h != nil { await output.waitUntilFinished(timeout: .seconds(5)) }
        await move(.DEPROVISIONING)
        if let h { try? await engine.remove(h) }
        await move(.STOPPED, life.lastReason)
    }

    /// Cancels the task: stops it if it runs. Returns once it is STOPPED.
    @discardableResult
    public func cancel(grace: Duration = .seconds(5)) async -> InstanceInfo {
        if life.state.isTerminal { return info }
        cancelReason = "cancelled"
        cancelGrace = grace
        if life.state == .PENDING {
            await move(.STOPPED, "cancelled before it started")
            return info
        }
        if let h = handle, life.state == .RUNNING { try? await engine.stop(h, grace: grace) }
        return await untilDone()
    }

    public func untilDone() async -> InstanceInfo {
        if life.state.isTerminal { return info }
        return await withCheckedContinuation { finished.append($0) }
    }
}
