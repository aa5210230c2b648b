import CorralCore
import CorralEngines
import Foundation

/// Drives one application instance through its life: reserve, start, check
/// readiness and health, notice when it dies, stop it, release what it held.
/// An actor per instance and a few async tasks: no thread per instance.
///
/// The allocation is reserved on entering PROVISIONING and released exactly
/// once, on the move into STOPPED or LOST, whatever the path (failure to
/// start, failed checks, a stop request, a workload killed underneath).
public actor InstanceSupervisor {
    public let spec: InstanceSpec
    public nonisolated let instanceId: String
    let checks: CheckRunner
    /// How long the engine waits between asking the workload to stop and killing it.
    let stopGrace: Duration

    private let driver: WorkloadDriver<InstanceState>
    private let events: AsyncStream<Event>
    private let sink: AsyncStream<Event>.Continuation

    enum Event: Sendable {
        case exited(WorkloadExit)
        case ready(CheckRunner.Outcome)
        case healthy(CheckRunner.Outcome)
        case unhealthy(CheckRunner.Outcome)
        case stop(String)

        /// What a failed check said, for the check events.
        var failedCheck: String? {
            switch self {
            case .ready(let o), .healthy(let o), .unhealthy(let o): o.ok ? nil : o.detail
            case .exited, .stop: nil
            }
        }
    }

    public typealias Adoption = WorkloadDriver<InstanceState>.Adoption

    public init(spec: InstanceSpec, instanceId: String, engine: any Engine, broker: any ResourceBroker,
                observer: (any InstanceObserver)? = nil, output: any LogSink, executorHost: String = "localhost",
                stopGrace: Duration = .seconds(10), adopting adoption: Adoption? = nil) {
        self.spec = spec
        self.instanceId = instanceId
        self.checks = CheckRunner(engine: engine)
        self.stopGrace = stopGrace
        (events, sink) = AsyncStream<Event>.makeStream()
        driver = WorkloadDriver(instanceId: instanceId, appId: spec.appId, kind: .application, engine: engine,
                                broker: broker, observer: observer, output: output, executorHost: executorHost,
                                reportsReasonAlways: false, adopting: adoption)
    }

    public var state: InstanceState { driver.state }

    /// A supervisor for an instance found running after a restart: it starts
    /// in UNKNOWN, holding `allocation` (already adopted by the broker).
    public init(adopting spec: InstanceSpec, instanceId: String, allocation: Allocation, ports: [String: Int],
                handle: WorkloadHandle, engine: any Engine, broker: any ResourceBroker,
                observer: (any InstanceObserver)? = nil, output: any LogSink, executorHost: String = "localhost",
                stopGrace: Duration = .seconds(10)) {
        self.init(spec: spec, instanceId: instanceId, engine: engine, broker: broker, observer: observer, output: output,
                  executorHost: executorHost, stopGrace: stopGrace,
                  adopting: Adoption(allocation: allocation, ports: ports, handle: handle))
    }

    /// Takes an adopted instance back through readiness to HEALTHY, then runs as usual.
    public func resume() async {
        guard driver.state == .UNKNOWN, let h = driver.handle else { return }
        await move(.UNREADY, "adopted after a restart")
        await watchAndRun(h)
    }

    /// Marks an instance from the state database that no longer runs: LOST, resources freed.
    public func markLost(_ reason: String) async { await driver.markLost(reason) }

    public var info: InstanceInfo { driver.info }

    private func move(_ next: InstanceState, _ reason: String? = nil) async {
        await driver.move(next, reason)
        if next.isTerminal { sink.finish() }
    }

    // MARK: Provisioning (synchronous part, so an API can answer 201 or 409)

    /// Reserves resources and ports. On failure the instance ends STOPPED via
    /// PROVISIONING_FAILED, and the error is returned.
    public func provision() async -> AllocationError? {
        let hostLevel = spec.hostLevelInstance == true
        return await driver.provision(spec.resources.allocationRequest,
                                      ports: spec.exposedPorts.map { ($0.name, hostLevel ? .exactly($0.port) : .any) })
    }

    /// Runs the instance to its end. Call after a successful ``provision()``.
    public func run() async {
        if driver.state == .PENDING, await provision() != nil { return }
        guard driver.state == .PROVISIONING, let allocation = driver.allocation else { return }
        await move(.STARTING)
        switch await driver.start(makeLaunch(allocation)) {
        case .failure(let error):
            await driver.fail(.START_FAILED, error.message)
            sink.finish()
        case .success(let h):
            await move(.UNREADY)
            await watchAndRun(h)
        }
    }

    /// UNREADY onwards: watch for the end, check readiness, then run the event loop.
    private func watchAndRun(_ h: WorkloadHandle) async {
        let engine = driver.engine
        watch { .exited(await engine.waitForExit(h)) }
        if let r = spec.readiness {
            let runner = checks, ports = driver.ports
            watch { .ready(await runner.loop(r, handle: h, ports: ports, untilSuccess: true)) }
        } else {
            sink.yield(.ready(.init(ok: true, detail: "no readiness check")))
        }
        await eventLoop(h)
    }

    private func watch(_ body: @escaping @Sendable () async -> Event) {
        let sink = self.sink
        driver.watch { sink.yield(await body()) }
    }

    /// Asks the instance to stop and returns once it is STOPPED (or LOST).
    @discardableResult
    public func stop(reason: String = "stop requested") async -> InstanceInfo {
        if driver.state.isTerminal { return info }
        if driver.state == .PENDING {
            await move(.STOPPING, reason)
            await move(.DEPROVISIONING)
            await move(.STOPPED, reason)
            return info
        }
        sink.yield(.stop(reason))
        return await untilDone()
    }

    /// Returns when the instance reaches STOPPED or LOST.
    public func untilDone() async -> InstanceInfo { await driver.untilDone() }

    // MARK: The running part

    /// Ends when the instance does, or when the supervisor is cancelled (the
    /// executor is shutting down): then the watchers stop and the workload is
    /// left running untouched, for the next start to adopt.
    private func eventLoop(_ h: WorkloadHandle) async {
        // An AsyncStream's iteration ends when the iterating task is cancelled.
        await handleEvents(h)
        if !driver.state.isTerminal { driver.cancelWatchers() }
    }

    private func handleEvents(_ h: WorkloadHandle) async {
        var stopAfterReady: String? = nil
        for await event in events {
            if Task.isCancelled { return }
            // A check that fails because the workload died is the death, not the check.
            if let failed = event.failedCheck, await driver.engine.isAlive(h) == false {
                await lose("the workload ended unexpectedly (found when a check failed: \(failed))")
                return
            }
            switch (driver.state, event) {
            case (_, .exited(let how)):
                // Gone without being asked: lost, and its resources come back.
                await lose("the workload \(how.summary) unexpectedly")
                return
            case (.UNREADY, .ready(let o)):
                guard o.ok else {
                    await move(.READINESS_CHECK_FAILED, "readiness check failed: \(o.detail)")
                    await teardown(h, reason: driver.life.lastReason ?? "readiness check failed")
                    return
                }
                await move(.READY)
                if let reason = stopAfterReady { return await stopPath(h, reason: reason) }
                if let hc = spec.healthcheck {
                    let runner = checks, ports = driver.ports
                    watch { .healthy(await runner.loop(hc, handle: h, ports: ports, untilSuccess: true)) }
                } else {
                    await move(.HEALTHY)
                }
            case (.READY, .healthy(let o)):
                guard o.ok else {
                    // Never healthy: stop it as unhealthy (READY has no UNHEALTHY move; go through HEALTHY's stop path).
                    await move(.STOPPING, "health check never passed: \(o.detail)")
                    await teardown(h, reason: driver.life.lastReason ?? "health check failed")
                    return
                }
                await move(.HEALTHY)
                if let hc = spec.healthcheck {
                    let runner = checks, ports = driver.ports
                    var next = hc
                    next.initialDelay = hc.interval
                    let monitor = next
                    watch { .unhealthy(await runner.loop(monitor, handle: h, ports: ports, untilSuccess: false)) }
                }
            case (.HEALTHY, .unhealthy(let o)):
                await move(.UNHEALTHY, "health check failed: \(o.detail)")
                await teardown(h, reason: driver.life.lastReason ?? "unhealthy")
                return
            case (.UNREADY, .stop(let reason)):
                await move(.STOPPING, reason)
                return await stopPath(h, reason: reason, hooks: false)
            case (.READY, .stop(let reason)), (.HEALTHY, .stop(let reason)):
                await move(.STOPPING, reason)
                return await stopPath(h, reason: reason)
            case (_, .stop(let reason)):
                stopAfterReady = reason
            default:
                continue
            }
        }
    }

    /// STOPPING: pre-shutdown hooks (each bounded), waitBeforeKill, stop, remove.
    private func stopPath(_ h: WorkloadHandle, reason: String, hooks: Bool = true) async {
        if hooks {
            for hook in spec.preShutdownHooks {
                let o = await checks.attempt(hook.mode, timeout: hook.timeout, handle: h, ports: driver.ports)
                if !o.ok { driver.output.write(Array("[corral] pre-shutdown hook: \(o.detail)\n".utf8)) }
            }
            if spec.waitBeforeKill.nanoseconds > 0 { try? await Task.sleep(for: spec.waitBeforeKill.duration) }
        }
        await teardown(h, reason: reason)
    }

    /// Stops and removes the workload, then DEPROVISIONING -> STOPPED.
    private func teardown(_ h: WorkloadHandle, reason: String) async {
        driver.cancelWatchers()
        try? await driver.engine.stop(h, grace: stopGrace)
        await driver.finish(reason: reason)
        sink.finish()
    }

    private func lose(_ reason: String) async {
        await driver.lose(reason)
        sink.finish()
    }

    // MARK: Launch

    func makeLaunch(_ a: Allocation) -> Launch {
        var env = driver.environment(spec.env, a)
        env["CORRAL_APP_NAME"] = spec.appName
        var bindings: [PortBinding] = []
        for p in spec.exposedPorts {
            guard let host = driver.ports[p.name] else { continue }
            env["PORT_\(p.port)"] = String(host)
            bindings.append(PortBinding(name: p.name, containerPort: p.port, hostPort: host,
                                        proto: p.type == .UDP ? .udp : .tcp))
        }
        return Launch(instanceID: instanceId, appID: spec.appId, kind: .application, executable: spec.executable,
                      args: spec.args, env: env, allocation: a, ports: bindings, volumes: spec.volumes, configs: spec.configs, user: spec.user,
                      maxOpenFiles: 65_536, specHash: SpecHash.of(spec))
    }
}

/// A short stable hash of a spec for labels (FNV-1a over its JSON): it tells
/// specs apart without revealing anything in them.
public enum SpecHash {
    public static func of<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(value)) ?? Data()
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return String(h, radix: 16)
    }
}
