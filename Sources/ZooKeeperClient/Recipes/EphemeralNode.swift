/// An ephemeral node kept in place across reconnects and expiries (what
/// Curator's `PersistentNode` does for EPHEMERAL): created when a session is
/// connected, created again after an expiry, and its data rewritten on
/// ``update(_:)``. A node left at the path by an older session of this owner
/// (the ensemble has not expired it yet) is replaced. Parents are created as
/// containers.
public actor EphemeralNode {
    public nonisolated let path: String
    private let client: ZooKeeperClient
    private var data: [UInt8]
    private var task: Task<Void, Never>?
    /// The session that owns the node now, nil while it is not in place.
    private var owner: Int64?
    private var version: Int32 = 0
    private var writes = 0
    private var lastError: ZooKeeperError?
    /// An ``update(_:)`` is writing (the others leave their data to it).
    private var writing = false
    /// The data the ensemble last confirmed (nil: not known).
    private var written: [UInt8]?

    public init(client: ZooKeeperClient, path: String, data: [UInt8]) {
        self.client = client
        self.path = path
        self.data = data
    }

    /// Starts keeping the node.
    public func start() {
        guard task == nil else { return }
        task = Task { await self.run() }
    }

    /// Whether the node is in place for the current session.
    public var isInPlace: Bool { owner != nil }
    /// Writes made (creates and data rewrites).
    public var writeCount: Int { writes }
    public var lastFailure: ZooKeeperError? { lastError }

    /// Replaces the node's data (now if the node is in place, else when it is
    /// created). One write is in flight at a time and the node always ends
    /// with the newest data: an update made while a write waits (for a
    /// reconnect, say) is written after it, by that write's caller, so an
    /// older write never lands last.
    public func update(_ new: [UInt8]) async throws {
        data = new
        guard owner != nil, !writing else { return }
        writing = true
        defer { writing = false }
        try await writeLatest()
    }

    /// Writes `data` until what was last written is the newest.
    private func writeLatest() async throws {
        var sent: [UInt8]
        repeat {
            sent = data
            guard owner != nil else { return }
            do {
                let stat = try await client.setData(path, data: sent, version: -1)
                writes += 1
                version = stat.version
                written = sent
            } catch let error as ZooKeeperError {
                lastError = error
                guard error.code == .noNode else { throw error }
                owner = nil
                return try await place()
            }
        } while data != sent
    }

    /// Stops keeping the node and deletes it.
    public func close() async {
        task?.cancel()
        task = nil
        if owner != nil { try? await client.delete(path) }
        owner = nil
    }

    private func run() async {
        for await state in await client.stateUpdates() {
            if Task.isCancelled { return }
            switch state {
            case .connected(_, let newSession):
                if newSession || owner == nil {
                    owner = nil
                    await placeRetrying()
                } else if written != data {
                    // Back in the same session with a write that did not
                    // get through: the node is there, its data is old.
                    try? await update(data)
                }
            case .expired:
                owner = nil
            case .closed:
                owner = nil
                return
            case .connecting, .suspended:
                break
            }
        }
    }

    private func placeRetrying() async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled, owner == nil {
            do {
                try await place()
                return
            } catch {
                lastError = error as? ZooKeeperError
                guard (await client.currentState).isConnected else { return }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// Creates the node for the current session, replacing one an older
    /// session left behind.
    private func place() async throws {
        guard let session = await client.currentSession else { throw ZooKeeperError(.connectionLoss, path: path, "not connected") }
        do {
            let sent = data
            let stat = try await client.create(path, data: sent, mode: .ephemeral, createParents: true).stat
            writes += 1
            owner = session.id
            version = stat.version
            written = sent
            if data != sent { try await writeLatest() }
        } catch let error as ZooKeeperError where error.code == .nodeExists {
            let (existing, stat) = try await client.getData(path)
            if stat.ephemeralOwner == session.id {
                owner = session.id
                written = existing
                if existing != data { try await writeLatest() }
                return
            }
            // Left by an older session of ours: replace it now rather than
            // wait for the ensemble to expire it.
            try await client.delete(path, version: stat.version)
            try await place()
        }
    }
}
