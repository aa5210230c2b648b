import CorralTestSupport
import Foundation
import Testing
import ZooKeeperClient

/// The session across outages, against real servers: restarts within the
/// timeout, partitions (through a relay the test cuts), expiry declared by
/// the ensemble or decided after the whole timeout unreachable, and the
/// ephemeral node its owner keeps in place through all of it.
@Suite(.serialized) struct SessionTests {
    @Test func serverRestartWithinTheTimeoutKeepsTheSessionAndItsEphemerals() async throws {
        try await withZooKeeper { zk in
            let c = try client(zk.connectionString(), sessionTimeout: .seconds(10))
            let other = try client(zk.connectionString(), sessionTimeout: .seconds(10))
            defer { Task { await c.close(); await other.close() } }
            try await c.create("/e", mode: .ephemeral)
            try await c.create("/d", data: "before".bytes)
            let id = try #require(await c.currentSession).id
            let (_, _, watch) = try await c.getDataWatch("/d")

            zk.kill(1)
            #expect(await waitForState(c) { $0 == .suspended } != nil)
            try zk.start(1)
            try await zk.waitServing(1)
            let back = await waitForState(c) { $0.isConnected }
            #expect(back == .connected(ZooKeeperSession(id: id, timeout: .seconds(10), server: .init(host: "127.0.0.1", port: zk.member(1).clientPort)), newSession: false))
            #expect(try await other.exists("/e")?.ephemeralOwner == id)

            try await other.setData("/d", data: "after".bytes)
            #expect(try await firstEvent(watch).get() == ZooKeeperWatchEvent(kind: .nodeDataChanged, path: "/d"))
        }
    }

    @Test func changesMadeWhilePartitionedFireTheWatchesOnReconnect() async throws {
        try await withZooKeeper { zk in
            let proxy = try await TCPProxy(targetPort: zk.member(1).clientPort)
            // 20 s: the partition, four writes and the reconnect must fit in the session even on a loaded machine.
            let c = try client("127.0.0.1:\(proxy.port)", sessionTimeout: .seconds(20))
            let other = try client(zk.connectionString())
            defer { Task { await c.close(); await other.close(); await proxy.shutdown() } }
            try await other.create("/d", data: "0".bytes)
            try await other.create("/c")
            try await other.create("/gone")
            _ = try await c.exists("/d")
            let id = try #require(await c.currentSession).id
            let (_, _, data) = try await c.getDataWatch("/d")
            let (_, _, children) = try await c.getChildrenWatch("/c")
            let (missing, created) = try await c.existsWatch("/n")
            let (_, _, deleted) = try await c.getDataWatch("/gone")
            #expect(missing == nil)

            proxy.cut()
            #expect(await waitForState(c) { $0 == .suspended } != nil)
            try await other.setData("/d", data: "1".bytes)
            try await other.create("/c/x")
            try await other.create("/n")
            try await other.delete("/gone")
            proxy.restore()

            #expect(await waitForState(c) { $0.isConnected } != nil)
            #expect(await c.currentSession?.id == id)
            #expect(try await firstEvent(data).get() == ZooKeeperWatchEvent(kind: .nodeDataChanged, path: "/d"))
            #expect(try await firstEvent(children).get() == ZooKeeperWatchEvent(kind: .nodeChildrenChanged, path: "/c"))
            #expect(try await firstEvent(created).get() == ZooKeeperWatchEvent(kind: .nodeCreated, path: "/n"))
            #expect(try await firstEvent(deleted).get() == ZooKeeperWatchEvent(kind: .nodeDeleted, path: "/gone"))
        }
    }

    /// Requests made while the connection is down go out in the order they
    /// were made once it is back (ZooKeeper's FIFO client order), and an
    /// ephemeral node ends with its newest data, not a write that waited.
    @Test func writesMadeWhilePartitionedLandInOrderAndTheNodeEndsNewest() async throws {
        try await withZooKeeper { zk in
            let proxy = try await TCPProxy(targetPort: zk.member(1).clientPort)
            let c = try client("127.0.0.1:\(proxy.port)", sessionTimeout: .seconds(20), requestTimeout: .seconds(20))
            let other = try client(zk.connectionString())
            defer { Task { await c.close(); await other.close(); await proxy.shutdown() } }
            let node = EphemeralNode(client: c, path: "/drove/executor/h-2", data: "v1".bytes)
            await node.start()
            #expect(await eventually { await node.isInPlace })
            try await c.create("/order", data: "0".bytes)
            let id = try #require(await c.currentSession).id

            proxy.cut()
            #expect(await waitForState(c) { $0 == .suspended } != nil)
            // Each waits for the connection; they were made in this order.
            let stale = Task { try await node.update("v2".bytes) }
            var writes: [Task<Void, any Error>] = []
            for i in 1...5 {
                try await Task.sleep(for: .milliseconds(50))
                writes.append(Task { _ = try await c.setData("/order", data: "\(i)".bytes) })
            }
            try await Task.sleep(for: .milliseconds(50))
            try await node.update("v3".bytes)
            // A server that closes the connection at once is tried again
            // about every second, not once per handshake timeout (6.7 s).
            try await Task.sleep(for: .seconds(3))
            #expect(proxy.refused >= 2, "connections tried during a 3 s partition: \(proxy.refused)")
            proxy.restore()

            try await stale.value
            for w in writes { try await w.value }
            #expect(await c.currentSession?.id == id, "the same session")
            #expect(try await other.getData("/order").data.text == "5", "the last write made lands last")
            #expect(await eventually { (try? await other.getData("/drove/executor/h-2").data.text) == "v3" })
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await other.getData("/drove/executor/h-2").data.text == "v3", "nothing older lands after the newest")
        }
    }

    @Test func aSilentServerIsNoticedAndTheEnsembleDeclaresTheSessionExpired() async throws {
        try await withZooKeeper { zk in
            let proxy = try await TCPProxy(targetPort: zk.member(1).clientPort)
            // 8 s: the server expires the session at most a tick (2 s) past
            // the timeout after the last ping, well before the client's own
            // deadline (the timeout after it noticed the silence, at 2/3 of
            // it); with a short one the two race.
            let c = try client("127.0.0.1:\(proxy.port)", sessionTimeout: .seconds(8))
            let other = try client(zk.connectionString())
            defer { Task { await c.close(); await other.close(); await proxy.shutdown() } }
            try await c.create("/mine", mode: .ephemeral)
            let old = try #require(await c.currentSession).id
            let (_, _, watch) = try await c.getDataWatch("/mine")

            // A black hole: the connection stays open but nothing comes back.
            // The client notices the silence (2/3 of the timeout) and the
            // server expires the session (the whole timeout after the last ping).
            proxy.freeze()
            #expect(await waitForState(c, seconds: 15) { $0 == .suspended } != nil)
            #expect(await eventually(seconds: 20) { (try? await other.exists("/mine")) == nil })
            proxy.restore()
            let expired = await waitForState(c, seconds: 15) { if case .expired = $0 { true } else { false } }
            #expect(expired == .expired(.ensemble))
            let renewed = await waitForState(c, seconds: 15) { $0.isConnected }
            if case .connected(let s, let isNew)? = renewed { #expect(isNew && s.id != old) } else { Issue.record("not reconnected: \(String(describing: renewed))") }
            // The watch the old session held ends with the expiry, not silently.
            if case .failure(let error) = await firstEvent(watch) {
                #expect((error as? ZooKeeperError)?.code == .sessionExpired)
            } else { Issue.record("the old session's watch did not end with sessionExpired") }
        }
    }

    @Test func ensembleDownPastTheTimeoutExpiresAndTheOwnerRecreatesItsNode() async throws {
        try await withZooKeeper { zk in
            let c = try client(zk.connectionString(), sessionTimeout: .seconds(2))
            defer { Task { await c.close() } }
            let node = EphemeralNode(client: c, path: "/drove/executor/h-1", data: "v1".bytes)
            await node.start()
            #expect(await eventually { await node.isInPlace })
            let old = try #require(await c.currentSession).id
            #expect(try await c.exists("/drove/executor/h-1")?.ephemeralOwner == old)

            zk.kill(1)
            let expired = await waitForState(c, seconds: 15) { if case .expired = $0 { true } else { false } }
            #expect(expired == .expired(.unreachable))
            try await node.update("v2".bytes)
            try zk.start(1)
            try await zk.waitServing(1)
            // The restarted server still holds the old session for a while;
            // the owner replaces the node it left with one of the new session.
            #expect(await eventually(seconds: 20) {
                guard let s = await c.currentSession, s.id != old, await node.isInPlace,
                      let r = try? await c.getData("/drove/executor/h-1") else { return false }
                return r.stat.ephemeralOwner == s.id && r.data.text == "v2"
            })
            await node.close()
            #expect(try await c.exists("/drove/executor/h-1") == nil)
        }
    }

    @Test func closingEndsTheSessionAndItsEphemeralsAtOnce() async throws {
        try await withZooKeeper { zk in
            let c = try client(zk.connectionString(), sessionTimeout: .seconds(30))
            let other = try client(zk.connectionString())
            defer { Task { await other.close() } }
            try await c.create("/bye", mode: .ephemeral)
            let (_, watch) = try await other.existsWatch("/bye")
            await c.close()
            #expect(await c.currentState == .closed)
            #expect(try await firstEvent(watch, seconds: 5).get() == ZooKeeperWatchEvent(kind: .nodeDeleted, path: "/bye"))
        }
    }
}
