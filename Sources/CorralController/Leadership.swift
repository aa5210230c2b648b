import CorralExecutor
import Foundation
import Logging
import ZooKeeperClient

/// Which controller leads: a ``LeaderLatch`` under `/<ns>/leaderselection`,
/// and each controller's `ControllerNodeData` at `/<ns>/controller/<host>-<port>`
/// (EPHEMERAL, `leader: true` on the leader's) where executors and followers
/// find the leader. Losing the session drops leadership; the latch takes
/// part again when the session is back. The process never exits for it.
public actor Leadership {
    public nonisolated let hostname: String
    private(set) var port = 0
    let zk: ZooKeeperClient
    let paths: ControllerPaths
    let latch: LeaderLatch
    let logger: Logger
    private var node: EphemeralNode?
    private var leading = false
    private var leaderData: ControllerNodeData?

    public init(zk: ZooKeeperClient, paths: ControllerPaths, hostname: String, logger: Logger) {
        self.zk = zk
        self.paths = paths
        self.hostname = hostname
        self.logger = logger
        latch = LeaderLatch(client: zk, path: paths.leaderSelection, participantID: hostname)
    }

    public var isLeader: Bool { leading }
    /// The fencing token of this leader's writes (nil unless leading).
    public func fence() async -> String? { await latch.leaderNode }
    /// The leader as the controllers' nodes say (self when leading).
    public var leader: ControllerNodeData? { leading ? nodeData(leader: true) : leaderData }

    func nodeData(leader: Bool) -> ControllerNodeData {
        ControllerNodeData(type: "CONTROLLER", hostname: hostname, port: port, transportType: "HTTP",
                           updated: Int64(Date().timeIntervalSince1970 * 1000), leader: leader)
    }

    public func updates() async -> AsyncStream<Bool> { await latch.leadershipUpdates() }

    /// Takes part in the election (once the API listens on `port`) and keeps this controller's node until cancelled.
    public func run(port: Int) async {
        self.port = port
        try? await zk.ensurePath(paths.controllers)
        let node = EphemeralNode(client: zk, path: paths.controller("\(hostname)-\(port)"),
                                 data: (try? Array(ControllerJSON.encoder.encode(nodeData(leader: false)))) ?? [])
        self.node = node
        await node.start()
        await latch.start()
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await leading in await self.latch.leadershipUpdates() { await self.set(leading) }
            }
            group.addTask { await self.followLeader() }
            group.addTask {
                // ControllerNodeData's `updated` is refreshed as Drove's is (every 60 s).
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(60))
                    await self.rewrite()
                }
            }
        }
        await latch.close()
        await node.close()
    }

    private func set(_ value: Bool) async {
        guard value != leading else { return }
        leading = value
        logger.notice(value ? "this controller is now the leader" : "this controller is no longer the leader")
        await rewrite()
    }

    private func rewrite() async {
        try? await node?.update(Array(ControllerJSON.encoder.encode(nodeData(leader: leading))))
    }

    private func followLeader() async {
        while !Task.isCancelled {
            do {
                let events = try await zk.addWatch(paths.controllers, recursive: true)
                await refresh()
                for try await _ in events { await refresh() }
            } catch {
                if Task.isCancelled { return }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    private func refresh() async {
        guard let names = try? await zk.getChildren(paths.controllers).children else { return }
        var found: ControllerNodeData?
        for name in names.sorted() {
            guard let bytes = try? await zk.getData(paths.controller(name)).data,
                  let d = try? ControllerJSON.decoder.decode(ControllerNodeData.self, from: Data(bytes)), d.leader else { continue }
            found = d
        }
        leaderData = found
    }
}
