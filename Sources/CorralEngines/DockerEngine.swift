import CorralCore
import CorralHost
import Foundation
import Synchronization
import NIOHTTP1

/// Runs containers through the Docker Engine API on a unix socket: Docker, or
/// Podman's Docker-compatible service.
///
/// A container is named `<appId>-<instanceId>` and labelled with the instance
/// id, app id, kind and a hash of the spec (never the spec: it may hold
/// secrets). Pinned allocations become `CpusetCpus` + `CpusetMems`; unpinned
/// ones a CPU weight proportional to the cores asked for, so no container can
/// starve another. Memory is a hard limit without extra swap. Open-files and
/// process limits never exceed what this host can grant (clamped, with a
/// warning). GPUs are device requests naming exactly the allocated devices.
public final class DockerEngine: Engine {
    public let kind = EngineKind.docker
    public let client: DockerClient
    public let cacheImages: Bool
    /// Which executor the containers belong to: set on every container it
    /// creates, and discovery sees only those. Nil: every Corral container.
    public let owner: String?
    let streamEnds = StreamEnds()
    /// Image id -> its /etc/passwd and /etc/group.
    let accounts = Mutex<[String: (String?, String?)]>([:])

    public static let labelInstance = "corral.instance-id"
    public static let labelOwner = "corral.owner"
    public static let labelApp = "corral.app-id"
    public static let labelKind = "corral.kind"
    public static let labelSpecHash = "corral.spec-hash"
    /// On `corral run` jobs' containers: their image stays when they go
    /// (the site's job image serves every job; pulling it for each would be waste).
    public static let labelRunJob = "corral.run-job"

    /// Registry credentials for pulls (`dockerAuth`).
    public let registryAuth: DockerAuthConfig

    public init(socketPath: String, commandTimeout: Duration = .seconds(30), cacheImages: Bool = true, owner: String? = nil,
                registryAuth: DockerAuthConfig = DockerAuthConfig()) {
        client = DockerClient(socketPath: socketPath, timeout: commandTimeout)
        self.registryAuth = registryAuth
        self.cacheImages = cacheImages
        self.owner = owner
    }

    public func ping() async -> Bool { await client.ping() }

    // MARK: Building the create request

    /// The body of `POST /containers/create` for a launch, and the warnings
    /// about limits that had to be lowered.
    public static func createRequest(for launch: Launch, image: String, hardNofile: UInt64, hardNproc: UInt64,
                                     owner: String? = nil)
        -> (Docker.ContainerCreate, [String]) {
        var warnings: [String] = []
        var host = Docker.HostConfig()
        let a = launch.allocation
        if a.pinned {
            host.CpusetCpus = a.cpus.listString
            host.CpusetMems = CPUSet(a.numaNodes).listString
        } else {
            // 1024 shares per core asked for: weights in proportion to the request.
            host.CpuShares = max(2, a.cpuCount * 1024)
        }
        if a.memoryBytes > 0 {
            host.Memory = Int64(a.memoryBytes)
            host.MemorySwap = Int64(a.memoryBytes)
        }
        var nofile = UInt64(launch.maxOpenFiles)
        if nofile > hardNofile {
            warnings.append("maxOpenFiles \(nofile) is above this host's hard limit \(hardNofile): the container gets \(hardNofile)")
            nofile = hardNofile
        }
        let nproc = min(hardNproc, 65_536)
        host.Ulimits = [Docker.Ulimit(Name: "nofile", Soft: Int(nofile), Hard: Int(nofile)),
                        Docker.Ulimit(Name: "nproc", Soft: Int(nproc), Hard: Int(nproc))]
        var exposed: [String: Docker.EmptyObject] = [:]
        var bindings: [String: [Docker.PortBinding]] = [:]
        for p in launch.ports {
            let key = "\(p.containerPort)/\(p.proto.rawValue)"
            exposed[key] = Docker.EmptyObject()
            bindings[key] = [Docker.PortBinding(HostIp: "", HostPort: String(p.hostPort))]
        }
        if !bindings.isEmpty { host.PortBindings = bindings }
        if !launch.volumes.isEmpty {
            host.Binds = launch.volumes.map { "\($0.pathOnHost):\($0.pathInContainer):\($0.mode == .READ_ONLY ? "ro" : "rw")" }
        }
        if !a.gpus.isEmpty {
            host.DeviceRequests = [Docker.DeviceRequest(Driver: "nvidia", DeviceIDs: a.gpus.map(String.init),
                                                        Capabilities: [["gpu"]])]
        }
        var labels = [labelInstance: launch.instanceID, labelApp: launch.appID, labelKind: launch.kind.rawValue,
                      labelSpecHash: launch.specHash]
        if let owner { labels[Self.labelOwner] = owner }
        let user = launch.user.map { u in u.group.map { "\(u.user):\($0)" } ?? u.user }
        var body = Docker.ContainerCreate(
            Image: image, Cmd: launch.args.isEmpty ? nil : launch.args,
            Env: launch.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }, Labels: labels, User: user,
            WorkingDir: nil, ExposedPorts: exposed.isEmpty ? nil : exposed, HostConfig: host, Tty: false, OpenStdin: false)
        if let job = launch.job { confine(&body, job) }
        return (body, warnings)
    }

    /// A `corral run` job's container: its first process is the runner in
    /// job mode, started as root with only ``RunJob/rootCapabilities`` and
    /// no-new-privileges, whatever the image's USER; the runner switches to
    /// the caller for the user hooks and the job. The runner and hooks are
    /// bound read-only beside the job's own binds (home, working directory).
    static func confine(_ body: inout Docker.ContainerCreate, _ job: RunJob) {
        body.Entrypoint = job.entrypoint
        body.User = "0:0"
        body.WorkingDir = job.workingDir
        body.Hostname = job.hostname
        body.Tty = job.tty
        body.HostConfig.CapDrop = ["ALL"]
        body.HostConfig.CapAdd = RunJob.rootCapabilities
        body.HostConfig.SecurityOpt = ["no-new-privileges"]
        body.HostConfig.Runtime = job.runtime
        body.HostConfig.Binds = (body.HostConfig.Binds ?? []) + job.binds
        body.Labels?[labelRunJob] = job.identity.user
    }

    // MARK: Start

    public func start(_ launch: Launch, output: any LogSink) async throws(EngineError) -> WorkloadHandle {
        guard case .docker(let image, let pullPolicy) = launch.executable else {
            throw EngineError(.startFailed, "the docker engine runs executables of type DOCKER")
        }
        let imageID = try await ensureImage(image, policy: pullPolicy, output: output)
        // Config files are read (and checked) before anything is created.
        let files = try Self.configArchive(launch.configs)
        // A local engine's own hard limits bound what its runtime can set; else ours.
        let limits = HostLimits.peerHardLimits(socketPath: client.socketPath)
            ?? (HostLimits.openFilesHardLimit(), HostLimits.processesHardLimit())
        let (body, warnings) = Self.createRequest(for: launch, image: image, hardNofile: limits.openFiles,
                                                  hardNproc: limits.processes, owner: owner)
        let created = try await client.call(.POST, "/containers/create", query: [("name", launch.name)],
                                            body: DockerClient.encode(body))
        guard created.status == 201 else {
            let msg = DockerClient.message(created)
            let conflict = created.status == 409 || msg.contains("already in use")
            // A create the engine refuses (an unknown runtime, a bad setting) fails the same way again.
            throw EngineError(conflict || created.status >= 500 ? .startFailed : .refused, conflict
                ? "a container named \(launch.name) already exists: \(msg)"
                : "creating the container failed: \(msg)", context: ["image": image])
        }
        let createdBody = try DockerClient.decode(Docker.CreateResponse.self, created, "container create")
        let id = createdBody.Id
        // From here on, a failure removes the container again.
        do throws(EngineError) {
            if let files {
                let put = try await client.call(.PUT, "/containers/\(id)/archive", query: [("path", "/")], body: files.bytes,
                                                contentType: "application/x-tar")
                guard put.status == 200 else {
                    throw EngineError(.startFailed, "writing the config files into the container failed: \(DockerClient.message(put))")
                }
            }
            // A job's output comes through an attach made before it starts:
            // it ends the moment the job does (a logs stream may lag by half
            // a second), and its end tells the exit (``waitForExit``).
            var attached = false
            if let job = launch.job {
                try await prepare(id, image: image, imageID: imageID, for: job)
                attached = await attach(id: id, raw: job.tty, output: output)
            }
            let started = try await client.call(.POST, "/containers/\(id)/start")
            guard started.status == 204 || started.status == 304 else {
                throw EngineError(.startFailed, "starting the container failed: \(DockerClient.message(started))")
            }
            // The pid is for people (a job's is not looked up: it ends in moments).
            let info = launch.job == nil ? try await inspect(id) : nil
            if !attached { attachLogs(id: id, since: nil, raw: launch.job?.tty ?? false, output: output) }
            return WorkloadHandle(engine: kind, id: id, instanceID: launch.instanceID, pid: info?.State.Pid.map { Int32($0) },
                                  confinement: "container (\(launch.allocation.pinned ? "cpuset" : "cpu shares"), memory limit)",
                                  warnings: warnings + (createdBody.Warnings ?? []))
        } catch {
            _ = try? await client.call(.DELETE, "/containers/\(id)", query: [("v", "1"), ("force", "1")])
            throw error
        }
    }

    /// Before a job's container starts: the engine must honour the runtime
    /// asked for (Podman's Docker API ignores `HostConfig.Runtime` and would
    /// run the job under its default), and the caller's account goes into
    /// the image's /etc/passwd and /etc/group (``RunIdentity``).
    func prepare(_ id: String, image: String, imageID: String?, for job: RunJob) async throws(EngineError) {
        if let runtime = job.runtime {
            let used = try await inspect(id)?.HostConfig?.Runtime
            guard used == runtime else {
                throw EngineError(.refused, "the engine does not honour runtime = \"\(runtime)\" (it would use \(used.map { "\"\($0)\"" } ?? "its default")): "
                    + "Podman's Docker API ignores the runtime asked for; set it in containers.conf ([engine] runtime) and leave runtime unset, or use Docker with the runtime configured",
                    context: ["runtime": runtime])
            }
        }
        let (imagePasswd, imageGroup) = try await accountFiles(container: id, image: image, imageID: imageID)
        let passwd = job.identity.passwd(merging: imagePasswd)
        let group = job.identity.group(merging: imageGroup)
        let files = TarArchive([.init(path: "etc/passwd", data: Data(passwd.utf8), mode: 0o644),
                                .init(path: "etc/group", data: Data(group.utf8), mode: 0o644)])
        let put = try await client.call(.PUT, "/containers/\(id)/archive", query: [("path", "/")], body: files.bytes,
                                        contentType: "application/x-tar")
        guard put.status == 200 else {
            throw EngineError(.startFailed, "writing the caller's account into the container failed: \(DockerClient.message(put))")
        }
    }

    /// An image's own /etc/passwd and /etc/group (nil: it has none), read
    /// from a container of it once per image id: reading a file out of a
    /// container costs Podman a mount of its root filesystem (150 ms).
    func accountFiles(container id: String, image: String, imageID known: String?) async throws(EngineError) -> (String?, String?) {
        let imageID: String?
        if let known { imageID = known } else { imageID = try await client.inspectImage(image)?.Id }
        if let imageID, let known = accounts.withLock({ $0[imageID] }) { return known }
        let client = self.client
        /// The file, and whether the answer is the image's (found, or not there).
        @Sendable func read(_ path: String) async -> (String?, Bool) {
            guard let r = try? await client.call(.GET, "/containers/\(id)/archive", query: [("path", path)]) else { return (nil, false) }
            guard r.status == 200 else { return (nil, r.status == 404) }
            return (TarArchive.firstFile(in: r.body).map { String(decoding: $0, as: UTF8.self) }, true)
        }
        async let passwd = read("/etc/passwd")
        async let group = read("/etc/group")
        let (p, g) = (await passwd, await group)
        // Only a sure answer is kept: a failed read is asked again next time.
        if let imageID, p.1, g.1 { accounts.withLock { $0[imageID] = (p.0, g.0) } }
        return (p.0, g.0)
    }

    /// The launch's config files as one archive for the container's root (nil when there are none).
    static func configArchive(_ configs: [ConfigSpec]) throws(EngineError) -> TarArchive? {
        guard !configs.isEmpty else { return nil }
        var entries: [TarArchive.Entry] = []
        for c in configs {
            do throws(WorkloadFileError) { entries.append(.init(path: c.relativePath, data: try c.contents())) } catch {
                throw EngineError(.startFailed, error.description, context: ["localFilename": c.localFilename])
            }
        }
        return TarArchive(entries)
    }

    /// The image, pulled when the policy says so; its id when known.
    func ensureImage(_ image: String, policy: Executable.PullPolicy, output: any LogSink) async throws(EngineError) -> String? {
        let present = try await client.inspectImage(image)
        switch policy {
        case .NEVER:
            guard let present else {
                throw EngineError(.imageMissing, "image \(image) is not present and pullPolicy is NEVER", context: ["image": image])
            }
            return present.Id
        case .IF_NOT_PRESENT where present != nil:
            return present?.Id
        case .IF_NOT_PRESENT, .ALWAYS:
            let auth = registryAuth.credentials(for: image).map {
                DockerClient.RegistryAuth(registry: $0.registry, username: $0.credentials.username, password: $0.credentials.password)
            }
            output.write(Array("[corral] pulling \(image)\(auth.map { " as \($0.username)" } ?? "")\n".utf8))
            try await client.pull(image, auth: auth) { line in output.write(Array("[corral] \(line)\n".utf8)) }
            return nil
        }
    }

    public func isAlive(_ handle: WorkloadHandle) async -> Bool? {
        do {
            guard let info = try await inspect(handle.id) else { return false }
            return info.State.Running
        } catch {
            return nil
        }
    }

    func inspect(_ id: String) async throws(EngineError) -> Docker.ContainerInspect? {
        let r = try await client.call(.GET, "/containers/\(id)/json")
        if r.status == 404 { return nil }
        guard r.status == 200 else { throw EngineError(.failed, "inspecting container \(id): \(DockerClient.message(r))") }
        return try DockerClient.decode(Docker.ContainerInspect.self, r, "container inspect")
    }

    /// Attaches to a created container's output (before it starts); whether
    /// the attach is in place. Its end is noted in ``streamEnds``.
    func attach(id: String, raw: Bool, output: any LogSink) async -> Bool {
        let client = self.client, ends = streamEnds
        let (heads, head) = AsyncStream.makeStream(of: Int.self)
        Task.detached {
            let demux = DemuxBox()
            let seen = Mutex<[OutputChannel: Int]>([:])
            @Sendable func deliver(_ bytes: [UInt8], _ channel: OutputChannel) {
                seen.withLock { $0[channel, default: 0] += bytes.count }
                output.write(bytes, from: channel)
            }
            let status = try? await client.stream(.POST, "/containers/\(id)/attach", query: [("stream", "1"), ("stdout", "1"), ("stderr", "1")],
                                                  onHead: { head.yield($0); head.finish() }) { chunk in
                for (channel, payload) in demux.output(chunk, raw: raw) { deliver(payload, channel) }
                return true
            }
            head.finish()
            if status == 200 || status == 101 {
                // Podman may cut an attach to a process that ends at once
                // ("connection reset by peer"), losing what it wrote. The
                // engine's log of the container is whole: when it holds more
                // than came through, it is given after a note.
                if let r = try? await client.call(.GET, "/containers/\(id)/logs", query: [("stdout", "1"), ("stderr", "1")]), r.status == 200 {
                    let logged = DemuxBox().output(r.body, raw: raw)
                    var counts: [OutputChannel: Int] = [:]
                    for (c, b) in logged { counts[c, default: 0] += b.count }
                    let had = seen.withLock { $0 }
                    if counts.contains(where: { $0.value > had[$0.key, default: 0] }) {
                        output.write(Array("[corral] the engine cut the live output short; the job's whole output, from its log:\n".utf8), from: .stderr)
                        for (c, b) in logged { output.write(b, from: c) }
                    }
                }
                ends.end(id)
                output.finish()
            }
        }
        for await status in heads { return status == 200 || status == 101 }
        return false
    }

    /// Which containers' output streams have ended (each end is their
    /// process's exit, or the container's removal).
    final class StreamEnds: @unchecked Sendable {
        // @unchecked: every field under `lock`.
        private let lock = NSLock()
        private var ended: Set<String> = []
        private var waiters: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        private var nextToken: UInt64 = 0

        func end(_ id: String) {
            lock.lock()
            ended.insert(id)
            let w = waiters.removeValue(forKey: id) ?? [:]
            lock.unlock()
            for c in w.values { c.resume() }
        }

        /// Returns once the stream of `id` has ended (at once when it has),
        /// or once the calling task is cancelled.
        func wait(_ id: String) async {
            let token = lock.withLock {
                nextToken += 1
                return nextToken
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    lock.lock()
                    if ended.contains(id) || Task.isCancelled {
                        lock.unlock()
                        c.resume()
                    } else {
                        waiters[id, default: [:]][token] = c
                        lock.unlock()
                    }
                }
            } onCancel: {
                lock.lock()
                let c = waiters[id]?.removeValue(forKey: token)
                lock.unlock()
                c?.resume()
            }
        }

        func forget(_ id: String) {
            lock.lock()
            ended.remove(id)
            let w = waiters.removeValue(forKey: id) ?? [:]
            lock.unlock()
            for c in w.values { c.resume() }
        }
    }

    /// Follows the container's output into `output` until it ends. `raw`:
    /// the container has a terminal, and its output is one unframed stream.
    func attachLogs(id: String, since: Int?, raw: Bool = false, output: any LogSink) {
        let client = self.client, ends = streamEnds
        Task.detached {
            var query = [("follow", "1"), ("stdout", "1"), ("stderr", "1")]
            if let since { query.append(("since", String(since))) }
            let demux = DemuxBox()
            let status = try? await client.stream(.GET, "/containers/\(id)/logs", query: query) { chunk in
                for (channel, payload) in demux.output(chunk, raw: raw) { output.write(payload, from: channel) }
                return true
            }
            if status == 200 { ends.end(id) }
            output.finish()
        }
    }

    final class DemuxBox: @unchecked Sendable {
        // @unchecked: fed from one stream callback at a time, under `lock`.
        private let lock = NSLock()
        private var demux = DockerStreamDemuxer()
        func feed(_ chunk: [UInt8]) -> [(DockerStreamDemuxer.Stream, [UInt8])] {
            lock.lock(); defer { lock.unlock() }
            return demux.feed(chunk)
        }

        /// A container's output as it comes, by stream: `raw` (a terminal)
        /// is one unframed stream, given as stdout.
        func output(_ chunk: [UInt8], raw: Bool) -> [(OutputChannel, [UInt8])] {
            if raw { return [(.stdout, chunk)] }
            return feed(chunk).map { ($0.0 == .stderr ? .stderr : .stdout, $0.1) }
        }
    }

    // MARK: Exit, stop, remove

    /// The first of: the engine's wait, or (sooner on Podman, whose wait
    /// answers half a second or more after the exit) the end of the
    /// container's output stream confirmed by an inspect that says it stopped.
    public func waitForExit(_ handle: WorkloadHandle) async -> WorkloadExit {
        await withTaskGroup(of: WorkloadExit?.self) { group in
            group.addTask { await self.waitThroughAPI(handle) }
            group.addTask {
                await self.streamEnds.wait(handle.id)
                for _ in 0..<5 where !Task.isCancelled {
                    if let info = try? await self.inspect(handle.id), !info.State.Running, let code = info.State.ExitCode {
                        return .exited(code: Int32(code))
                    }
                    try? await Task.sleep(for: .milliseconds(40))
                }
                return nil
            }
            var result: WorkloadExit?
            while result == nil, let next = await group.next() { result = next }
            group.cancelAll()
            return result ?? .vanished(reason: "no longer watched")
        }
    }

    func waitThroughAPI(_ handle: WorkloadHandle) async -> WorkloadExit {
        var delay: Duration = .milliseconds(100)
        while true {
            do {
                let body = try await waitCall(handle.id)
                if let body { return .exited(code: Int32(body.StatusCode)) }
                return .vanished(reason: "container \(handle.id.prefix(12)) was removed")
            } catch {
                // Nobody waits any more (a supervisor stopping its watchers): every
                // call below would fail at once and the loop would spin, hammering
                // the engine with requests. The answer is not read.
                if Task.isCancelled { return .vanished(reason: "no longer watched") }
                // The engine went away for a moment: check again, backing off.
                if let info = try? await inspect(handle.id), !info.State.Running {
                    return .exited(code: Int32(info.State.ExitCode ?? -1))
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// `POST /containers/{id}/wait`; nil when the container does not exist.
    func waitCall(_ id: String) async throws(EngineError) -> Docker.WaitResponse? {
        let collected = ByteCollector()
        let status = try await client.stream(.POST, "/containers/\(id)/wait") { collected.append($0); return true }
        if status == 404 { return nil }
        guard status == 200 else { throw EngineError(.failed, "waiting for \(id): HTTP \(status)") }
        let r = DockerClient.Response(status: status, body: collected.bytes)
        return try DockerClient.decode(Docker.WaitResponse.self, r, "container wait")
    }

    final class ByteCollector: @unchecked Sendable {
        // @unchecked: appended from one stream callback at a time, under `lock`.
        private let lock = NSLock()
        private var data: [UInt8] = []
        func append(_ b: [UInt8]) { lock.lock(); data += b; lock.unlock() }
        var bytes: [UInt8] { lock.lock(); defer { lock.unlock() }; return data }
    }

    public func signal(_ handle: WorkloadHandle, _ signal: Int32) async throws(EngineError) {
        let r = try await client.call(.POST, "/containers/\(handle.id)/kill", query: [("signal", String(signal))])
        switch r.status {
        case 204: return
        case 404, 409: throw EngineError(.notFound, "container \(handle.id.prefix(12)) is not running: \(DockerClient.message(r))")
        default: throw EngineError(.failed, "signal \(signal) to container \(handle.id.prefix(12)): \(DockerClient.message(r))")
        }
    }

    public func stop(_ handle: WorkloadHandle, grace: Duration) async throws(EngineError) {
        let seconds = max(0, Int(grace.seconds.rounded(.up)))
        // The engine signals, waits `t`, then kills: allow it that long.
        let r = try await client.call(.POST, "/containers/\(handle.id)/stop", query: [("t", String(seconds))],
                                      timeout: client.timeout + .seconds(seconds))
        guard [204, 304, 404].contains(r.status) else {
            throw EngineError(.failed, "stopping container \(handle.id.prefix(12)): \(DockerClient.message(r))")
        }
    }

    public func remove(_ handle: WorkloadHandle) async throws(EngineError) {
        defer { streamEnds.forget(handle.id) }
        // Only needed to know the image that may go with it.
        let info = cacheImages ? nil : try? await inspect(handle.id)
        let r = try await client.call(.DELETE, "/containers/\(handle.id)", query: [("v", "1"), ("force", "1")])
        guard [200, 204, 404].contains(r.status) else {
            throw EngineError(.failed, "removing container \(handle.id.prefix(12)): \(DockerClient.message(r))")
        }
        if !cacheImages, info?.Config?.Labels?[Self.labelRunJob] == nil, let image = info?.Config?.Image {
            try await removeImageIfUnused(image)
        }
    }

    /// With `cacheImages: false`, an image goes when its last container is gone.
    func removeImageIfUnused(_ image: String) async throws(EngineError) {
        let r = try await client.call(.GET, "/containers/json", query: [("all", "1")])
        let all = (try? DockerClient.decode([Docker.ContainerSummary].self, r, "container list")) ?? []
        guard !all.contains(where: { $0.Image == image }) else { return }
        _ = try await client.call(.DELETE, "/images/\(image)")
    }

    // MARK: Exec, discovery, reattach

    public func exec(_ handle: WorkloadHandle, command: [String], timeout: Duration) async throws(EngineError) -> ExecResult {
        let created = try await client.call(.POST, "/containers/\(handle.id)/exec",
                                            body: DockerClient.encode(Docker.ExecCreate(AttachStdout: true, AttachStderr: true, Cmd: command)))
        guard created.status == 201 else { throw EngineError(.failed, "exec in \(handle.id.prefix(12)): \(DockerClient.message(created))") }
        let execID = try DockerClient.decode(Docker.IDResponse.self, created, "exec create").Id
        let client = self.client
        let output = try await withTimeout(timeout, what: command.joined(separator: " ")) { () async throws(EngineError) -> [UInt8] in
            let demux = DemuxBox()
            let out = ByteCollector()
            _ = try await client.stream(.POST, "/exec/\(execID)/start",
                                        body: DockerClient.encode(Docker.ExecStart(Detach: false, Tty: false))) { chunk in
                for (_, payload) in demux.feed(chunk) { out.append(payload) }
                return true
            }
            return out.bytes
        }
        let inspected = try await client.call(.GET, "/exec/\(execID)/json")
        let info = try DockerClient.decode(Docker.ExecInspect.self, inspected, "exec inspect")
        return ExecResult(exitCode: Int32(info.ExitCode ?? -1), output: String(decoding: output.prefix(64 * 1024), as: UTF8.self))
    }

    public func discover() async throws(EngineError) -> [DiscoveredWorkload] {
        let owned = owner.map { ",\"\(Self.labelOwner)=\($0)\"" } ?? ""
        let filters = "{\"label\":[\"\(Self.labelInstance)\"\(owned)]}"
        let r = try await client.call(.GET, "/containers/json", query: [("all", "1"), ("filters", filters)])
        guard r.status == 200 else { throw EngineError(.failed, "listing containers: \(DockerClient.message(r))") }
        let list = try DockerClient.decode([Docker.ContainerSummary].self, r, "container list")
        return list.compactMap { c in
            guard let labels = c.Labels, let instance = labels[Self.labelInstance] else { return nil }
            let kind = WorkloadKind(rawValue: labels[Self.labelKind] ?? "") ?? .application
            return DiscoveredWorkload(
                handle: WorkloadHandle(engine: self.kind, id: c.Id, instanceID: instance, confinement: "container"),
                appID: labels[Self.labelApp] ?? "", kind: kind, specHash: labels[Self.labelSpecHash] ?? "",
                running: c.State == "running")
        }
    }

    public func reattach(_ handle: WorkloadHandle, output: any LogSink) async throws(EngineError) {
        // Only what comes from now on: what came before is already in the log files.
        attachLogs(id: handle.id, since: Int(Date().timeIntervalSince1970), output: output)
    }
}

/// Runs `body`, failing with a timeout error when it takes longer than `limit`.
func withTimeout<T: Sendable>(_ limit: Duration, what: String,
                              _ body: @escaping @Sendable () async throws(EngineError) -> T) async throws(EngineError) -> T {
    let result: Result<T, EngineError> = await withTaskGroup(of: Result<T, EngineError>?.self) { group in
        group.addTask {
            do { return .success(try await body()) } catch let e as EngineError { return .failure(e) } catch {
                return .failure(EngineError(.failed, "\(error)"))
            }
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return Task.isCancelled ? nil : .failure(EngineError(.timeout, "\(what) timed out after \(limit)"))
        }
        var first: Result<T, EngineError>? = nil
        while first == nil, let next = await group.next() { first = next }
        group.cancelAll()
        return first!
    }
    return try result.get()
}
