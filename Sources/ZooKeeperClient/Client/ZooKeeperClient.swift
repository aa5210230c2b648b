import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A ZooKeeper client on SwiftNIO: one session kept across connections.
///
/// `start()` connects to a member of the ensemble (in shuffled order) and
/// keeps the session: when the connection drops it tries the others, offers
/// the same session id, password and last zxid seen, and re-arms its watches
/// (`setWatches`) so no change made meanwhile is missed. A session the
/// ensemble declares expired, or that could not reach any member for its
/// whole timeout, is reported as ``ZooKeeperSessionState/expired(_:)`` and a
/// new one is started: ephemerals of the old one are gone and the owner
/// decides what to recreate. Requests are pipelined on the connection and
/// every call has a deadline.
public actor ZooKeeperClient {
    public nonisolated let configuration: ZooKeeperClientConfiguration
    /// The event loop every connection of this client runs on, as a task
    /// executor: calls made with it as their preference avoid thread hops.
    public nonisolated let taskExecutor: EventLoopTaskExecutor
    nonisolated let watches = WatchRegistry()
    nonisolated let zxid = ZxidTracker()
    nonisolated let chroot: Chroot
    /// The connection requests go to while the session is connected (read
    /// without hopping onto the actor).
    private nonisolated let live = Mutex<(any Channel)?>(nil)

    private var state: ZooKeeperSessionState = .connecting
    private var session: (id: Int64, password: [UInt8], timeout: Duration, server: ZooKeeperConnectionString.Host)?
    private var disconnectedAt: ContinuousClock.Instant?
    private var isClosed = false
    private var closeReason: ZooKeeperError = .closed()
    private var runTask: Task<Void, Never>?
    /// Requests made while no connection was up, in the order they were
    /// made: written first, in that order, on the next connection.
    private var queued: [(id: Int, request: Request)] = []
    private var subscribers: [Int: AsyncStream<ZooKeeperSessionState>.Continuation] = [:]
    private var nextID = 0
    private var extraAuthentication: [AuthPacket] = []

    public init(_ configuration: ZooKeeperClientConfiguration) {
        self.configuration = configuration
        self.taskExecutor = EventLoopTaskExecutor(configuration.eventLoopGroup.next())
        self.chroot = Chroot(root: configuration.connectionString.chroot)
    }

    /// A client for `connectionString` (`host:port,host:port/chroot`).
    public init(connectionString: String, sessionTimeout: Duration = .seconds(30),
                logger: Logger = Logger(label: "zookeeper")) throws(ZooKeeperConnectionString.ParseError) {
        self.init(ZooKeeperClientConfiguration(connectionString: try ZooKeeperConnectionString(connectionString),
                                               sessionTimeout: sessionTimeout, logger: logger))
    }

    /// Starts connecting (calls made before `start` start it too).
    public func start() {
        guard runTask == nil, !isClosed else { return }
        runTask = Task { await self.run() }
    }

    public var currentState: ZooKeeperSessionState { state }

    /// The session, while connected.
    public var currentSession: ZooKeeperSession? {
        if case .connected(let s, _) = state { return s }
        return nil
    }

    /// Every state from now on, starting with the current one.
    public func stateUpdates() -> AsyncStream<ZooKeeperSessionState> {
        let (stream, sink) = AsyncStream.makeStream(of: ZooKeeperSessionState.self)
        sink.yield(state)
        if isClosed {
            sink.finish()
            return stream
        }
        nextID += 1
        let id = nextID
        subscribers[id] = sink
        sink.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: Int) { subscribers[id] = nil }

    private func publish(_ new: ZooKeeperSessionState) {
        state = new
        configuration.logger.debug("zookeeper: \(new)")
        for sink in subscribers.values { sink.yield(new) }
    }

    /// Adds credentials to the session now and on every reconnect.
    public func addAuthentication(_ packet: AuthPacket) {
        extraAuthentication.append(packet)
        live.withLock { $0 }?.writeAndFlush(Outbound.special(.auth, .auth, packet.encoded), promise: nil)
    }

    /// Ends the session (its ephemerals go at once) and the client.
    public func close() async {
        guard !isClosed else { return }
        isClosed = true
        runTask?.cancel()
        let channel = live.withLock { ch in defer { ch = nil }; return ch }
        if let channel {
            let promise = channel.eventLoop.makePromise(of: Reply.self)
            let timer = channel.eventLoop.scheduleTask(in: .seconds(1)) { promise.fail(ZooKeeperError.closed()) }
            channel.writeAndFlush(Outbound.request(Request(op: .closeSession, body: ByteBuffer(), promise: promise, watch: nil,
                                                           deadline: .now() + .seconds(1), limit: .seconds(1), path: nil)), promise: nil)
            _ = try? await promise.futureResult.get()
            timer.cancel()
            try? await channel.close()
        }
        finish(.closed())
    }

    private func finish(_ reason: ZooKeeperError) {
        isClosed = true
        closeReason = reason
        session = nil
        watches.endAll(reason)
        for q in queued { q.request.promise.fail(ZooKeeperError(reason.code, path: q.request.path, reason.detail)) }
        queued = []
        publish(.closed)
        for sink in subscribers.values { sink.finish() }
        subscribers = [:]
    }

    private func authenticationFailed() async {
        configuration.logger.error("zookeeper: the ensemble refused the client's credentials; the client is closed")
        let channel = live.withLock { ch in defer { ch = nil }; return ch }
        try? await channel?.close()
        runTask?.cancel()
        finish(ZooKeeperError(.authFailed, "the ensemble refused the credentials"))
    }

    // MARK: - Sending

    /// Sends one request and waits for its reply, within the deadline.
    /// Requests keep the order they were made in, across a reconnect too
    /// (ZooKeeper's FIFO client order): one made while the connection is
    /// down waits, with its deadline running, and goes out before anything
    /// made once the next connection is up.
    nonisolated func submit(_ op: OpCode, _ body: ByteBuffer, path: String?, watch: WatchRequest? = nil,
                            timeout: Duration?) async throws -> Reply {
        let limit = timeout ?? configuration.requestTimeout
        let promise = taskExecutor.eventLoop.makePromise(of: Reply.self)
        let request = Request(op: op, body: body, promise: promise, watch: watch, deadline: .now() + limit.timeAmount,
                              limit: limit, path: path)
        if let ready = live.withLock({ $0 }) {
            Self.send(request, on: ready)
        } else {
            await enqueue(request, until: .now + limit)
        }
        do {
            return try await promise.futureResult.get()
        } catch var error as ZooKeeperError {
            watch?.sink.finish()
            if error.path == nil { error.path = path }
            throw error
        }
    }

    private nonisolated static func send(_ request: Request, on channel: any Channel) {
        channel.write(Outbound.request(request)).whenFailure { _ in
            request.promise.fail(ZooKeeperError(.connectionLoss, path: request.path, "the request could not be sent"))
        }
    }

    private func enqueue(_ request: Request, until deadline: ContinuousClock.Instant) {
        if isClosed { return request.promise.fail(ZooKeeperError(closeReason.code, path: request.path, closeReason.detail)) }
        // Connected since the caller looked: the queue was written first.
        if let ready = live.withLock({ $0 }) { return Self.send(request, on: ready) }
        start()
        nextID += 1
        let id = nextID
        queued.append((id, request))
        Task { [weak self] in
            try? await Task.sleep(until: deadline)
            await self?.giveUp(id)
        }
    }

    private func giveUp(_ id: Int) {
        guard let i = queued.firstIndex(where: { $0.id == id }) else { return }
        let request = queued.remove(at: i).request
        request.promise.fail(ZooKeeperError(.connectionLoss, path: request.path, "no ZooKeeper server answered within \(request.limit)"))
    }

    // MARK: - The session loop

    private func run() async {
        var round = 0
        while !isClosed {
            let hosts = configuration.connectionString.hosts.shuffled()
            for host in hosts where !isClosed {
                expireIfUnreachableTooLong()
                do {
                    let (channel, response) = try await open(host, among: hosts.count)
                    if isClosed {
                        try? await channel.close()
                        return
                    }
                    if response.isExpired {
                        try? await channel.close()
                        expire(.ensemble)
                        continue
                    }
                    established(channel, response, host)
                    round = 0
                    try? await channel.closeFuture.get()
                    lost()
                } catch {
                    configuration.logger.debug("zookeeper: \(host): \(error)")
                }
            }
            round += 1
            try? await Task.sleep(for: .milliseconds(min(1000, 50 * (1 << min(round, 5)))) + .milliseconds(Int.random(in: 0...100)))
        }
    }

    private func open(_ host: ZooKeeperConnectionString.Host, among count: Int) async throws -> (any Channel, ConnectResponse) {
        // Java's client gives the TCP connect timeout/#hosts; the handshake is
        // also held to a third of the timeout so a silent member is left in
        // time to try the next (or the same one, back) within the session.
        let sessionTimeout = session?.timeout ?? configuration.sessionTimeout
        let timeout = max(.milliseconds(500), min(sessionTimeout / count, sessionTimeout / 3))
        let (limit, watches, chroot, zxid, logger) = (configuration.maxFrameSize, self.watches, self.chroot, self.zxid, configuration.logger)
        let onAuthFailed: @Sendable () -> Void = { [weak self] in Task { await self?.authenticationFailed() } }
        let channel = try await ClientBootstrap(group: taskExecutor.eventLoop)
            .connectTimeout(timeout.timeAmount)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [onAuthFailed] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limit: limit)))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(
                        limit: limit, watches: watches, chroot: chroot, zxid: zxid, logger: logger,
                        onAuthFailed: onAuthFailed))
                }
            }
            .connect(host: host.host, port: host.port).get()
        let request = ConnectRequest(timeout: Int32(clamping: configuration.sessionTimeout.milliseconds),
                                     sessionID: session?.id ?? 0,
                                     password: session?.password ?? Array(repeating: 0, count: 16),
                                     lastZxidSeen: zxid.last)
        let answer = channel.eventLoop.makePromise(of: ConnectResponse.self)
        let timer = channel.eventLoop.scheduleTask(in: timeout.timeAmount) {
            answer.fail(ZooKeeperError(.connectionLoss, "\(host) did not answer the handshake within \(timeout)"))
        }
        // A server that closed the connection before the handshake went out
        // (one refusing clients, or going down) is left at once, not after
        // the handshake's timeout.
        channel.writeAndFlush(Outbound.connect(request, answer)).whenFailure { _ in
            answer.fail(ZooKeeperError(.connectionLoss, "\(host) closed the connection before the handshake"))
        }
        do {
            let response = try await answer.futureResult.get()
            timer.cancel()
            return (channel, response)
        } catch {
            timer.cancel()
            try? await channel.close()
            throw error
        }
    }

    private func established(_ channel: any Channel, _ response: ConnectResponse, _ host: ZooKeeperConnectionString.Host) {
        let timeout = Duration.milliseconds(Int64(response.timeout))
        let sameSession = session?.id == response.sessionID
        if session != nil && !sameSession { expire(.ensemble) }
        session = (response.sessionID, response.password, timeout, host)
        disconnectedAt = nil
        // Credentials first, then the watches to re-arm: they go out before
        // any waiting request, on the same connection, in this order.
        for packet in configuration.authentication + extraAuthentication {
            channel.write(Outbound.special(.auth, .auth, packet.encoded), promise: nil)
        }
        if sameSession { rearmWatches(channel) }
        // What waited for a connection, in order, before anything made from
        // now on (which goes straight to `live`).
        for q in queued { Self.send(q.request, on: channel) }
        queued = []
        channel.flush()
        live.withLock { $0 = channel }
        configuration.logger.info("zookeeper: connected to \(host), session 0x\(String(UInt64(bitPattern: response.sessionID), radix: 16)) (\(sameSession ? "resumed" : "new"), timeout \(timeout))")
        publish(.connected(ZooKeeperSession(id: response.sessionID, timeout: timeout, server: host), newSession: !sameSession))
    }

    /// setWatches (or setWatches2 when persistent watches exist) with the
    /// server paths, in batches of about 128 KiB as the Java client sends them.
    private func rearmWatches(_ channel: any Channel) {
        guard !watches.isEmpty else { return }
        let w = watches.snapshot()
        let relative = zxid.last
        let lists = [w.data, w.exist, w.child, w.persistent, w.recursive].map { $0.map(chroot.server) }
        var batch: [[String]] = Array(repeating: [], count: 5)
        var size = 0
        func send() {
            if lists[3].isEmpty && lists[4].isEmpty {
                let record = SetWatches(relativeZxid: relative, dataWatches: batch[0], existWatches: batch[1], childWatches: batch[2])
                channel.write(Outbound.special(.setWatches, .setWatches, record.encoded), promise: nil)
            } else {
                let record = SetWatches2(relativeZxid: relative, dataWatches: batch[0], existWatches: batch[1], childWatches: batch[2],
                                         persistentWatches: batch[3], persistentRecursiveWatches: batch[4])
                channel.write(Outbound.special(.setWatches, .setWatches2, record.encoded), promise: nil)
            }
            batch = Array(repeating: [], count: 5)
            size = 0
        }
        for (kind, paths) in lists.enumerated() {
            for path in paths {
                if size + path.utf8.count + 4 > 128 * 1024 { send() }
                batch[kind].append(path)
                size += path.utf8.count + 4
            }
        }
        if size > 0 { send() }
    }

    private func lost() {
        live.withLock { $0 = nil }
        guard !isClosed else { return }
        disconnectedAt = .now
        configuration.logger.info("zookeeper: connection to \(session.map { "\($0.server)" } ?? "the server") lost; trying the ensemble again")
        publish(.suspended)
    }

    private func expireIfUnreachableTooLong() {
        guard let session, let since = disconnectedAt, since.duration(to: .now) >= session.timeout else { return }
        expire(.unreachable)
    }

    private func expire(_ reason: ZooKeeperSessionState.ExpiryReason) {
        guard let old = session else { return }
        configuration.logger.warning("zookeeper: session 0x\(String(UInt64(bitPattern: old.id), radix: 16)) expired (\(reason == .ensemble ? "the ensemble ended it" : "no server reachable for \(old.timeout)")); starting a new one")
        session = nil
        disconnectedAt = nil
        watches.endAll(ZooKeeperError(.sessionExpired, "the session that held the watch expired"))
        publish(.expired(reason))
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }

    var timeAmount: TimeAmount {
        let (s, atto) = components
        return .nanoseconds(max(0, s * 1_000_000_000 + atto / 1_000_000_000))
    }
}
