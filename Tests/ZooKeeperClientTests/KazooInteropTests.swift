import CorralTestSupport
import Foundation
import Testing
import ZooKeeperClient

/// Interoperability with an independent client, kazoo (from PyPI, installed
/// by scripts/python-tools): it reads what this client wrote, and this
/// client's watches fire on what kazoo changes.
@Suite(.serialized) struct KazooInteropTests {
    static func kazoo(_ hosts: String, _ args: String...) throws -> [String: Any] { try KazooPeer.run(hosts, args) }

    static func requireKazoo() -> Bool {
        if KazooPeer.python != nil { return true }
        let why = "kazoo is not installed: scripts/python-tools installs it (scripts/test runs it)"
        if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record(Comment(rawValue: why)) } else { print("skipped: \(why)") }
        return false
    }

    @Test func kazooReadsWhatCorralWroteAndCorralSeesWhatKazooChanged() async throws {
        guard Self.requireKazoo() else { return }
        try await withZooKeeper { zk in
            let hosts = zk.connectionString()
            let c = try client(hosts)
            defer { Task { await c.close() } }
            try await c.create("/interop/executor/h1-3000", data: "{\"hostname\":\"h1\"}".bytes, mode: .ephemeral, createParents: true)
            try await c.setData("/interop/executor/h1-3000", data: "{\"hostname\":\"h1\",\"port\":3000}".bytes, version: 0)
            let session = try #require(await c.currentSession)

            let read = try Self.kazoo(hosts, "read", "/interop/executor/h1-3000")
            #expect(read["data"] as? String == "{\"hostname\":\"h1\",\"port\":3000}")
            #expect(read["version"] as? Int == 1)
            #expect((read["ephemeralOwner"] as? NSNumber)?.int64Value == session.id)
            #expect(try Self.kazoo(hosts, "children", "/interop")["children"] as? [String] == ["executor"])

            // Corral's watches fire on kazoo's changes.
            let (_, _, data) = try await c.getDataWatch("/interop/executor/h1-3000")
            let (_, _, children) = try await c.getChildrenWatch("/interop/executor")
            _ = try Self.kazoo(hosts, "set", "/interop/executor/h1-3000", "changed by kazoo")
            #expect(try await firstEvent(data).get() == ZooKeeperWatchEvent(kind: .nodeDataChanged, path: "/interop/executor/h1-3000"))
            #expect(try await c.getData("/interop/executor/h1-3000").data.text == "changed by kazoo")
            let created = try Self.kazoo(hosts, "create", "/interop/executor/k-", "kazoo", "persistent-sequential")["path"] as? String
            #expect(created == "/interop/executor/k-0000000001")
            #expect(try await firstEvent(children).get() == ZooKeeperWatchEvent(kind: .nodeChildrenChanged, path: "/interop/executor"))

            // A kazoo transaction, seen by a persistent recursive watch of ours.
            let events = try await c.addWatch("/interop", recursive: true)
            _ = try Self.kazoo(hosts, "txn", "/interop/txn", "both or nothing")
            var seen: [ZooKeeperWatchEvent] = []
            for try await e in events {
                seen.append(e)
                if seen.count == 2 { break }
            }
            #expect(seen == [.init(kind: .nodeCreated, path: "/interop/txn"), .init(kind: .nodeDataChanged, path: "/interop/txn")])
            #expect(try await c.getData("/interop/txn").data.text == "both or nothing")
        }
    }
}
