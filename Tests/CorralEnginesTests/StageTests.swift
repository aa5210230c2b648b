import CorralCore
import CorralHost
import CorralRuntime
import Foundation
import Testing

/// Stage processors for real: python children speaking damocles' protocol,
/// started, pinned, dispatched to, killed and restarted by the dispatcher.
@Suite(.serialized) struct StageTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Processors/test-processor.py").path

    static func config(_ toml: String) throws -> ProcessorsConfig {
        let (c, issues) = ProcessorsConfigLoader.load(text: toml, file: "test.toml")
        let errors = issues.filter { $0.severity == .error }
        guard let c, errors.isEmpty else { throw CLIFailure("config: \(errors)") }
        return c
    }

    struct CLIFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static func entry(_ stage: String, _ extra: String = "") -> String {
        """

        [[processors.\(stage)]]
        bin = "\(script)"
        args = ["\(stage)"]
        stable_wait = "10s"
        \(extra)

        """
    }

    static func dispatcher(_ toml: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> StageDispatcher {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-stages-\(UUID().uuidString)").path
        let d = StageDispatcher(config: try config(toml), logDir: dir, cgroups: Cgroups.detect(parentName: "corral-test"),
                                environment: environment, store: nil)
        await d.start()
        return d
    }

    static func output(_ job: StageJob?) -> [String: Any] {
        guard let data = job?.output else { return [:] }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    static func task(_ json: String) -> Data { Data(json.utf8) }

    @Test func processorsArePinnedByTheExecutorAndAnswer() async throws {
        let cpus = try TopologyReader(fsroot: "/").read().usableCPUs
        let cpu = try #require(cpus.last)
        let d = try await Self.dispatcher(Self.entry("pc1", """
        cgroup.cpuset = "\(cpu)"
        numa_preferred = 0
        envs = { TEST_ENV = "from-config" }
        """))
        defer { Task { await d.shutdown() } }
        let snap = await d.snapshot()
        let p = try #require(snap.stages.first?.processors.first)
        #expect(p.state == .ready, "\(p)")
        let pid = try #require(p.pid)
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("Cpus_allowed_list:\t\(cpu)\n"), "pinned before exec, whatever the binary does")
        let job = try await d.submit(stage: "pc1", task: Self.task(#"{"n": 1}"#), deadline: nil)
        let done = await d.wait(job.id)
        #expect(done?.state == .succeeded, "\(String(describing: done))")
        let out = Self.output(done)
        #expect(out["cpus"] as? [Int] == [cpu])
        #expect(out["env"] as? String == "from-config")
        #expect((out["echo"] as? [String: Any])?["n"] as? Int == 1)
        await #expect(throws: StageError.self) { try await d.submit(stage: "pc9", task: Self.task("{}"), deadline: nil) }
    }

    @Test func jobsGoToWhicheverProcessorIsFreeAndErrorsComeBack() async throws {
        let d = try await Self.dispatcher(Self.entry("c2", "concurrent = 1") + Self.entry("c2", "concurrent = 1"))
        defer { Task { await d.shutdown() } }
        let a = try await d.submit(stage: "c2", task: Self.task(#"{"sleep": 0.4}"#), deadline: nil)
        let b = try await d.submit(stage: "c2", task: Self.task(#"{"sleep": 0.4}"#), deadline: nil)
        let (ra, rb) = (await d.wait(a.id), await d.wait(b.id))
        #expect(ra?.processor != rb?.processor, "the second job does not wait for the first processor")
        let (oa, ob) = (Self.output(ra), Self.output(rb))
        let overlap = min(oa["end"] as! Double, ob["end"] as! Double) - max(oa["start"] as! Double, ob["start"] as! Double)
        #expect(overlap > 0.2, "both ran at once")
        let bad = try await d.submit(stage: "c2", task: Self.task(#"{"fail": "sector 7 is broken"}"#), deadline: nil)
        let rbad = await d.wait(bad.id)
        #expect(rbad?.state == .failed && rbad?.error == "sector 7 is broken")
    }

    /// pc2 and c2 share one GPU lock; two clients keep 4 jobs each outstanding.
    /// The lock is never held by both, both stages progress, and no job waits
    /// for more than the jobs that were ahead of it.
    @Test func aSharedLockIsExclusiveAndFair() async throws {
        let d = try await Self.dispatcher("""
        [processors.ext_locks]
        gpu = 1
        """ + Self.entry("pc2", #"locks = ["gpu"]"#) + Self.entry("c2", #"locks = ["gpu"]"#))
        defer { Task { await d.shutdown() } }
        let per = 12
        let service = 0.05
        actor Log {
            var jobs: [StageJob] = []
            func add(_ j: StageJob) { jobs.append(j) }
        }
        let log = Log()
        await withTaskGroup(of: Void.self) { g in
            for stage in ["pc2", "c2"] {
                for _ in 0..<4 {
                    g.addTask {
                        for _ in 0..<(per / 4) {
                            guard let j = try? await d.submit(stage: stage, task: Self.task(#"{"sleep": \#(service)}"#), deadline: 30),
                                  let r = await d.wait(j.id) else { return }
                            await log.add(r)
                        }
                    }
                }
            }
        }
        let jobs = await log.jobs
        #expect(jobs.count == 2 * per && jobs.allSatisfy { $0.state == .succeeded })
        let spans = jobs.map { j -> (String, Double, Double) in
            let o = Self.output(j)
            return (j.stage, o["start"] as? Double ?? 0, o["end"] as? Double ?? 0)
        }.sorted { $0.1 < $1.1 }
        for (a, b) in zip(spans, spans.dropFirst()) {
            #expect(b.1 >= a.2 - 0.005, "the lock was held twice at once: \(a) and \(b)")
        }
        // Both stages progress: no run of more than 4 + 1 completions of one stage while the other waits.
        var longest = 0, run = 0, last = ""
        for s in spans.map(\.0) {
            run = s == last ? run + 1 : 1
            last = s
            longest = max(longest, run)
        }
        #expect(longest <= 5, "one stage ran \(longest) jobs in a row: \(spans.map(\.0))")
        // Bounded wait, counted in jobs rather than seconds (so machine load cannot
        // blur it): no later job overtakes an earlier one on the lock, and while a
        // job waits at most the 7 others that can be outstanding start before it.
        let overtakes = jobs.flatMap { j in jobs.filter { $0.sequence > j.sequence && $0.started! < j.started! }.map { (j.id, $0.id) } }
        #expect(overtakes.isEmpty, "later jobs started first: \(overtakes.prefix(5))")
        let ahead = jobs.map { j in jobs.filter { $0.id != j.id && $0.started! > j.submitted && $0.started! < j.started! }.count }
        #expect((ahead.max() ?? 0) <= 7, "a job saw \(ahead.max() ?? 0) others start while it waited")
        let snap = await d.snapshot()
        #expect(snap.locks.first?.acquisitions == 2 * per)
    }

    /// Processors listing the same two locks in opposite orders never deadlock:
    /// a job takes all its locks at once or none.
    @Test func locksListedInOppositeOrdersNeverDeadlock() async throws {
        let d = try await Self.dispatcher("""
        [processors.ext_locks]
        x = 1
        y = 1
        """ + Self.entry("pc2", #"locks = ["x", "y"]"#) + Self.entry("c2", #"locks = ["y", "x"]"#))
        defer { Task { await d.shutdown() } }
        let ids = try await withThrowingTaskGroup(of: String.self) { g in
            for i in 0..<20 {
                g.addTask { try await d.submit(stage: i % 2 == 0 ? "pc2" : "c2", task: Self.task(#"{"sleep": 0.01}"#), deadline: 20).id }
            }
            return try await g.reduce(into: []) { $0.append($1) }
        }
        for id in ids {
            #expect(await d.wait(id)?.state == .succeeded)
        }
    }

    /// `staggered`: while jobs of the stage run, at most one more starts per
    /// interval; with none running the next starts at once.
    @Test func staggeredStartsAreSpacedWhileJobsRun() async throws {
        let d = try await Self.dispatcher("""
        [processors.limitation.staggered]
        pc1 = "1s"
        pc2 = "10s"
        """ + Self.entry("pc1", "concurrent = 3") + Self.entry("pc2", "concurrent = 2"))
        defer { Task { await d.shutdown() } }
        var ids: [String] = []
        // Each runs 4 s: the three starts, 1 s apart, all come while the first runs,
        // with room for a loaded machine.
        for _ in 0..<3 { ids.append(try await d.submit(stage: "pc1", task: Self.task(#"{"sleep": 4}"#), deadline: 30).id) }
        var starts: [Double] = []
        for id in ids {
            let r = await d.wait(id)
            #expect(r?.state == .succeeded)
            starts.append(Self.output(r)["start"] as? Double ?? 0)
        }
        starts.sort()
        for (a, b) in zip(starts, starts.dropFirst()) {
            #expect(b - a >= 0.95, "starts \(starts): less than the 1s gap apart while a job ran")
        }
        #expect(starts.last! - starts.first! < 4, "the third started before the first finished: \(starts)")
        // A job that finished leaves nothing running: the next one starts at
        // once, well inside the 10 s gap of the one before (a loaded machine
        // can take a second or two between them, never ten).
        let first = await d.wait(try await d.submit(stage: "pc2", task: Self.task("{}"), deadline: 30).id)
        let second = await d.wait(try await d.submit(stage: "pc2", task: Self.task("{}"), deadline: 30).id)
        #expect(first?.state == .succeeded && second?.state == .succeeded)
        let (s1, s2) = (try #require(Self.output(first)["start"] as? Double), try #require(Self.output(second)["start"] as? Double))
        #expect(s2 - s1 < 5, "an idle stage waited \(s2 - s1)s for its 10 s gap")
    }

    @Test func aMissedDeadlineFailsTheJobAndRestartsTheProcessor() async throws {
        let d = try await Self.dispatcher("""
        [processors.restart]
        initial_backoff = "50ms"
        """ + Self.entry("pc2"))
        defer { Task { await d.shutdown() } }
        let before = try #require(await d.snapshot().stages[0].processors[0].pid)
        let hung = try await d.submit(stage: "pc2", task: Self.task(#"{"hang": true}"#), deadline: 0.5)
        let r = await d.wait(hung.id)
        #expect(r?.state == .failed)
        #expect(r?.error?.contains("deadline 0.5s missed") == true, "\(String(describing: r?.error))")
        // Restarted with a new pid, and it works.
        var after: Int32?
        for _ in 0..<100 {
            let p = await d.snapshot().stages[0].processors[0]
            if p.state == .ready, p.pid != before { after = p.pid; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(after != nil && after != before)
        #expect(kill(before, 0) != 0, "the hung child is gone")
        let ok = try await d.submit(stage: "pc2", task: Self.task("{}"), deadline: 5)
        #expect(await d.wait(ok.id)?.state == .succeeded)
        #expect(await d.snapshot().stages[0].deadlineMisses == 1)
    }

    @Test func aCrashMidJobFailsItClearlyAndTheProcessorComesBack() async throws {
        let d = try await Self.dispatcher("""
        [processors.restart]
        initial_backoff = "50ms"
        """ + Self.entry("c2"))
        defer { Task { await d.shutdown() } }
        let slow = try await d.submit(stage: "c2", task: Self.task(#"{"sleep": 5}"#), deadline: nil)
        let crash = try await d.submit(stage: "c2", task: Self.task(#"{"crash": true}"#), deadline: nil)
        let (rs, rc) = (await d.wait(slow.id), await d.wait(crash.id))
        for r in [rs, rc] {
            #expect(r?.state == .failed)
            #expect(r?.error?.contains("c2#0 died while running the job (exit status 3)") == true, "\(String(describing: r?.error))")
        }
        let next = try await d.submit(stage: "c2", task: Self.task("{}"), deadline: nil)
        #expect(await d.wait(next.id)?.state == .succeeded, "queued until the restart, then run")
        #expect(await d.snapshot().stages[0].processors[0].restarts == 1)
    }

    @Test func aCrashLoopStopsRestartsAndFailsWaitingJobs() async throws {
        let d = try await Self.dispatcher("""
        [processors.restart]
        initial_backoff = "10ms"
        crash_loop_limit = 3

        [[processors.c1]]
        bin = "/bin/false"
        stable_wait = "2s"
        """)
        defer { Task { await d.shutdown() } }
        var p = await d.snapshot().stages[0].processors[0]
        for _ in 0..<100 where p.state != .crashLooping {
            try await Task.sleep(for: .milliseconds(20))
            p = await d.snapshot().stages[0].processors[0]
        }
        #expect(p.state == .crashLooping)
        #expect(p.restarts == 2)
        #expect(p.lastError?.contains("3 failures in a row") == true, "\(String(describing: p.lastError))")
        let j = try await d.submit(stage: "c1", task: Self.task("{}"), deadline: nil)
        let r = await d.wait(j.id)
        #expect(r?.state == .failed && r?.error?.contains("no processor of stage c1 is running") == true)
    }

    @Test func aProcessorThatNeverSaysReadyIsReported() async throws {
        var env = ProcessInfo.processInfo.environment
        env["TEST_PROCESSOR_MODE"] = "never-ready"
        let d = try await Self.dispatcher("""
        [processors.restart]
        crash_loop_limit = 1
        """ + Self.entry("pc1").replacingOccurrences(of: "10s", with: "300ms"), environment: env)
        defer { Task { await d.shutdown() } }
        let p = await d.snapshot().stages[0].processors[0]
        #expect(p.state == .crashLooping)
        #expect(p.lastError?.contains("did not print \"pc1 processor ready\" within stable_wait 300ms") == true, "\(String(describing: p.lastError))")
    }

    /// damocles' keys with damocles' meaning: no bin leaves that stage stopped
    /// (the others run), inherit_envs = false gives the child only its envs,
    /// auto_restart = false leaves a dead processor dead.
    @Test func damoclesEntryKeysMeanWhatTheySay() async throws {
        var env = ProcessInfo.processInfo.environment
        env["CORRAL_TEST_MARKER"] = "from-the-executor"
        let d = try await Self.dispatcher("""
        [[processors.pc1]]
        concurrent = 1
        """ + Self.entry("c2", """
        inherit_envs = false
        auto_restart = false
        envs = { TEST_ENV = "only-this" }
        """), environment: env)
        defer { Task { await d.shutdown() } }
        let snap = await d.snapshot()
        let pc1 = try #require(snap.stages.first(where: { $0.name == "pc1" })?.processors.first)
        #expect(pc1.state == .unstartable && pc1.lastError?.contains("pc1#0 has no bin") == true, "\(pc1)")
        await #expect { try await d.submit(stage: "pc1", task: Self.task("{}"), deadline: nil) } throws: { e in
            guard let e = e as? StageError else { return false }
            return e.code == .stageUnavailable && e.message.contains("needs a bin to start it")
        }
        let job = try await d.submit(stage: "c2", task: Self.task("{}"), deadline: nil)
        let done = await d.wait(job.id)
        #expect(done?.state == .succeeded, "\(String(describing: done))")
        let names = Self.output(done)["envNames"] as? [String] ?? []
        #expect(!names.contains("CORRAL_TEST_MARKER") && names.contains("TEST_ENV"), "\(names)")
        #expect(Self.output(done)["env"] as? String == "only-this")
        let crash = try await d.submit(stage: "c2", task: Self.task(#"{"crash": true}"#), deadline: nil)
        #expect(await d.wait(crash.id)?.state == .failed)
        var c2 = await d.snapshot().stages.first(where: { $0.name == "c2" })?.processors.first
        for _ in 0..<100 where c2?.state != .exited {
            try await Task.sleep(for: .milliseconds(20))
            c2 = await d.snapshot().stages.first(where: { $0.name == "c2" })?.processors.first
        }
        #expect(c2?.state == .exited && c2?.restarts == 0, "\(String(describing: c2))")
        let after = try await d.submit(stage: "c2", task: Self.task("{}"), deadline: nil)
        let r = await d.wait(after.id)
        #expect(r?.state == .failed && r?.error?.contains("no processor of stage c2 is running") == true, "\(String(describing: r))")
    }
}
