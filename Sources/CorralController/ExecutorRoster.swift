import CorralExecutor
import Foundation
import Logging
import ZooKeeperClient

/// The executors of the cluster as their ZooKeeper nodes say, kept by
/// watches (one persistent recursive watch on `/<ns>/executor`: a node's
/// creation, change and deletion each arrive as an event) instead of Drove's
/// 10 s poll. A deleted node (the executor's session ended) is a lost
/// executor at once; one whose `updated` is older than the stale age is
/// dropped likewise by ``sweep(now:staleAfter:)``.
public actor ExecutorRoster {
    public enum Change: Sendable {
        case updated(ExecutorNodeData)
        case removed(executorId: String, hostname: String, reason: String)
    }

    let zk: ZooKeeperClient
    let paths: ControllerPaths
    let logger: Logger
    private var byNode: [String: ExecutorNodeData] = [:]
    private var subscribers: [Int: AsyncStream<Change>.Continuation] = [:]
    private var nextID = 0

    public init(zk: ZooKeeperClient, paths: ControllerPaths, logger: Logger) {
        self.zk = zk
        self.paths = paths
        self.logger = logger
    }

    public static func executorId(_ d: ExecutorNodeData) -> String { d.state.executorId }

    public var executors: [ExecutorNodeData] { byNode.values.sorted { $0.hostname == $1.hostname ? $0.port < $1.port : $0.hostname < $1.hostname } }

    public func executor(_ id: String) -> ExecutorNodeData? { byNode.values.first { Self.executorId($0) == id } }

    /// Changes from now on (after the current executors, each as `.updated`).
    public func changes() -> AsyncStream<Change> {
        let (stream, sink) = AsyncStream.makeStream(of: Change.self)
        for d in byNode.values { sink.yield(.updated(d)) }
        nextID += 1
        let id = nextID
        subscribers[id] = sink
        sink.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: Int) { subscribers[id] = nil }

    private func publish(_ c: Change) { for s in subscribers.values { s.yield(c) } }

    /// Follows the executors until cancelled, re-reading everything after each (re)registration of the watch.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await zk.ensurePath(paths.executors)
                let events = try await zk.addWatch(paths.executors, recursive: true)
                try await resync()
                for try await event in events where event.path != paths.executors {
                    await refresh(node: String(event.path.split(separator: "/").last ?? ""))
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("executor watch interrupted", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    func resync() async throws {
        let names = Set(try await zk.getChildren(paths.executors).children)
        for gone in byNode.keys where !names.contains(gone) { drop(gone, reason: "its ZooKeeper node is gone") }
        for name in names { await refresh(node: name) }
    }

    func refresh(node name: String) async {
        guard !name.isEmpty else { return }
        do {
            let (bytes, _) = try await zk.getData(ZooKeeperPath.join(paths.executors, name))
            guard let data = try? ControllerJSON.decoder.decode(ExecutorNodeData.self, from: Data(bytes)) else {
                logger.warning("an executor node cannot be read as ExecutorNodeData", metadata: ["node": "\(name)"])
                return
            }
            let old = byNode[name]
            byNode[name] = data
            if old == nil {
                logger.info("executor joined", metadata: ["executor": "\(data.hostname):\(data.port)", "executorId": "\(Self.executorId(data))"])
            }
            if old != data { publish(.updated(data)) }
        } catch let e as ZooKeeperError where e.code == .noNode {
            drop(name, reason: "its ZooKeeper node is gone (session ended)")
        } catch {
            logger.debug("cannot read an executor node", metadata: ["node": "\(name)", "error": "\(error)"])
        }
    }

    func drop(_ name: String, reason: String) {
        guard let d = byNode.removeValue(forKey: name) else { return }
        logger.warning("executor lost", metadata: ["executor": "\(d.hostname):\(d.port)", "reason": "\(reason)"])
        publish(.removed(executorId: Self.executorId(d), hostname: d.hostname, reason: reason))
    }

    /// Drops executors whose node data was not refreshed for `staleAfter`.
    public func sweep(now: Date = Date(), staleAfter: Duration) {
        let limit = Int64(now.timeIntervalSince1970 * 1000) - Int64(staleAfter.components.seconds * 1000)
        for (name, d) in byNode where d.updated < limit {
            drop(name, reason: "its node data is older than \(staleAfter)")
        }
    }
}
