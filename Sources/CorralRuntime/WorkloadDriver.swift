import CorralCore
import CorralEngines
import Foundation

/// The part of every workload's life that does not depend on its kind: the
/// lifecycle, the resources it holds, the engine handle, the observer, the
/// waiters and the background watchers. Supervisors (instances, tasks, and
/// later the cluster's workloads) keep only their own event logic and drive
/// it through this type.
///
/// Resources are reserved on entering PROVISIONING and given back on the
/// move whose effect is `.release` (into STOPPED or LOST), exactly once,
/// whatever the path. Moves only go through ``move(_:_:isolation:)``, which
/// checks the transition table.
///
/// Not `Sendable`: each driver belongs to the supervisor actor that created it,
/// and its async methods run on that actor (they inherit the caller's isolation).
public final class WorkloadDriver<State: LifecycleState> {
    public let instanceId: String
    public let appId: String
    public let kind: WorkloadKind
    public let taskId: String?
    public let engine: any Engine
    let broker: any ResourceBroker
    let observer: (any InstanceObserver)?
    public let output: any LogSink
    let executorHost: String

    public private(set) var life: Lifecycle<State>
    public private(set) var allocation: Allocation?
    public private(set) var handle: WorkloadHandle?
    /// Port name -> host port (instances).
    public private(set) var ports: [String: Int] = [:]
    /// How the command ended (tasks).
    public var exitCode: Int32?
    /// Whether `lastError` is reported in every state or only in failure and final ones.
    let reportsReasonAlways: Bool
    private var held: Bool
    private let created = now()
    private var finished: [CheckedContinuation<InstanceInfo, Never>] = []
    /// Waiting for the workload to have ended, before its remains are removed.
    private var ended: [CheckedContinuation<InstanceInfo, Never>] = []
    private var background: [Task<Void, Never>] = []

    /// What a workload found after a restart holds (already adopted by the broker).
    public struct Adoption: Sendable {
        public var allocation: Allocation
        public var ports: [String: Int]
        public var handle: WorkloadHandle

        public init(allocation: Allocation, ports: [String: Int] = [:], handle: WorkloadHandle) {
            self.allocation = allocation
            self.ports = ports
            self.handle = handle
        }
    }

    public init(instanceId: String, appId: String, kind: WorkloadKind, taskId: String? = nil, engine: any Engine,
                broker: any ResourceBroker, observer: (any InstanceObserver)?, output: any LogSink,
                executorHost: String, reportsReasonAlways: Bool, adopting adoption: Adoption? = nil) {
        self.instanceId = instanceId
        self.appId = appId
        self.kind = kind
        self.taskId = taskId
        self.engine = engine
        self.broker = broker
        self.observer = observer
        self.output = output
        self.executorHost = executorHost
        self.reportsReasonAlways = reportsReasonAlways
        if let adoption {
            life = Lifecycle(.unknown, at: now(), reason: "found after a restart")
            allocation = adoption.allocation
            ports = adoption.ports
            handle = adoption.handle
            held = true
        } else {
            life = Lifecycle(.pending, at: now())
            held = false
        }
    }

    public var state: State { life.state }

    public var info: InstanceInfo {
        let reason = reportsReasonAlways || life.state.isFailure || life.state.isTerminal ? life.lastReason : nil
        return InstanceInfo(instanceId: instanceId, appId: appId, kind: kind, state: life.state.workloadState,
                            allocation: allocation, ports: ports, engine: engine.kind, handle: handle,
                            created: created, updated: life.enteredAt, lastError: reason, exitCode: exitCode,
                            taskId: taskId, history: life.history.map(\.workloadStep))
    }

    // MARK: Moves

    /// Moves the lifecycle, gives back the allocation when the move says so,
    /// tells the observer, and on a final state wakes the waiters and cancels
    /// the watchers.
    public func move(_ next: State, _ reason: String? = nil, isolation: isolated (any Actor)? = #isolation) async {
        let effect: ResourceEffect
        do {
            effect = try life.transition(to: next, reason: reason, at: now())
        } catch {
            // Only reachable through a bug in a supervisor: the table is the authority.
            assertionFailure(error.message)
            return
        }
        if effect == .release, held {
            held = false
            await broker.release(id: instanceId)
        }
        await observer?.changed(info)
        if life.state.isTerminal || life.state == .deprovisioning {
            let i = info
            for c in ended { c.resume(returning: i) }
            ended = []
        }
        if life.state.isTerminal {
            let i = info
            for c in finished { c.resume(returning: i) }
            finished = []
            cancelWatchers()
        }
    }

    /// The failure path before anything runs: `failure` -> DEPROVISIONING -> STOPPED.
    public func fail(_ failure: State, _ reason: String, isolation: isolated (any Actor)? = #isolation) async {
        await move(failure, reason)
        await move(.deprovisioning)
        await move(.stopped, reason)
    }

    /// The workload is gone without being asked: its remains are removed and it
    /// ends LOST (its resources come back on that move).
    public func lose(_ reason: String, isolation: isolated (any Actor)? = #isolation) async {
        if let h = handle { try? await engine.remove(h) }
        await move(.lost, reason)
    }

    /// A workload from the state database that no longer runs: LOST, resources freed.
    public func markLost(_ reason: String, isolation: isolated (any Actor)? = #isolation) async {
        guard life.state == .unknown else { return }
        await move(.lost, reason)
    }

    // MARK: Provisioning and start

    /// PROVISIONING: reserves resources and a host port for each named port
    /// (any free one of the range, or exactly the one asked for). On refusal
    /// the workload ends STOPPED via PROVISIONING_FAILED and the error is returned.
    public func provision(_ request: AllocationRequest, ports portNames: [(name: String, host: HostPortRequest)] = [],
                          isolation: isolated (any Actor)? = #isolation) async -> AllocationError? {
        guard life.state == .pending else { return nil }
        await move(.provisioning)
        do {
            let (a, hostPorts) = try await broker.reserve(request, ports: portNames.map(\.host), id: instanceId)
            held = true
            allocation = a
            for (p, host) in zip(portNames, hostPorts) { ports[p.name] = host }
            return nil
        } catch {
            await fail(.provisioningFailed, error.message)
            return error
        }
    }

    /// The CORRAL_* variables every workload gets, over the spec's own `env`.
    public func environment(_ env: [String: String], _ a: Allocation) -> [String: String] {
        var env = env
        env["CORRAL_INSTANCE_ID"] = instanceId
        env["CORRAL_APP_ID"] = appId
        env["CORRAL_EXECUTOR_HOST"] = executorHost
        env["CORRAL_CPUS"] = a.pinned ? a.cpus.listString : String(a.cpuCount)
        env["CORRAL_CPU_COUNT"] = String(a.cpuCount)
        if !a.numaNodes.isEmpty { env["CORRAL_NUMA_NODES"] = CPUSet(a.numaNodes).listString }
        env["CORRAL_MEMORY_BYTES"] = String(a.memoryBytes)
        if !a.gpus.isEmpty { env["CORRAL_GPUS"] = a.gpus.map(String.init).joined(separator: ",") }
        return env
    }

    /// Asks the engine to start `launch`; the handle, or the engine's error.
    public func start(_ launch: Launch, isolation: isolated (any Actor)? = #isolation) async -> Result<WorkloadHandle, EngineError> {
        do {
            let h = try await engine.start(launch, output: output)
            handle = h
            return .success(h)
        } catch {
            return .failure(error)
        }
    }

    // MARK: The end

    /// After the workload ended or was stopped: waits (bounded) for its output
    /// to drain so a STOPPED workload's log is complete, then DEPROVISIONING,
    /// removes what the engine kept, STOPPED.
    ///
    /// `exited`: the workload's exit was seen (not merely asked for), so
    /// nothing of it runs any more: its resources come back before the engine
    /// removes its remains (a container's removal takes Podman tens of
    /// milliseconds that no one should wait on for the cores).
    public func finish(reason: String?, exited: Bool = false, isolation: isolated (any Actor)? = #isolation) async {
        if handle != nil { await output.waitUntilFinished(timeout: .seconds(5)) }
        if exited, held {
            held = false
            await broker.release(id: instanceId)
        }
        await move(.deprovisioning)
        if let h = handle { try? await engine.remove(h) }
        await move(.stopped, reason)
    }

    /// Returns when the workload has ended and its output is drained
    /// (DEPROVISIONING: its remains may still be being removed), or at
    /// STOPPED or LOST.
    public func untilEnded(isolation: isolated (any Actor)? = #isolation) async -> InstanceInfo {
        if life.state.isTerminal || life.state == .deprovisioning { return info }
        return await withCheckedContinuation { ended.append($0) }
    }

    /// Returns when the workload reaches STOPPED or LOST.
    public func untilDone(isolation: isolated (any Actor)? = #isolation) async -> InstanceInfo {
        if life.state.isTerminal { return info }
        return await withCheckedContinuation { finished.append($0) }
    }

    // MARK: Watchers

    /// Runs `body` in the background until the workload ends (then it is cancelled).
    public func watch(_ body: @escaping @Sendable () async -> Void) {
        background.append(Task { await body() })
    }

    /// Cancels every watcher (before a stop, so none reports the stop as a failure).
    public func cancelWatchers() {
        for t in background { t.cancel() }
        background = []
    }
}
