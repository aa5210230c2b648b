import CorralCore
import CorralEngines
import CorralExecutor
import CorralHost
import CorralRuntime
import CorralTestSupport
import Foundation
import Testing

@Suite(.serialized) struct AppReconcilerTests {
    static func executor() async throws -> Executor {
        let dir = TemporaryDirectory.path("corral-apps")
        let t = try TopologyReader(fsroot: "/").read()
        let (eff, _) = EffectiveResources.compute(topology: t, resources: ResourcesConfig(), hostname: "h")
        let engine = try ProcessEngine(stateDir: "\(dir)/processes", cgroups: Cgroups.detect(parentName: "corral-test"))
        let ex = try Executor(config: ExecutorConfig(), resources: eff, hostname: "h", stateDir: dir,
                              engines: [.process: engine], portRange: 32_300...32_399)
        // The supervisors' work runs in the executor's ServiceGroup; here, beside the test.
        Task { try await ex.workloads.run() }
        return ex
    }

    static let spec = try! InstanceSpec.parse(json: Data("""
    {"appId": "web", "executable": {"type": "PROCESS", "command": ["sleep", "60"]},
     "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
    """.utf8))

    func until(_ what: String, seconds: Double = 30, _ check: () async -> Bool) async throws {
        if !(await eventually(seconds: seconds, every: .milliseconds(50), check)) {
            Issue.record("timed out waiting for \(what)")
        }
    }

    @Test func keepsTheCountReplacesWhatDiesAndScales() async throws {
        let ex = try await Self.executor()
        let apps = AppReconciler(executor: ex, store: ex.store, baseDelay: 0.2, maxDelay: 1, interval: .milliseconds(100))
        let loop = Task { try await apps.run() }
        defer { loop.cancel() }
        _ = try await apps.deploy(Self.spec, instances: 2)
        try await until("two healthy") { await apps.get("web")?.healthy == 2 }
        let before = try #require(await apps.get("web"))
        // Kill one instance's command from outside: it is LOST, then replaced after the backoff.
        let firstID = try #require(before.instances.first, "\(before)")
        let victim = try #require(await ex.get(firstID))
        let runner = try #require(victim.handle?.pid)
        for p in ProcReader.children(of: runner) { kill(p, SIGKILL) }
        try await until("the lost instance") { await ex.get(victim.instanceId)?.state.name == "LOST" }
        try await until("a replacement") {
            let s = await apps.get("web")
            return s?.healthy == 2 && s?.instances.contains(victim.instanceId) == false
        }
        #expect(await apps.get("web")?.failures == 1)
        _ = try await apps.scale("web", instances: 1)
        try await until("scaled down") { await apps.get("web")?.running == 1 }
        try await apps.destroy("web")
        try await until("all stopped") {
            await ex.list(kind: .application).allSatisfy { $0.state.name == "STOPPED" || $0.state.name == "LOST" }
        }
        #expect(await apps.get("web") == nil)
    }

    @Test func anAppThatDoesNotFitBacksOff() async throws {
        let ex = try await Self.executor()
        var big = Self.spec
        big.appId = "big"
        big.resources = ResourceRequest(cpus: 4096, memoryBytes: 16 << 20)
        let apps = AppReconciler(executor: ex, store: ex.store, baseDelay: 0.2, maxDelay: 1)
        _ = try await apps.deploy(big, instances: 1)
        await apps.reconcile()
        let s = try #require(await apps.get("big"))
        #expect(s.running == 0)
        #expect(s.failures == 1)
        #expect(s.nextStartInSeconds != nil)
        await #expect(throws: ExecutorError.self) { try await apps.scale("nope", instances: 1) }
        await #expect(throws: ExecutorError.self) { try await apps.deploy(big, instances: -1) }
    }
}
