import Foundation

/// Leader election as Curator's `LeaderLatch` does it: every participant
/// creates an EPHEMERAL_SEQUENTIAL node under the latch path (its name
/// prefixed with a random id, so a create whose reply was lost is found
/// again); the lowest sequence leads; each other participant watches only
/// its predecessor (with getData, so no stray watch remains). Leadership is
/// dropped as soon as the connection is suspended and taken again only when
/// the session is connected and still first.
public actor LeaderLatch {
    public nonisolated let path: String
    public nonisolated let participantID: String
    private let client: ZooKeeperClient
    /// This session's name prefix; the prefixes of this participant's earlier
    /// sessions, whose nodes (left on a server that restored the old session)
    /// are deleted rather than mistaken for this session's.
    private var protection = LeaderLatch.newProtection()
    private var earlier: [String] = []
    private static func newProtection() -> String { "_c_\(UUID().uuidString.lowercased())-" }
    private var ourNode: String?
    private var leader = false
    private var connected = false
    private var task: Task<Void, Never>?
    private var subscribers: [Int: AsyncStream<Bool>.Continuation] = [:]
    private var nextID = 0
    private var triggers: AsyncStream<Trigger>.Continuation?

    private enum Trigger { case state(ZooKeeperSessionState), recheck }

    public init(client: ZooKeeperClient, path: String, participantID: String) {
        self.client = client
        self.path = path
        self.participantID = participantID
    }

    public var hasLeadership: Bool { leader }

    /// While leading, this participant's EPHEMERAL node: a fencing token. A
    /// `multi` that includes `.check(node, version: 0)` applies only while
    /// this session still holds it, so a deposed leader cannot win a write.
    public var leaderNode: String? { leader ? ourNode : nil }

    /// Leadership from now on (true: leading), starting with the current value.
    public func leadershipUpdates() -> AsyncStream<Bool> {
        let (stream, sink) = AsyncStream.makeStream(of: Bool.self)
        sink.yield(leader)
        nextID += 1
        let id = nextID
        subscribers[id] = sink
        sink.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: Int) { subscribers[id] = nil }

    private func setLeader(_ value: Bool) {
        guard value != leader else { return }
        leader = value
        for s in subscribers.values { s.yield(value) }
    }

    public func start() {
        guard task == nil else { return }
        let (stream, sink) = AsyncStream.makeStream(of: Trigger.self)
        triggers = sink
        let client = self.client
        task = Task {
            let forward = Task {
                for await state in await client.stateUpdates() { sink.yield(.state(state)) }
                sink.finish()
            }
            for await trigger in stream {
                if Task.isCancelled { break }
                await self.handle(trigger)
            }
            forward.cancel()
        }
    }

    /// Leaves the election (deleting this participant's node).
    public func close() async {
        task?.cancel()
        task = nil
        triggers?.finish()
        setLeader(false)
        if let node = ourNode { try? await client.delete(node) }
        ourNode = nil
        for s in subscribers.values { s.finish() }
        subscribers = [:]
    }

    private func handle(_ trigger: Trigger) async {
        switch trigger {
        case .state(.connected(_, let newSession)):
            connected = true
            if newSession {
                ourNode = nil
                earlier.append(protection)
                protection = Self.newProtection()
            }
            await reconcile()
        case .state(.expired):
            connected = false
            ourNode = nil
            setLeader(false)
        case .state(.suspended), .state(.connecting), .state(.closed):
            connected = false
            setLeader(false)
        case .recheck:
            if connected { await reconcile() }
        }
    }

    private static func sequence(_ name: String) -> String { String(name.suffix(10)) }

    private func reconcile() async {
        do {
            try await client.ensurePath(path)
            if ourNode == nil { ourNode = try await createNode() }
            guard let ours = ourNode else { return }
            let children = try await client.getChildren(path).children.filter { $0.contains("latch-") }
                .sorted { Self.sequence($0) < Self.sequence($1) }
            let name = String(ours.split(separator: "/").last ?? "")
            guard let index = children.firstIndex(of: name) else {
                ourNode = nil
                triggers?.yield(.recheck)
                return
            }
            if index == 0 {
                setLeader(true)
                // Leadership lasts while our node does: its deletion (an operator, a
                // server that expired the session first) is noticed at once.
                let (stat, watch) = try await client.existsWatch(ours)
                let sink = triggers
                if stat == nil {
                    ourNode = nil
                    setLeader(false)
                    sink?.yield(.recheck)
                    return
                }
                Task {
                    _ = try? await watch.first { _ in true }
                    sink?.yield(.recheck)
                }
                return
            }
            setLeader(false)
            let predecessor = ZooKeeperPath.join(path, children[index - 1])
            do {
                let (_, _, watch) = try await client.getDataWatch(predecessor)
                let sink = triggers
                Task {
                    _ = try? await watch.first { _ in true }
                    sink?.yield(.recheck)
                }
            } catch let error as ZooKeeperError where error.code == .noNode {
                triggers?.yield(.recheck)
            }
        } catch {
            // Connection trouble: the next state change reconciles again; a
            // server-side error is retried shortly.
            let sink = triggers
            Task {
                try? await Task.sleep(for: .milliseconds(500))
                sink?.yield(.recheck)
            }
        }
    }

    /// Our node: one already there under our protected name (a create whose
    /// reply was lost), else a new one.
    private func createNode() async throws -> String {
        let children = try await client.getChildren(path).children
        for stale in children where earlier.contains(where: { stale.hasPrefix($0) }) {
            try? await client.delete(ZooKeeperPath.join(path, stale))
        }
        if let found = children.first(where: { $0.hasPrefix(protection) }) { return ZooKeeperPath.join(path, found) }
        let prefix = ZooKeeperPath.join(path, protection + "latch-")
        return try await client.create(prefix, data: Array(participantID.utf8), mode: .ephemeralSequential).path
    }
}
