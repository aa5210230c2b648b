import CorralCore
@testable import CorralEngines
import CorralHost
import CorralTestSupport
import Foundation
import Testing

@Suite(.serialized) struct ProcessEngineTests {
    let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-pe-\(UUID().uuidString)").path
    let cgroups = Cgroups.detect(parentName: "corral-test")

    func engine() throws -> ProcessEngine {
        try ProcessEngine(stateDir: stateDir, cgroups: cgroups)
    }

    /// The last CPU this process may use, and node 0: a real pinning target on any machine.
    static var target: (cpu: Int, node: Int) {
        let t = try! TopologyReader(fsroot: "/").read()
        let cpu = t.usableCPUs.last!
        return (cpu, t.cpu(cpu)?.numaNode ?? 0)
    }

    static func allocation(cpu: Int, node: Int, memory: UInt64 = 64 << 20) -> Allocation {
        Allocation(id: "a", cpus: [cpu], cpuCount: 1, requestedCPUs: 1, numaNodes: [node], memoryBytes: memory,
                   memoryByNode: [node: memory], gpus: [], pinned: true)
    }

    func launch(_ id: String, _ command: [String], memory: UInt64 = 64 << 20, maxOpenFiles: Int = 1024,
                workingDir: String? = nil, user: UserSpec? = nil) -> Launch {
        let t = Self.target
        return Launch(instanceID: id, appID: "app-1", kind: .application,
                      executable: .process(command: command, workingDir: workingDir), env: ["GREETING": "hello"],
                      allocation: Self.allocation(cpu: t.cpu, node: t.node, memory: memory), user: user,
                      maxOpenFiles: maxOpenFiles, specHash: "h1")
    }

    /// The command the runner started (it forks right after exec).
    static func command(of runner: Int32) async throws -> Int32 {
        for _ in 0..<300 {
            if let c = ProcReader.children(of: runner).first { return c }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw EngineError(.failed, "runner \(runner) started no command")
    }

    func requireCgroups() -> Bool {
        if cgroups.isAvailable { return true }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("CI=true but cgroups are unavailable: \(cgroups.summary)")
        } else {
            print("skipped cgroup checks: \(cgroups.summary)")
        }
        return false
    }

    @Test func pinnedFromTheFirstInstructionWithEnvAndLimits() async throws {
        let e = try engine()
        let out = CollectingSink()
        let t = Self.target
        let h = try await e.start(launch("pin-1", ["sh", "-c",
            "grep -E 'Cpus_allowed_list|Mems_allowed_list' /proc/self/status; echo \"greeting=$GREETING\"; echo nofile=$(ulimit -n); exit 7"]),
            output: out)
        #expect(await e.waitForExit(h) == .exited(code: 7))
        #expect(await out.waitFor("nofile="))
        #expect(out.text.contains("Cpus_allowed_list:\t\(t.cpu)\n"))
        #expect(out.text.contains("Mems_allowed_list:\t\(t.node)\n"))
        #expect(out.text.contains("greeting=hello"))
        #expect(out.text.contains("nofile=1024"))
        try await e.remove(h)
        #expect(!FileManager.default.fileExists(atPath: "\(stateDir)/pin-1"))
    }

    /// A native process finds its config files below $CORRAL_CONFIGS_DIR, read-only, gone with the workload.
    @Test func configFilesAreBelowTheConfigsDirectory() async throws {
        let e = try engine()
        var l = launch("cfg-1", ["sh", "-c", "cat \"$CORRAL_CONFIGS_DIR/etc/app/app.conf\"; stat -c %a \"$CORRAL_CONFIGS_DIR/etc/app/app.conf\"; echo dir=$CORRAL_CONFIGS_DIR"])
        l.configs = [ConfigSpec(localFilename: "/etc/app/app.conf", source: .inline(base64: Data("answer=42\n".utf8).base64EncodedString()))]
        let out = CollectingSink()
        let h = try await e.start(l, output: out)
        #expect(await e.waitForExit(h) == .exited(code: 0))
        #expect(await out.waitFor("dir="))
        #expect(out.text.contains("answer=42\n444\ndir=\(stateDir)/cfg-1/configs"), "\(out.text)")
        try await e.remove(h)
        #expect(!FileManager.default.fileExists(atPath: "\(stateDir)/cfg-1"))
    }

    @Test func runningProcessAndItsCgroupHoldTheAllocation() async throws {
        let e = try engine()
        let t = Self.target
        let h = try await e.start(launch("cg-1", ["sleep", "30"], memory: 96 << 20), output: CollectingSink())
        let runner = try #require(h.pid)
        // The runner and the command it started both carry the allocation.
        #expect(ProcReader.statusField(pid: runner, "Cpus_allowed_list") == "\(t.cpu)")
        let sleeper = try await Self.command(of: runner)
        #expect(ProcReader.statusField(pid: sleeper, "Cpus_allowed_list") == "\(t.cpu)")
        #expect(ProcReader.statusField(pid: sleeper, "Mems_allowed_list") == "\(t.node)")
        if requireCgroups() {
            let g = try #require(cgroups.existing(name: "cg-1"))
            #expect(try String(contentsOfFile: g.cpusFile!, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "\(t.cpu)")
            if let mem = g.memoryLimitFile {
                #expect(try String(contentsOfFile: mem, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == String(96 << 20))
            }
            #expect(Set(cgroups.pids(g)) == [runner, sleeper])
            #expect(h.confinement.hasPrefix("cgroup"))
        }
        let stopping = ContinuousClock.now
        try await e.stop(h, grace: .seconds(2))
        let took = ContinuousClock.now - stopping
        let exit = await e.waitForExit(h)
        #expect(exit == .signaled(signal: SIGTERM), "ended as \(exit) after a stop that took \(took)")
        try await e.remove(h)
        #expect(cgroups.existing(name: "cg-1") == nil, "the cgroup is removed with the workload")
    }

    @Test func signalsAndExitCodesAreReported() async throws {
        let e = try engine()
        let h = try await e.start(launch("sig-1", ["sh", "-c", "kill -9 $$"]), output: CollectingSink())
        #expect(await e.waitForExit(h) == .signaled(signal: 9))
        #expect(await e.waitForExit(h).code == 137)
        try await e.remove(h)
    }

    /// The Engine contract: a cancelled waiter returns (early, with a result
    /// that means nothing) and leaves the workload alone; a later wait still works.
    @Test func aCancelledWaitReturnsAndTheWorkloadRunsOn() async throws {
        let e = try engine()
        let h = try await e.start(launch("cancel-wait-1", ["sleep", "60"]), output: CollectingSink())
        let waiter = Task { await e.waitForExit(h) }
        try await Task.sleep(for: .milliseconds(100))
        let cancelledAt = ContinuousClock.now
        waiter.cancel()
        _ = await waiter.value
        #expect(ContinuousClock.now - cancelledAt < .seconds(2), "a cancelled wait returned at once")
        #expect(e.isRunning(h), "cancelling the wait did not touch the workload")
        let runner = try #require(h.pid)
        kill(try await Self.command(of: runner), SIGKILL)
        #expect(await e.waitForExit(h) == .signaled(signal: 9))
        try await e.remove(h)
    }

    @Test func aWorkloadKilledFromOutsideIsNoticed() async throws {
        let e = try engine()
        let h = try await e.start(launch("kill-1", ["sleep", "60"]), output: CollectingSink())
        let runner = try #require(h.pid)
        let sleeper = try await Self.command(of: runner)
        let started = ContinuousClock.now
        kill(sleeper, SIGKILL)
        #expect(await e.waitForExit(h) == .signaled(signal: 9))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(!e.isRunning(h))
        try await e.remove(h)
    }

    @Test func aKilledRunnerLeavesNoOrphanBehind() async throws {
        let e = try engine()
        let h = try await e.start(launch("orphan-1", ["sleep", "60"]), output: CollectingSink())
        let runner = try #require(h.pid)
        let sleeper = try await Self.command(of: runner)
        kill(runner, SIGKILL)
        if case .vanished = await e.waitForExit(h) {} else { Issue.record("a killed runner must read as vanished") }
        try await e.remove(h)
        // The command outlived its runner; remove() kills what is left in the cgroup.
        if requireCgroups() {
            var gone = false
            for _ in 0..<200 where !gone {
                gone = kill(sleeper, 0) != 0 || ProcReader.statusField(pid: sleeper, "State")?.hasPrefix("Z") == true
                if !gone { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(gone, "orphaned command \(sleeper) still runs")
        } else {
            kill(sleeper, SIGKILL)
        }
    }

    @Test func stopEscalatesToKillAfterTheGracePeriod() async throws {
        let e = try engine()
        let out = CollectingSink()
        let h = try await e.start(launch("stop-1", ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"]),
                                  output: out)
        #expect(await out.waitFor("ready"))
        let started = ContinuousClock.now
        try await e.stop(h, grace: .milliseconds(300))
        let took = ContinuousClock.now - started
        #expect(took >= .milliseconds(300) && took < .seconds(5))
        #expect(await e.waitForExit(h) == .signaled(signal: 9))
        try await e.remove(h)
    }

    @Test func startFailuresAreClearAndLeaveNothingBehind() async throws {
        let e = try engine()
        await #expect(throws: EngineError.self) {
            try await e.start(launch("bad-1", ["/nonexistent/program"]), output: CollectingSink())
        }
        do {
            _ = try await e.start(launch("bad-2", ["no-such-command-xyz"]), output: CollectingSink())
        } catch {
            #expect(error.message.contains("no-such-command-xyz was not found in PATH"))
        }
        do {
            _ = try await e.start(launch("bad-3", ["true"], workingDir: "/nonexistent/dir"), output: CollectingSink())
        } catch {
            #expect(error.message == "working directory /nonexistent/dir does not exist")
        }
        do {
            _ = try await e.start(launch("bad-4", ["true"], user: UserSpec(user: "no-such-user-xyz")), output: CollectingSink())
        } catch {
            #expect(error.message.contains("no-such-user-xyz"))
        }
        do {
            _ = try await e.start(launch("../escape", ["true"]), output: CollectingSink())
        } catch {
            #expect(error.code == .startFailed)
        }
        for id in ["bad-1", "bad-2", "bad-3", "bad-4"] {
            #expect(!FileManager.default.fileExists(atPath: "\(stateDir)/\(id)"))
            #expect(cgroups.existing(name: id) == nil)
        }
    }

    @Test func openFilesAboveTheHardLimitAreClampedWithAWarning() async throws {
        let e = try engine()
        let hard = HostLimits.openFilesHardLimit()
        let out = CollectingSink()
        let h = try await e.start(launch("nofile-1", ["sh", "-c", "echo nofile=$(ulimit -n)"], maxOpenFiles: 2_000_000),
                                  output: out)
        _ = await e.waitForExit(h)
        #expect(await out.waitFor("nofile="))
        if HostLimits.canRaiseResourceLimits() {
            #expect(h.warnings.isEmpty)
        } else {
            #expect(out.text.contains("nofile=\(hard)"))
            #expect(h.warnings.contains { $0.contains("above this host's hard limit \(hard)") })
        }
        try await e.remove(h)
    }

    @Test func execRunsBesideTheWorkload() async throws {
        let e = try engine()
        let h = try await e.start(launch("exec-1", ["sleep", "30"]), output: CollectingSink())
        let r = try await e.exec(h, command: ["sh", "-c", "echo checked; grep Cpus_allowed_list /proc/self/status; exit 3"],
                                 timeout: .seconds(5))
        #expect(r.exitCode == 3)
        #expect(r.output.contains("checked"))
        #expect(r.output.contains("Cpus_allowed_list:\t\(Self.target.cpu)"))
        await #expect(throws: EngineError.self) {
            try await e.exec(h, command: ["sleep", "10"], timeout: .milliseconds(200))
        }
        try await e.remove(h)
    }

    @Test func aRestartedExecutorAdoptsTheWorkloadWithItsOutputAndResult() async throws {
        let first = try engine()
        let before = CollectingSink()
        let h = try await first.start(launch("adopt-1", ["sh", "-c",
            "echo one; read line < /dev/null; sleep 0.5; echo two; sleep 0.3; echo three; exit 4"]), output: before)
        #expect(await before.waitFor("one"))
        // The first executor goes away: its reader stops, the workload keeps running.
        first.readers.stop(instanceID: "adopt-1")
        let second = try engine()
        let found = try await second.discover()
        let entry = try #require(found.first { $0.handle.instanceID == "adopt-1" })
        #expect(entry.running)
        #expect(entry.appID == "app-1" && entry.specHash == "h1")
        let after = CollectingSink()
        try await second.reattach(entry.handle, output: after)
        #expect(await second.waitForExit(entry.handle) == .exited(code: 4))
        #expect(await after.waitFor("three"))
        #expect(!before.text.contains("three"))
        try await second.remove(entry.handle)
    }

    @Test func aResultRecordedWhileNobodyWatchedIsStillThere() async throws {
        let first = try engine()
        let h = try await first.start(launch("done-1", ["sh", "-c", "exit 9"]), output: CollectingSink())
        try await Task.sleep(for: .milliseconds(300))
        let second = try engine()
        let entry = try #require(try await second.discover().first { $0.handle.instanceID == "done-1" })
        #expect(!entry.running)
        #expect(await second.waitForExit(h) == .exited(code: 9))
        try await second.remove(h)
    }

    /// A stop that reached the runner before it started its command (here:
    /// already pending when the runner is exec'd, blocked and ignored as the
    /// spawner leaves it) is handed to the command, which ends with SIGTERM at
    /// once instead of running on.
    @Test func aStopPendingBeforeTheRunnerStartsReachesTheCommand() async throws {
        let runner = try engine().runnerPath
        let status = FileManager.default.temporaryDirectory.appendingPathComponent("corral-pending-\(UUID().uuidString)").path
        let script = """
        import os, signal, sys
        fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        if fd != 3:
            os.dup2(fd, 3)
        os.set_inheritable(3, True)
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.kill(os.getpid(), signal.SIGTERM)
        os.execv(sys.argv[1], ["corral-runner", "--status-fd", "3", "--", "sleep", "30"])
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, runner, status]
        let started = ContinuousClock.now
        try p.run()
        p.waitUntilExit()
        let took = ContinuousClock.now - started
        #expect(p.terminationStatus == 128 + SIGTERM, "the runner exits as its command did: \(p.terminationStatus) after \(took)")
        let recorded = try String(contentsOfFile: status, encoding: .utf8)
        #expect(recorded == "signaled \(SIGTERM)\n", "status file: \(recorded.debugDescription)")
    }

    /// A stop that lands the instant a workload starts must still leave a
    /// recorded result (the runner is never killed by the stop signal), and
    /// the command must get that SIGTERM even when it came before the runner
    /// had started it (not a SIGKILL after the grace period).
    @Test func aStopRightAfterStartStillRecordsTheResult() async throws {
        let e = try engine()
        for i in 0..<25 {
            let h = try await e.start(launch("race-\(i)", ["sleep", "30"]), output: CollectingSink())
            try await e.stop(h, grace: .seconds(5))
            let how = await e.waitForExit(h)
            if case .vanished = how { Issue.record("run \(i): the result was lost (\(how))") }
            #expect(how == .signaled(signal: SIGTERM), "run \(i): \(how); a SIGKILL means the stop signal was lost")
            try await e.remove(h)
        }
    }
}
