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

    /// Replaces the node's data (now if the node is in place, else when it is created).
    public func update(_ new: [UInt8]) async throws {
        data = new
        guard owner != nil else { return }
        do {
            let stat = try await client.setData(path, data: new, version: -1)
            writes += 1
            version = stat.version
        } catch let error as ZooKeeperError {
            lastError = error
            if error.code == .noNode { owner = nil; try await place() }
            else { throw error }
        }
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
            let stat = try await client.create(path, data: data, mode: .ephemeral, createParents: true).stat
            writes += 1
            owner = session.id
            version = stat.version
        } catch let error as ZooKeeperError where error.code == .nodeExists {
            let (existing, stat) = try await client.getData(path)
            if stat.ephemeralOwner == session.id {
                owner = session.id
                if existing != data {
                    version = try await client.setData(path, data: data).version
                    writes += 1
                }
                return
            }
            // Left by an older session of ours: replace it now rather than
            // wait for the ensemble to expire it.
            try await client.delete(path, version: stat.version)
            try await place()
        }
    }
}
