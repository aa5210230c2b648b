import CorralCore
import CorralExecutor
import Foundation
import Logging
import ZooKeeperClient

/// Executors in RPC mode (`options.remoteUpdateMode: RPC`) use no ZooKeeper:
/// they push their node data to the leader as EXECUTOR_SNAPSHOT messages,
/// and the controller keeps it at `/executor/<host>-<port>` for them (an
/// EPHEMERAL node of its own session), where the roster's watch sees it like
/// any executor's. Snapshots stop, the node goes: one whose last snapshot is
/// older than `staleExecutorAge` is deleted, and the executor is lost as if
/// its session had expired.
actor SnapshotRegistry {
    let zk: ZooKeeperClient
    let paths: ControllerPaths
    let acl: [ACL]
    let staleAge: Duration
    let logger: Logger
    /// Node path -> when its last snapshot came.
    private var seen: [String: ContinuousClock.Instant] = [:]

    init(zk: ZooKeeperClient, paths: ControllerPaths, acl: [ACL], staleAge: Duration, logger: Logger) {
        self.zk = zk
        self.paths = paths
        self.acl = acl
        self.staleAge = staleAge
        self.logger = logger
    }

    /// Writes a snapshot's node data; why not, when it could not.
    func take(_ data: ExecutorNodeData) async -> String? {
        let path = ZooKeeperPath.join(paths.executors, DroveIdentity.nodeName(hostname: data.hostname, port: data.port))
        let bytes = data.encoded()
        do {
            do {
                _ = try await zk.setData(path, data: bytes)
            } catch let e as ZooKeeperError where e.code == .noNode {
                _ = try await zk.create(path, data: bytes, mode: .ephemeral, acl: acl, createParents: true)
            }
        } catch {
            return "the snapshot could not be kept in ZooKeeper: \(error)"
        }
        if seen[path] == nil { logger.info("executor \(data.hostname):\(data.port) registered through its snapshots (RPC mode)") }
        seen[path] = .now
        return nil
    }

    /// Deletes the nodes of executors whose snapshots stopped.
    func sweep() async {
        let now = ContinuousClock.now
        for (path, last) in seen where now - last >= staleAge {
            seen[path] = nil
            logger.warning("no snapshot from \(path) for \(staleAge): its node is removed", metadata: ["node": "\(path)"])
            try? await zk.delete(path)
        }
    }

    func run(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await sweep()
        }
    }
}
