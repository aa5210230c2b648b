/// When a cluster link writes the executor's node data (to ZooKeeper, or as
/// a snapshot to the leader): on a change, no sooner than `debounce` after
/// the previous write, and when nothing was written for `heartbeat`.
actor PublishCadence {
    let debounce: Duration
    let heartbeat: Duration
    private var lastWrite: ContinuousClock.Instant?

    init(debounce: Duration, heartbeat: Duration) {
        self.debounce = debounce
        self.heartbeat = heartbeat
    }

    /// Runs until cancelled. `publish(force)` writes (force: the heartbeat,
    /// even when nothing changed) and says whether it did.
    func run(changes: AsyncStream<ExecutorChange>, publish: @escaping @Sendable (_ force: Bool) async -> Bool) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.onChanges(changes, publish) }
            group.addTask { await self.beat(publish) }
        }
    }

    /// A write made outside the loops (after a reconnect, to a new leader).
    func wrote() { lastWrite = .now }

    private func onChanges(_ changes: AsyncStream<ExecutorChange>, _ publish: @Sendable (Bool) async -> Bool) async {
        for await _ in changes {
            if let last = lastWrite {
                let wait = ContinuousClock.now.duration(to: last + debounce)
                if wait > .zero { try? await Task.sleep(for: wait) }
            }
            if Task.isCancelled { return }
            if await publish(false) { lastWrite = .now }
        }
    }

    private func beat(_ publish: @Sendable (Bool) async -> Bool) async {
        while !Task.isCancelled {
            try? await Task.sleep(until: (lastWrite ?? .now) + heartbeat)
            if Task.isCancelled { return }
            if let last = lastWrite, last + heartbeat > .now { continue }
            _ = await publish(true)
            // Written or not (nowhere to write to yet), the next beat is a heartbeat away.
            lastWrite = .now
        }
    }
}

/// A daemon's own port: set once, when its listener is bound; awaited by
/// what needs it (the executor's cluster links, the controller's core).
public actor PortLatch {
    public private(set) var value: Int?
    private var waiters: [CheckedContinuation<Int, Never>] = []

    public init() {}

    public func set(_ port: Int) {
        guard value == nil else { return }
        value = port
        for w in waiters { w.resume(returning: port) }
        waiters = []
    }

    public func wait() async -> Int {
        if let value { return value }
        return await withCheckedContinuation { waiters.append($0) }
    }
}
