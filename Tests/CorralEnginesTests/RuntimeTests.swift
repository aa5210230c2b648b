import CorralCore
import CorralEngines
import CorralHost
import CorralRuntime
import Foundation
import CorralTestSupport
import Testing

/// Records every state an instance passes through.
actor StateLog: InstanceObserver {
    var states: [String] = []
    func changed(_ info: InstanceInfo) { states.append(info.state.name) }
}

/// Instance and task lifecycles driven for real over the ProcessEngine and
/// (when Podman answers) the DockerEngine.
@Suite(.serialized) struct RuntimeTests {
    let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-rt-\(UUID().uuidString)").path

    static func broker() throws -> LocalResourceBroker {
        let t = try TopologyReader(fsroot: "/").read()
        let (eff, _) = EffectiveResources.compute(topology: t, resources: ResourcesConfig(), hostname: "test")
        return LocalResourceBroker(resources: eff, portRange: 32_100...32_199)
    }

    func processEngine() throws -> ProcessEngine {
        try ProcessEngine(stateDir: stateDir, cgroups: Cgroups.detect(parentName: "corral-test"))
    }

    static func spec(_ json: String) throws -> InstanceSpec {
        try InstanceSpec.parse(json: Data(json.utf8))
    }

    static func process(_ command: [String], extra: String = "") -> String {
        let cmd = command.map { "\"\($0.replacingOccurrences(of: "\"", with: "\\\""))\"" }.joined(separator: ", ")
        return """
        {"appId": "rt-1", "executable": {"type": "PROCESS", "command": [\(cmd)]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 64}]\(extra)}
        """
    }

    @Test func withoutChecksAnInstanceIsHealthyOnceRunningAndStopsCleanly() async throws {
        let broker = try Self.broker()
        let free = await broker.freeCPUCount
        let log = StateLog()
        let s = InstanceSupervisor(spec: try Self.spec(Self.process(["sleep", "30"])), instanceId: "i-plain",
                                   engine: try processEngine(), broker: broker, observer: log, output: CollectingSink())
        #expect(await s.provision() == nil)
        #expect(await broker.freeCPUCount == free - 1)
        let running = Task { await s.run() }
        for _ in 0..<200 where await s.state != .HEALTHY { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await s.state == .HEALTHY)
        let info = await s.stop()
        await running.value
        #expect(info.state.name == "STOPPED")
        #expect(await log.states == ["PROVISIONING", "STARTING", "UNREADY", "READY", "HEALTHY", "STOPPING", "DEPROVISIONING", "STOPPED"])
        #expect(await broker.freeCPUCount == free)
        #expect(await broker.releases == ["i-plain"], "released exactly once")
    }

    @Test func httpReadinessAndHealthThenKilledUnderneathIsLost() async throws {
        let broker = try Self.broker()
        let free = await broker.freeCPUCount
        let extra = """
        , "exposedPorts": [{"name": "main", "port": 8000, "type": "HTTP"}],
          "readiness": {"mode": {"type": "HTTP", "portName": "main", "path": "/"}, "interval": "100ms", "attempts": 50, "timeout": "1s"},
          "healthcheck": {"mode": {"type": "HTTP", "portName": "main", "path": "/"}, "interval": "200ms", "attempts": 3, "timeout": "1s"}
        """
        let engine = try processEngine()
        let s = InstanceSupervisor(
            spec: try Self.spec(Self.process(["sh", "-c", "exec python3 -m http.server $PORT_8000 --bind 127.0.0.1"], extra: extra)),
            instanceId: "i-http", engine: engine, broker: broker, output: CollectingSink())
        let running = Task { await s.run() }
        for _ in 0..<500 where await s.state != .HEALTHY { try await Task.sleep(for: .milliseconds(20)) }
        let info = await s.info
        #expect(info.state.name == "HEALTHY", "\(info.history) \(info.lastError ?? "")")
        let port = try #require(info.ports["main"])
        #expect((32_100...32_199).contains(port))
        // Kill the server from outside: the instance is lost and its core comes back.
        let runner = try #require(info.handle?.pid)
        for p in ProcReader.children(of: runner) { kill(p, SIGKILL) }
        let end = await s.untilDone()
        await running.value
        #expect(end.state.name == "LOST")
        #expect(end.lastError?.contains("killed by signal 9") == true)
        #expect(await broker.freeCPUCount == free)
        #expect(await broker.releases == ["i-http"])
    }

    @Test func aFailingHealthCheckStopsTheInstanceAndKeepsTheReason() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("corral-healthy-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: marker, contents: Data())
        let broker = try Self.broker()
        let extra = """
        , "healthcheck": {"mode": {"type": "CMD", "command": "test -f \(marker)"}, "interval": "100ms", "attempts": 2, "timeout": "2s"}
        """
        let s = InstanceSupervisor(spec: try Self.spec(Self.process(["sleep", "30"], extra: extra)), instanceId: "i-health",
                                   engine: try processEngine(), broker: broker, output: CollectingSink())
        let running = Task { await s.run() }
        for _ in 0..<300 where await s.state != .HEALTHY { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await s.state == .HEALTHY)
        try FileManager.default.removeItem(atPath: marker)
        let end = await s.untilDone()
        await running.value
        #expect(end.state.name == "STOPPED")
        #expect(end.history.map(\.state.name).contains("UNHEALTHY"))
        #expect(end.lastError?.hasPrefix("health check failed: command `test -f") == true)
        #expect(await broker.releases == ["i-health"])
    }

    @Test func aFailingReadinessCheckEndsTheInstance() async throws {
        let broker = try Self.broker()
        let extra = """
        , "readiness": {"mode": {"type": "CMD", "command": "exit 1"}, "interval": "50ms", "attempts": 3, "timeout": "1s"}
        """
        let s = InstanceSupervisor(spec: try Self.spec(Self.process(["sleep", "30"], extra: extra)), instanceId: "i-ready",
                                   engine: try processEngine(), broker: broker, output: CollectingSink())
        await s.run()
        let end = await s.info
        #expect(end.history.map(\.state.name) == ["PENDING", "PROVISIONING", "STARTING", "UNREADY", "READINESS_CHECK_FAILED", "DEPROVISIONING", "STOPPED"])
        #expect(end.lastError?.contains("3 failures in a row") == true)
        #expect(await broker.releases == ["i-ready"])
    }

    @Test func startAndProvisioningFailuresReleaseWhatWasHeld() async throws {
        let broker = try Self.broker()
        let free = await broker.freeCPUCount
        let bad = InstanceSupervisor(spec: try Self.spec(Self.process(["/nonexistent/binary"])), instanceId: "i-bad",
                                     engine: try processEngine(), broker: broker, output: CollectingSink())
        await bad.run()
        #expect(await bad.info.history.map(\.state.name).suffix(3) == ["START_FAILED", "DEPROVISIONING", "STOPPED"])
        #expect(await bad.info.lastError?.contains("/nonexistent/binary") == true)
        #expect(await broker.releases == ["i-bad"])
        #expect(await broker.freeCPUCount == free)

        let huge = InstanceSupervisor(
            spec: try Self.spec(Self.process(["true"]).replacingOccurrences(of: "\"count\": 1", with: "\"count\": 4096")),
            instanceId: "i-huge", engine: try processEngine(), broker: broker, output: CollectingSink())
        let error = await huge.provision()
        #expect(error?.code == .doesNotFit)
        #expect(await huge.info.history.map(\.state.name) == ["PENDING", "PROVISIONING", "PROVISIONING_FAILED", "DEPROVISIONING", "STOPPED"])
        #expect(await broker.releases == ["i-bad"], "nothing was held, nothing is released")
    }

    static func task(_ command: [String]) throws -> TaskSpec {
        let cmd = command.map { "\"\($0)\"" }.joined(separator: ", ")
        return try TaskSpec.parse(json: Data("""
        {"sourceAppName": "reports", "taskId": "t-1", "executable": {"type": "PROCESS", "command": [\(cmd)]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 32}]}
        """.utf8))
    }

    @Test func aTaskReportsItsExitCodeAndTimes() async throws {
        let broker = try Self.broker()
        let t = TaskSupervisor(spec: try Self.task(["sh", "-c", "exit 3"]), instanceId: "t-exit", engine: try processEngine(),
                               broker: broker, output: CollectingSink())
        await t.run()
        let info = await t.info
        #expect(info.state.name == "STOPPED")
        #expect(info.exitCode == 3)
        #expect(info.history.map(\.state.name) == ["PENDING", "PROVISIONING", "STARTING", "RUNNING", "RUN_COMPLETED", "DEPROVISIONING", "STOPPED"])
        #expect(info.updated >= info.created)
        #expect(await broker.releases == ["t-exit"])
    }

    /// A task's cores come back when its exit is seen, not when the engine has
    /// removed its remains (a container's removal on Podman): whoever waits
    /// for the task's end (`corral run`) has it, with the exit code, while the
    /// removal goes on; STOPPED follows it, and the release is made once.
    @Test func aTasksResourcesComeBackAtItsExitBeforeItsRemainsAreRemoved() async throws {
        let broker = try Self.broker()
        let engine = SlowRemoval(base: try processEngine())
        let t = TaskSupervisor(spec: try Self.task(["sh", "-c", "exit 4"]), instanceId: "t-early", engine: engine,
                               broker: broker, output: CollectingSink())
        let running = Task { await t.run() }
        let ended = await t.untilEnded()
        #expect(ended.exitCode == 4)
        #expect(ended.state.name == "DEPROVISIONING")
        #expect(await broker.releases == ["t-early"], "released before the removal is done")
        #expect(await engine.removals == 0)
        await engine.open()
        await running.value
        let done = await t.untilDone()
        #expect(done.state.name == "STOPPED" && done.exitCode == 4)
        #expect(await engine.removals == 1)
        #expect(await broker.releases == ["t-early"], "once")
    }

    /// The process engine, whose `remove` waits until the test lets it go.
    actor SlowRemoval: Engine {
        let base: ProcessEngine
        private(set) var removals = 0
        private var gate: [CheckedContinuation<Void, Never>] = []
        private var isOpen = false
        init(base: ProcessEngine) { self.base = base }
        nonisolated var kind: EngineKind { base.kind }
        func open() { isOpen = true; for g in gate { g.resume() }; gate = [] }
        func start(_ launch: Launch, output: any LogSink) async throws(EngineError) -> WorkloadHandle { try await base.start(launch, output: output) }
        func waitForExit(_ handle: WorkloadHandle) async -> WorkloadExit { await base.waitForExit(handle) }
        func signal(_ handle: WorkloadHandle, _ signal: Int32) async throws(EngineError) { try await base.signal(handle, signal) }
        func stop(_ handle: WorkloadHandle, grace: Duration) async throws(EngineError) { try await base.stop(handle, grace: grace) }
        func remove(_ handle: WorkloadHandle) async throws(EngineError) {
            if !isOpen { await withCheckedContinuation { gate.append($0) } }
            try await base.remove(handle)
            removals += 1
        }
        func exec(_ handle: WorkloadHandle, command: [String], timeout: Duration) async throws(EngineError) -> ExecResult {
            try await base.exec(handle, command: command, timeout: timeout)
        }
        func discover() async throws(EngineError) -> [DiscoveredWorkload] { try await base.discover() }
        func reattach(_ handle: WorkloadHandle, output: any LogSink) async throws(EngineError) { try await base.reattach(handle, output: output) }
        func isAlive(_ handle: WorkloadHandle) async -> Bool? { await base.isAlive(handle) }
        func ping() async -> Bool { await base.ping() }
    }

    @Test func aCancelledTaskIsStoppedAndRecordedAsFailed() async throws {
        let broker = try Self.broker()
        let t = TaskSupervisor(spec: try Self.task(["sleep", "30"]), instanceId: "t-cancel", engine: try processEngine(),
                               broker: broker, output: CollectingSink())
        let running = Task { await t.run() }
        for _ in 0..<300 where await t.state != .RUNNING { try await Task.sleep(for: .milliseconds(10)) }
        let info = await t.cancel(grace: .seconds(2))
        await running.value
        #expect(info.state.name == "STOPPED")
        #expect(info.history.map(\.state.name).contains("RUN_FAILED"))
        #expect(info.lastError == "cancelled")
        #expect(info.exitCode == 143)
        #expect(await broker.releases == ["t-cancel"])
    }

    @Test func aContainerInstanceWithAnHTTPCheckOnItsMappedPort() async throws {
        guard let engine = await DockerEngineTests.engine() else { return }
        let broker = try Self.broker()
        let free = await broker.freeCPUCount
        let spec = try Self.spec("""
        {"appId": "web-1", "executable": {"type": "DOCKER", "url": "localhost/corral-test:1", "pullPolicy": "NEVER"},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 32}],
         "exposedPorts": [{"name": "main", "port": 8000, "type": "HTTP"}],
         "args": ["httpd", "-f", "-p", "8000", "-h", "/www"],
         "readiness": {"mode": {"type": "HTTP", "portName": "main", "path": "/ready"}, "interval": "200ms", "attempts": 50},
         "healthcheck": {"mode": {"type": "CMD", "command": "test -f /www/ready"}, "interval": "500ms", "attempts": 2}}
        """)
        let s = InstanceSupervisor(spec: spec, instanceId: "c-\(UUID().uuidString.prefix(8).lowercased())", engine: engine,
                                   broker: broker, output: CollectingSink())
        let running = Task { await s.run() }
        for _ in 0..<300 where await s.state != .HEALTHY { try await Task.sleep(for: .milliseconds(50)) }
        let info = await s.info
        #expect(info.state.name == "HEALTHY", "\(info.history) \(info.lastError ?? "")")
        // Killed underneath: noticed, LOST, the core comes back.
        if let id = info.handle?.id {
            _ = try await engine.client.call(.POST, "/containers/\(id)/kill", query: [("signal", "KILL")])
        }
        let end = await s.untilDone()
        await running.value
        #expect(end.state.name == "LOST")
        #expect(await broker.freeCPUCount == free)
    }

    /// The real process engine, but its exit notices come late (as a busy
    /// container engine's can): a workload's death is then first seen by a
    /// failing health check.
    struct LateExitEngine: Engine {
        let inner: ProcessEngine
        var kind: EngineKind { inner.kind }
        func start(_ launch: Launch, output: any LogSink) async throws(EngineError) -> WorkloadHandle { try await inner.start(launch, output: output) }
        func waitForExit(_ handle: WorkloadHandle) async -> WorkloadExit {
            let how = await inner.waitForExit(handle)
            try? await Task.sleep(for: .seconds(3))
            return how
        }
        func stop(_ handle: WorkloadHandle, grace: Duration) async throws(EngineError) { try await inner.stop(handle, grace: grace) }
        func signal(_ handle: WorkloadHandle, _ signal: Int32) async throws(EngineError) { try await inner.signal(handle, signal) }
        func remove(_ handle: WorkloadHandle) async throws(EngineError) { try await inner.remove(handle) }
        func exec(_ handle: WorkloadHandle, command: [String], timeout: Duration) async throws(EngineError) -> ExecResult {
            try await inner.exec(handle, command: command, timeout: timeout)
        }
        func discover() async throws(EngineError) -> [DiscoveredWorkload] { try await inner.discover() }
        func reattach(_ handle: WorkloadHandle, output: any LogSink) async throws(EngineError) { try await inner.reattach(handle, output: output) }
        func isAlive(_ handle: WorkloadHandle) async -> Bool? { await inner.isAlive(handle) }
        func ping() async -> Bool { await inner.ping() }
    }

    @Test func aWorkloadThatDiedIsLostEvenWhenAFailingCheckSeesItFirst() async throws {
        let broker = try Self.broker()
        let free = await broker.freeCPUCount
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("corral-late-\(UUID().uuidString)").path
        let spec = try Self.spec(Self.process(["sh", "-c", "echo $$ > \(pidFile); exec sleep 30"], extra: """
        , "readiness": {"mode": {"type": "CMD", "command": "test -s \(pidFile)"}, "interval": "200ms", "attempts": 100},
          "healthcheck": {"mode": {"type": "CMD", "command": "kill -0 $(cat \(pidFile))"}, "interval": "100ms", "attempts": 1}
        """))
        let s = InstanceSupervisor(spec: spec, instanceId: "i-late", engine: LateExitEngine(inner: try processEngine()),
                                   broker: broker, output: CollectingSink())
        let running = Task { await s.run() }
        for _ in 0..<3000 where await s.state != .HEALTHY { try await Task.sleep(for: .milliseconds(10)) }
        let healthy = await s.info
        try #require(healthy.state.name == "HEALTHY", "\(healthy.history) \(healthy.lastError ?? "")")
        // Kill the command (not the runner): the runner records it and ends.
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(pid, SIGKILL)
        let end = await s.untilDone()
        await running.value
        #expect(end.state.name == "LOST", "\(end.history) \(end.lastError ?? "")")
        #expect(end.lastError?.contains("found when a check failed") == true, "\(end.lastError ?? "")")
        #expect(await broker.freeCPUCount == free)
    }

    @Test func stopRunsPreShutdownHooksThenWaitsBeforeKill() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("corral-hook-\(UUID().uuidString)").path
        let broker = try Self.broker()
        let extra = """
        , "preShutdown": {"hooks": [{"type": "CMD", "command": "echo drained > \(marker)", "timeout": "2s"}], "waitBeforeKill": "300ms"}
        """
        let s = InstanceSupervisor(spec: try Self.spec(Self.process(["sleep", "30"], extra: extra)), instanceId: "i-hook",
                                   engine: try processEngine(), broker: broker, output: CollectingSink())
        let running = Task { await s.run() }
        for _ in 0..<300 where await s.state != .HEALTHY { try await Task.sleep(for: .milliseconds(10)) }
        let started = ContinuousClock.now
        let info = await s.stop(reason: "redeploy")
        await running.value
        #expect(ContinuousClock.now - started >= .milliseconds(300), "waitBeforeKill is honoured")
        #expect(info.state.name == "STOPPED")
        #expect(info.lastError == "redeploy")
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "drained\n")
    }
}
