import CorralCore
import CorralExecutor
import CorralRuntime
import CorralTestSupport
import Foundation
import PropertyBased
import Testing

/// The state database on its own: a real SQLite file, reopened as a restart would.
@Suite struct StateStoreTests {
    static let instanceStates = InstanceState.allCases
    static let taskStates = TaskState.allCases

    /// A legal history of `State`'s lifecycle, chosen by `walk`, with reasons on some steps.
    static func history<State: LifecycleState>(_: State.Type, walk: [Int]) -> [WorkloadStep] {
        var l = Lifecycle(State.pending, at: 1)
        for (i, c) in walk.enumerated() {
            let next = l.state.successors.sorted { $0.rawValue < $1.rawValue }
            guard !next.isEmpty else { break }
            try? l.transition(to: next[c % next.count], reason: c % 3 == 0 ? "reason \(c)" : nil, at: Double(2 + i))
        }
        return l.history.map(\.workloadStep)
    }

    static func info(_ id: String, kind: WorkloadKind, walk: [Int]) -> InstanceInfo {
        let history = kind == .application ? Self.history(InstanceState.self, walk: walk) : Self.history(TaskState.self, walk: walk)
        let state = history.last!.state
        let a = Allocation(id: id, cpus: try! CPUSet(list: "2-3"), cpuCount: 2, requestedCPUs: 2, numaNodes: [0],
                           memoryBytes: 64 << 20, memoryByNode: [0: 64 << 20], gpus: [], pinned: true)
        return InstanceInfo(instanceId: id, appId: "app", kind: kind, state: state, allocation: a, ports: ["http": 31_001],
                            engine: .process, handle: nil, created: 1, updated: history.last!.at,
                            lastError: history.last?.reason, exitCode: kind == .task ? 3 : nil,
                            taskId: kind == .task ? "t-\(id)" : nil, history: history)
    }

    @Test func whatIsSavedIsWhatARestartReads() async throws {
        let dir = TemporaryDirectory.path("corral-store")
        await propertyCheck(input: Gen.int(in: 0...999).array(of: 0...12), Gen.int(in: 0...1)) { walk, k in
            let kind: WorkloadKind = k == 0 ? .application : .task
            let id = "w-\(UUID().uuidString.prefix(8))"
            let info = Self.info(id, kind: kind, walk: walk)
            let store = try! StateStore(directory: dir)
            try! store.save(info, terminal: info.state.isTerminal, spec: Data("{\"env\":{\"K\":\"\"}}".utf8))
            // A second handle on the same file, as the next start opens it.
            let reopened = try! StateStore(directory: dir)
            let row = try! #require(try reopened.load(liveOnly: false).first { $0.info.instanceId == id })
            #expect(row.info == info)
            #expect(row.terminal == info.state.isTerminal)
            #expect(row.spec == Data("{\"env\":{\"K\":\"\"}}".utf8))
            let live = try! reopened.load(liveOnly: true).contains { $0.info.instanceId == id }
            #expect(live == !info.state.isTerminal)
        }
    }

    @Test func theSpecIsKeptFromTheFirstRowAndUpdatesReplaceTheState() throws {
        let store = try StateStore(directory: TemporaryDirectory.path("corral-store"))
        var info = Self.info("a-1", kind: .application, walk: [0, 0])
        try store.save(info, terminal: false, spec: Data("{\"appId\":\"app\"}".utf8))
        info = info.lostAfterRestart("gone while the executor was down", at: 99)
        try store.save(info, terminal: true)
        let rows = try store.load(liveOnly: false)
        #expect(rows.count == 1)
        #expect(rows[0].info.state == .instance(.LOST))
        #expect(rows[0].info.history.suffix(2).map(\.state) == [.instance(.UNKNOWN), .instance(.LOST)])
        #expect(rows[0].info.lastError == "gone while the executor was down")
        #expect(rows[0].spec == Data("{\"appId\":\"app\"}".utf8), "a later save without a spec keeps the first")
        #expect(try store.load(liveOnly: true).isEmpty)
    }

    /// Rows written before history steps kept their time and reason still load.
    @Test func rowsWithBareHistoryNamesStillLoad() throws {
        let old = """
        {"instanceId":"old-1","appId":"a","kind":"task","state":"STOPPED","ports":{},"engine":"process",
         "created":1,"updated":2,"exitCode":0,"taskId":"t","history":["PENDING","PROVISIONING","STARTING","RUNNING",
         "RUN_COMPLETED","DEPROVISIONING","STOPPED"]}
        """
        let info = try JSONDecoder().decode(InstanceInfo.self, from: Data(old.utf8))
        #expect(info.state == .task(.STOPPED))
        #expect(info.passed(through: .task(.RUN_COMPLETED)))
        #expect(info.history.count == 7)
        // A state the kind does not have is refused, naming what is allowed.
        let bad = old.replacingOccurrences(of: "\"state\":\"STOPPED\"", with: "\"state\":\"HEALTHY\"")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(InstanceInfo.self, from: Data(bad.utf8)) }
    }

    @Test func redactedSpecsKeepKeysAndDropValues() throws {
        struct Spec: Encodable { var appId = "a"; var env = ["TOKEN": "s3cr3t", "MODE": "fast"] }
        let data = try #require(StateStore.redacted(Spec()))
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains("s3cr3t") && !text.contains("fast"))
        #expect(text.contains("\"TOKEN\":\"\"") && text.contains("\"MODE\":\"\""))
    }

    @Test func stageJobsComeBackUnfinishedFirstAndMeta() throws {
        let store = try StateStore(directory: TemporaryDirectory.path("corral-store"))
        func job(_ n: Int, _ state: StageJob.State) -> StageJob {
            StageJob(id: "job-\(n)", stage: "pc1", sequence: UInt64(n), state: state, task: Data("{}".utf8),
                     submitted: Date(timeIntervalSince1970: Double(n)))
        }
        try store.saveJob(job(1, .succeeded))
        try store.saveJob(job(2, .queued))
        try store.saveJob(job(3, .running))
        try store.saveJob(job(2, .failed))  // the same job, later: replaced
        let jobs = try store.loadJobs(recent: 1)
        #expect(Set(jobs.map(\.id)) == ["job-3", "job-2"] || Set(jobs.map(\.id)) == ["job-3", "job-1"])
        #expect(jobs.first { $0.id == "job-3" }?.state == .running)
        #expect(jobs.filter { !$0.state.terminal }.map(\.id) == ["job-3"])
        try store.setMeta("k", "v1")
        try store.setMeta("k", "v2")
        #expect(store.meta("k") == "v2")
        #expect(store.isWritable())
    }
}
