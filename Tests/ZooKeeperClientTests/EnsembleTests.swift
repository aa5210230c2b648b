import CorralTestSupport
import Foundation
import Testing
import ZooKeeperClient

/// A three-member ensemble on this machine: the client moves to another
/// member when its own is killed, keeping its session and watches; the
/// leader latch hands leadership over.
@Suite(.serialized) struct EnsembleTests {
    @Test func killingTheMemberTheClientUsesMovesItToAnotherWithTheSameSession() async throws {
        try await withZooKeeper(size: 3) { zk in
            let c = try client(zk.connectionString(), sessionTimeout: .seconds(10))
            defer { Task { await c.close() } }
            try await c.create("/e", mode: .ephemeral)
            try await c.create("/d", data: "0".bytes)
            let session = try #require(await c.currentSession)
            let (_, _, watch) = try await c.getDataWatch("/d")
            let member = try #require(zk.members.first { $0.clientPort == session.server.port })

            zk.kill(member.id)
            let killedPort = member.clientPort
            let moved = await waitForState(c, seconds: 30) { state in
                if case .connected(let s, _) = state { return s.server.port != killedPort }
                return false
            }
            guard case .connected(let now, let isNew)? = moved else { Issue.record("not reconnected"); return }
            #expect(!isNew && now.id == session.id && now.server.port != member.clientPort,
                    "before \(session.idHex) on \(session.server), after \(now.idHex) on \(now.server), new: \(isNew), killed \(member.clientPort)")
            #expect(try await c.exists("/e")?.ephemeralOwner == session.id)

            // Another client on a surviving member changes what we watch.
            let survivor = try #require(zk.members.first { $0.id != member.id })
            let other = try client("127.0.0.1:\(survivor.clientPort)")
            defer { Task { await other.close() } }
            try await other.setData("/d", data: "1".bytes)
            #expect(try await firstEvent(watch).get() == ZooKeeperWatchEvent(kind: .nodeDataChanged, path: "/d"))
            try await c.sync("/d")
            #expect(try await c.getData("/d").data.text == "1")
        }
    }

    @Test func leaderLatchHandsLeadershipOverWhenTheLeaderGoes() async throws {
        try await withZooKeeper(size: 3) { zk in
            let a = try client(zk.connectionString(), sessionTimeout: .seconds(4))
            let b = try client(zk.connectionString(), sessionTimeout: .seconds(4))
            defer { Task { await a.close(); await b.close() } }
            let la = LeaderLatch(client: a, path: "/drove/leaderselection", participantID: "a")
            let lb = LeaderLatch(client: b, path: "/drove/leaderselection", participantID: "b")
            await la.start()
            #expect(await eventually { await la.hasLeadership })
            await lb.start()
            #expect(try await eventually { try await b.getChildren("/drove/leaderselection").children.count == 2 })
            try await Task.sleep(for: .milliseconds(300))
            let (aLeads, bLeads) = (await la.hasLeadership, await lb.hasLeadership)
            #expect(aLeads && !bLeads)

            // The leader's session ends: b leads, a does not. a hears of its
            // own session's end through its state stream, b through the
            // ensemble: either may come first, so a's drop is awaited too
            // (a deposed leader's writes are fenced by its node either way).
            await a.close()
            #expect(await eventually { await lb.hasLeadership })
            #expect(await eventually { !(await la.hasLeadership) })
            let names = try await b.getChildren("/drove/leaderselection").children
            #expect(names.count == 1 && names[0].hasPrefix("_c_") && names[0].contains("-latch-"))
        }
    }

    @Test func leaderLatchDropsLeadershipAsSoonAsTheConnectionIsSuspended() async throws {
        try await withZooKeeper { zk in
            let proxy = try await TCPProxy(targetPort: zk.member(1).clientPort)
            let a = try client("127.0.0.1:\(proxy.port)", sessionTimeout: .seconds(3))
            let b = try client(zk.connectionString(), sessionTimeout: .seconds(3))
            defer { Task { await a.close(); await b.close(); await proxy.shutdown() } }
            let la = LeaderLatch(client: a, path: "/latch", participantID: "a")
            let lb = LeaderLatch(client: b, path: "/latch", participantID: "b")
            await la.start()
            #expect(await eventually { await la.hasLeadership })
            await lb.start()
            #expect(try await eventually { try await b.getChildren("/latch").children.count == 2 })
            proxy.cut()
            #expect(await eventually(seconds: 5) { !(await la.hasLeadership) })
            #expect(await eventually(seconds: 15) { await lb.hasLeadership })
            proxy.restore()
            // a comes back with a new session, behind b.
            #expect(await eventually(seconds: 15) { (try? await a.getChildren("/latch").children.count) == 2 })
            try await Task.sleep(for: .milliseconds(300))
            let (aLeads, bLeads) = (await la.hasLeadership, await lb.hasLeadership)
            #expect(bLeads && !aLeads)
        }
    }
}
