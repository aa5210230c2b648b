import Synchronization

/// The watches a session holds, by kind and client path, with the streams
/// their events go to. Shared by the connection (which registers a watch when
/// the server's reply arrives, before the caller resumes, so no event can
/// come first) and the client (which re-arms them after a reconnect).
/// Delivery follows ZooKeeper's rules (`ZKWatchManager.materialize`).
final class WatchRegistry: Sendable {
    typealias Sink = ZooKeeperWatch.Continuation
    typealias PersistentSink = AsyncThrowingStream<ZooKeeperWatchEvent, any Error>.Continuation

    enum Kind: Sendable { case data, exist, child }

    struct Persistent {
        var sink: PersistentSink
        var recursive: Bool
        var path: String
    }

    private struct State {
        var data: [String: [Sink]] = [:]
        var exist: [String: [Sink]] = [:]
        var child: [String: [Sink]] = [:]
        var persistent: [Int: Persistent] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    func register(_ kind: Kind, path: String, sink: Sink) {
        state.withLock { s in
            switch kind {
            case .data: s.data[path, default: []].append(sink)
            case .exist: s.exist[path, default: []].append(sink)
            case .child: s.child[path, default: []].append(sink)
            }
        }
    }

    /// Adds a persistent watch; the id removes it.
    func addPersistent(path: String, recursive: Bool, sink: PersistentSink) -> Int {
        state.withLock { s in
            s.nextID += 1
            s.persistent[s.nextID] = Persistent(sink: sink, recursive: recursive, path: path)
            return s.nextID
        }
    }

    func removePersistent(_ id: Int) {
        let removed = state.withLock { $0.persistent.removeValue(forKey: id) }
        removed?.sink.finish()
    }

    /// Delivers an event to the watches it fires; one-shot watches are removed.
    func dispatch(_ event: ZooKeeperWatchEvent) {
        let path = event.path
        let (oneShot, persistent): ([Sink], [PersistentSink]) = state.withLock { s in
            var fired: [Sink] = []
            switch event.kind {
            case .nodeCreated, .nodeDataChanged:
                fired += s.data.removeValue(forKey: path) ?? []
                fired += s.exist.removeValue(forKey: path) ?? []
            case .nodeChildrenChanged:
                fired += s.child.removeValue(forKey: path) ?? []
            case .nodeDeleted:
                fired += s.data.removeValue(forKey: path) ?? []
                fired += s.exist.removeValue(forKey: path) ?? []
                fired += s.child.removeValue(forKey: path) ?? []
            default:
                break
            }
            let persistent = s.persistent.values.filter { p in
                if p.path == path { return !p.recursive || event.kind != .nodeChildrenChanged }
                return p.recursive && event.kind != .nodeChildrenChanged && Self.isAncestor(p.path, of: path)
            }.map(\.sink)
            return (fired, persistent)
        }
        for sink in oneShot {
            sink.yield(event)
            sink.finish()
        }
        for sink in persistent { sink.yield(event) }
    }

    static func isAncestor(_ ancestor: String, of path: String) -> Bool {
        ancestor == "/" ? path != "/" : path.hasPrefix(ancestor + "/")
    }

    /// The paths to re-arm after a reconnect.
    func snapshot() -> (data: [String], exist: [String], child: [String], persistent: [String], recursive: [String]) {
        state.withLock { s in
            let p = s.persistent.values
            return (s.data.keys.sorted(), s.exist.keys.sorted(), s.child.keys.sorted(),
                    Set(p.filter { !$0.recursive }.map(\.path)).sorted(), Set(p.filter(\.recursive).map(\.path)).sorted())
        }
    }

    var isEmpty: Bool { state.withLock { $0.data.isEmpty && $0.exist.isEmpty && $0.child.isEmpty && $0.persistent.isEmpty } }

    /// Ends every watch with `error`: the session that held them is gone.
    func endAll(_ error: ZooKeeperError) {
        let (oneShot, persistent) = state.withLock { s in
            let all = (s.data.values.flatMap { $0 } + s.exist.values.flatMap { $0 } + s.child.values.flatMap { $0 },
                       s.persistent.values.map(\.sink))
            s = State(nextID: s.nextID)
            return all
        }
        for sink in oneShot { sink.finish(throwing: error) }
        for sink in persistent { sink.finish(throwing: error) }
    }
}
