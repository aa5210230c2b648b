import CorralCore
@testable import CorralEngines
import CorralHost
import CorralTestSupport
import Foundation
import Glibc
import Testing

/// The DockerEngine against a real Podman service (scripts/test starts one on a
/// private socket and imports localhost/corral-test:1 built from busybox-static).
@Suite(.serialized) struct DockerEngineTests {
    static let socket = ProcessInfo.processInfo.environment["CORRAL_TEST_DOCKER_SOCKET"] ?? "/tmp/corral-podman/podman.sock"
    static let image = "localhost/corral-test:1"

    /// The engine, or nil (with a skip message; a failure under CI=true) when no service answers.
    static func engine(cacheImages: Bool = true) async -> DockerEngine? {
        let e = DockerEngine(socketPath: socket, commandTimeout: .seconds(20), cacheImages: cacheImages)
        if await e.ping() { return e }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("CI=true but no container engine answers on \(socket): scripts/test starts one")
        } else {
            print("skipped: no container engine on \(socket) (run scripts/podman-test-service)")
        }
        return nil
    }

    static var target: (cpu: Int, node: Int) {
        let t = try! TopologyReader(fsroot: "/").read()
        let cpu = t.usableCPUs.last!
        return (cpu, t.cpu(cpu)?.numaNode ?? 0)
    }

    static func launch(_ id: String, _ args: [String], kind: WorkloadKind = .application, pull: Executable.PullPolicy = .NEVER,
                       image: String = image, memory: UInt64 = 48 << 20, env: [String: String] = [:]) -> Launch {
        let t = target
        let a = Allocation(id: id, cpus: [t.cpu], cpuCount: 1, requestedCPUs: 1, numaNodes: [t.node], memoryBytes: memory,
                           memoryByNode: [t.node: memory], gpus: [], pinned: true)
        return Launch(instanceID: "\(id)-\(UUID().uuidString.prefix(8).lowercased())", appID: "test-app", kind: kind,
                      executable: .docker(image: image, pullPolicy: pull), args: args,
                      env: ["CORRAL_INSTANCE_ID": id, "GREETING": "hello"].merging(env) { $1 },
                      allocation: a, maxOpenFiles: 4096, specHash: "hash-\(id)")
    }

    @Test func containerSeesExactlyItsAllocationFromInside() async throws {
        guard let e = await Self.engine() else { return }
        let out = CollectingSink()
        let l = Self.launch("pin", ["sh", "-c", """
            grep -E 'Cpus_allowed_list|Mems_allowed_list' /proc/self/status
            echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)
            echo greeting=$GREETING nofile=$(ulimit -n)
            exit 5
            """])
        let h = try await e.start(l, output: out)
        #expect(await e.waitForExit(h) == .exited(code: 5))
        #expect(await out.waitFor("nofile="))
        let t = Self.target
        #expect(out.text.contains("Cpus_allowed_list:\t\(t.cpu)\n"))
        #expect(out.text.contains("Mems_allowed_list:\t\(t.node)\n"))
        #expect(out.text.contains("mem=\(48 << 20)"))
        #expect(out.text.contains("greeting=hello nofile=4096"))
        // Labels name the workload but carry no environment.
        let info = try #require(try await e.inspect(h.id))
        #expect(info.Config?.Labels?[DockerEngine.labelInstance] == l.instanceID)
        #expect(info.Config?.Labels?[DockerEngine.labelSpecHash] == "hash-pin")
        #expect(info.Name?.hasSuffix(l.name) == true)
        try await e.remove(h)
        #expect(try await e.inspect(h.id) == nil)
    }

    @Test func aTaskExitCodeIsReported() async throws {
        guard let e = await Self.engine() else { return }
        let h = try await e.start(Self.launch("task", ["sh", "-c", "echo done; exit 42"], kind: .task), output: CollectingSink())
        #expect(await e.waitForExit(h) == .exited(code: 42))
        try await e.remove(h)
    }

    @Test func aContainerKilledUnderneathIsNoticed() async throws {
        guard let e = await Self.engine() else { return }
        let out = CollectingSink()
        let h = try await e.start(Self.launch("killed", ["sh", "-c", "echo up; sleep 60"]), output: out)
        #expect(await out.waitFor("up"))
        let waiter = Task { await e.waitForExit(h) }
        // Killed from outside, not through the engine's stop.
        let r = try await e.client.call(.POST, "/containers/\(h.id)/kill", query: [("signal", "KILL")])
        #expect(r.status == 204)
        let exit = await waiter.value
        #expect(exit == .exited(code: 137))
        try await e.remove(h)
    }

    @Test func aContainerRemovedUnderneathVanishes() async throws {
        guard let e = await Self.engine() else { return }
        let h = try await e.start(Self.launch("removed", ["sleep", "60"]), output: CollectingSink())
        _ = try await e.client.call(.DELETE, "/containers/\(h.id)", query: [("force", "1")])
        let exit = await e.waitForExit(h)
        switch exit {
        case .vanished, .exited: break
        default: Issue.record("unexpected \(exit)")
        }
        try await e.remove(h)
    }

    @Test func stopThenKillAfterTheTimeout() async throws {
        guard let e = await Self.engine() else { return }
        let out = CollectingSink()
        // PID 1 in a container ignores SIGTERM unless it handles it: stop must end in a kill.
        let h = try await e.start(Self.launch("stop", ["sh", "-c", "echo up; while :; do sleep 1; done"]), output: out)
        #expect(await out.waitFor("up"))
        let started = ContinuousClock.now
        try await e.stop(h, grace: .seconds(1))
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(await e.waitForExit(h) == .exited(code: 137))
        try await e.remove(h)
    }

    @Test func execRunsInsideForCommandChecks() async throws {
        guard let e = await Self.engine() else { return }
        let h = try await e.start(Self.launch("exec", ["sleep", "60"]), output: CollectingSink())
        let ok = try await e.exec(h, command: ["sh", "-c", "echo healthy; exit 0"], timeout: .seconds(10))
        #expect(ok.exitCode == 0 && ok.output == "healthy\n")
        let bad = try await e.exec(h, command: ["sh", "-c", "test -f /tmp/healthy"], timeout: .seconds(10))
        #expect(bad.exitCode == 1)
        await #expect(throws: EngineError.self) {
            try await e.exec(h, command: ["sleep", "5"], timeout: .milliseconds(300))
        }
        try await e.stop(h, grace: .seconds(0))
        try await e.remove(h)
    }

    /// Drove's configs: INLINE bytes and a file read from the executor's
    /// host appear inside the container at their paths, read-only to all,
    /// before the command's first instruction; a long path goes through a PAX record.
    @Test func configFilesAreInTheContainerBeforeItStarts() async throws {
        guard let e = await Self.engine() else { return }
        let host = FileManager.default.temporaryDirectory.appendingPathComponent("corral-config-\(UUID().uuidString).txt").path
        try "from the host\n".write(toFile: host, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: host) }
        let deep = "/opt/" + String(repeating: "d", count: 90) + "/settings.ini"
        var launch = Self.launch("configs", ["sh", "-c", "cat /etc/app/app.conf \(deep) /srv/host.txt; stat -c '%a %u' /etc/app/app.conf; sleep 60"])
        launch.configs = [ConfigSpec(localFilename: "/etc/app/app.conf", source: .inline(base64: Data("token = s3cr3t\nbinary \u{1}\u{2}\n".utf8).base64EncodedString())),
                          ConfigSpec(localFilename: deep, source: .inline(base64: Data("[deep]\n".utf8).base64EncodedString())),
                          ConfigSpec(localFilename: "/srv/host.txt", source: .hostFile(host))]
        let out = CollectingSink()
        let h = try await e.start(launch, output: out)
        #expect(await out.waitFor("444 0"))
        #expect(out.text.contains("token = s3cr3t\nbinary \u{1}\u{2}\n[deep]\nfrom the host\n444 0"), "\(out.text)")
        // The image's own directories keep their mode.
        let etc = try await e.exec(h, command: ["stat", "-c", "%a", "/etc"], timeout: .seconds(10))
        #expect(etc.output == "755\n")
        try await e.stop(h, grace: .seconds(0))
        try await e.remove(h)

        // A host file that cannot be read fails the start, naming it, and leaves no container behind.
        var bad = Self.launch("configs-bad", ["true"])
        bad.configs = [ConfigSpec(localFilename: "/etc/x", source: .hostFile("/nonexistent/file"))]
        do {
            _ = try await e.start(bad, output: CollectingSink())
            Issue.record("a start with an unreadable config file went through")
        } catch {
            #expect(error.message.contains("/etc/x") && error.message.contains("/nonexistent/file"), "\(error.message)")
        }
        #expect(try await e.discover().allSatisfy { $0.handle.instanceID != bad.instanceID })
    }

    @Test func discoveryFindsContainersByLabel() async throws {
        guard let e = await Self.engine() else { return }
        let l = Self.launch("discover", ["sleep", "60"], kind: .task)
        let h = try await e.start(l, output: CollectingSink())
        let found = try await e.discover()
        let mine = try #require(found.first { $0.handle.instanceID == l.instanceID })
        #expect(mine.running)
        #expect(mine.kind == .task)
        #expect(mine.appID == "test-app")
        #expect(mine.specHash == "hash-discover")
        #expect(mine.handle.id == h.id)
        try await e.remove(h)
        #expect(try await e.discover().contains { $0.handle.instanceID == l.instanceID } == false)
    }

    /// A supervisor cancels its exit watcher when it stops an instance: the
    /// watcher must end then, not retry in a loop (which hammered the engine
    /// with requests at full CPU).
    @Test func aCancelledExitWatcherEnds() async throws {
        guard let e = await Self.engine() else { return }
        let h = try await e.start(Self.launch("watch", ["sleep", "60"]), output: CollectingSink())
        let watcher = Task { await e.waitForExit(h) }
        try await Task.sleep(for: .milliseconds(300))
        watcher.cancel()
        let ended = Latch()
        Task { _ = await watcher.value; ended.open() }
        #expect(await ended.wait(timeout: .seconds(20)), "the watcher of a running container ends when cancelled")
        #expect(await watcher.value == .vanished(reason: "no longer watched"))
        try await e.remove(h)
    }

    /// Two executors on one engine: each discovers (and so may reap) only its own containers.
    @Test func discoveryIsScopedToTheOwningExecutor() async throws {
        guard let any = await Self.engine() else { return }
        let a = DockerEngine(socketPath: Self.socket, commandTimeout: .seconds(20), owner: "owner-a-\(UUID().uuidString.prefix(6))")
        let b = DockerEngine(socketPath: Self.socket, commandTimeout: .seconds(20), owner: "owner-b-\(UUID().uuidString.prefix(6))")
        let l = Self.launch("owned", ["sleep", "60"])
        let h = try await a.start(l, output: CollectingSink())
        #expect(try await a.discover().contains { $0.handle.instanceID == l.instanceID })
        #expect(try await b.discover().contains { $0.handle.instanceID == l.instanceID } == false)
        #expect(try await any.discover().contains { $0.handle.instanceID == l.instanceID }, "no owner: every Corral container")
        try await a.remove(h)
    }

    @Test func missingImagesFailClearly() async throws {
        guard let e = await Self.engine() else { return }
        do {
            _ = try await e.start(Self.launch("never", ["true"], pull: .NEVER, image: "localhost/not-here:9"), output: CollectingSink())
            Issue.record("expected a failure")
        } catch {
            #expect(error.code == .imageMissing)
            #expect(error.message == "image localhost/not-here:9 is not present and pullPolicy is NEVER")
        }
        // No registry is reachable here: a pull fails with the engine's reason, and nothing is left behind.
        let out = CollectingSink()
        do {
            _ = try await e.start(Self.launch("pull", ["true"], pull: .IF_NOT_PRESENT, image: "localhost:1/not-here:9"), output: out)
            Issue.record("expected a failure")
        } catch {
            #expect(error.code == .imageMissing)
            #expect(error.message.hasPrefix("pulling localhost:1/not-here:9 failed"))
        }
        #expect(out.text.contains("[corral] pulling localhost:1/not-here:9"))
    }

    @Test func anEngineThatDoesNotAnswerFailsCleanly() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-dead-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // A socket that accepts nothing: nobody listens on it.
        let e = DockerEngine(socketPath: dir.appendingPathComponent("none.sock").path, commandTimeout: .seconds(1))
        #expect(await e.ping() == false)
        do {
            _ = try await e.start(Self.launch("dead", ["true"]), output: CollectingSink())
            Issue.record("expected a failure")
        } catch {
            #expect(error.code == .unavailable || error.code == .timeout)
            #expect(error.message.contains("none.sock"))
        }
    }

    @Test func eventsReportAContainersDeath() async throws {
        guard let e = await Self.engine() else { return }
        let l = Self.launch("events", ["sh", "-c", "sleep 0.5; exit 2"])
        let since = Int(Date().timeIntervalSince1970) - 1
        let h = try await e.start(l, output: CollectingSink())
        let seen = CollectingSink()
        let watcher = Task {
            try await e.client.events(label: "\(DockerEngine.labelInstance)=\(l.instanceID)", since: since) { ev in
                seen.write(Array("\(ev.Action ?? ev.status ?? "?") ".utf8))
                return !(ev.Action == "die" || ev.status == "die")
            }
        }
        #expect(await seen.waitFor("die", seconds: 20), "events so far: \(seen.text)")
        #expect(seen.text.contains("start"))
        watcher.cancel()
        _ = await e.waitForExit(h)
        try await e.remove(h)
    }

    @Test func withoutImageCachingTheImageGoesWithItsLastContainer() async throws {
        guard let e = await Self.engine(cacheImages: false) else { return }
        let tag = "localhost/corral-test:gc-\(UUID().uuidString.prefix(8).lowercased())"
        let source = try #require(try await e.client.inspectImage(Self.image))
        let tagged = try await e.client.call(.POST, "/images/\(source.Id)/tag",
                                             query: [("repo", "localhost/corral-test"), ("tag", String(tag.split(separator: ":").last!))])
        #expect(tagged.status == 201 || tagged.status == 200)
        let h = try await e.start(Self.launch("gc", ["true"], image: tag), output: CollectingSink())
        _ = await e.waitForExit(h)
        #expect(try await e.client.inspectImage(tag) != nil)
        try await e.remove(h)
        #expect(try await e.client.inspectImage(tag) == nil, "the image is removed with its last container")
        #expect(try await e.client.inspectImage(Self.image) != nil, "other tags of the same image stay")
    }

    @Test func anEngineThatHangsTimesOutWithinTheCommandTimeout() async throws {
        // A socket that accepts connections and never answers.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("corral-hang-\(UUID().uuidString.prefix(8)).sock").path
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in path.utf8.enumerated() { buf[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        #expect(listen(fd, 16) == 0)
        defer { close(fd); unlink(path) }
        let e = DockerEngine(socketPath: path, commandTimeout: .milliseconds(500))
        let started = ContinuousClock.now
        do {
            _ = try await e.start(Self.launch("hang", ["true"]), output: CollectingSink())
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
            #expect(error.message.contains("did not answer"))
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}
