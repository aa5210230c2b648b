import CorralTestSupport
import Foundation
import Testing
import ZooKeeperClient

/// Every operation against a real ZooKeeper server, including the errors it
/// answers with, the chroot, watches and pipelining.
@Suite(.serialized) struct OperationsTests {
    @Test func createReadUpdateDeleteWithVersions() async throws {
        try await withZooKeeper { zk in
            let c = try client(zk.connectionString())
            defer { Task { await c.close() } }
            let (path, stat) = try await c.create("/a", data: "one".bytes)
            #expect(path == "/a")
            #expect(stat.version == 0 && stat.dataLength == 3 && stat.ephemeralOwner == 0)
            let read = try await c.getData("/a")
            #expect(read.data.text == "one" && read.stat == stat)

            let s1 = try await c.setData("/a", data: "two".bytes, version: 0)
            #expect(s1.version == 1)
            await #expect(throws: ZooKeeperError(.badVersion, path: "/a")) {
                try await c.setData("/a", data: "three".bytes, version: 0)
            }
            await #expect(throws: ZooKeeperError(.nodeExists, path: "/a")) { try await c.create("/a") }
            await #expect(throws: ZooKeeperError(.noNode, path: "/missing/child")) { try await c.create("/missing/child") }
            await #expect(throws: ZooKeeperError(.noNode, path: "/nope")) { try await c.getData("/nope") }
            #expect(try await c.exists("/nope") == nil)
            #expect(try await c.exists("/a")?.version == 1)

            try await c.create("/a/b")
            await #expect(throws: ZooKeeperError(.notEmpty, path: "/a")) { try await c.delete("/a") }
            await #expect(throws: ZooKeeperError(.badVersion, path: "/a/b")) { try await c.delete("/a/b", version: 7) }
            try await c.delete("/a/b", version: 0)
            try await c.delete("/a")
            #expect(try await c.exists("/a") == nil)
        }
    }

    @Test func modesSequencesChildrenAndParents() async throws {
        try await withZooKeeper { zk in
            let c = try client(zk.connectionString())
            defer { Task { await c.close() } }
            try await c.create("/seq")
            let first = try await c.create("/seq/n-", mode: .persistentSequential).path
            let second = try await c.create("/seq/n-", mode: .ephemeralSequential).path
            #expect(first == "/seq/n-0000000000" && second == "/seq/n-0000000001")
            let eph = try await c.create("/seq/e", mode: .ephemeral).stat
            #expect(eph.ephemeralOwner == (await c.currentSession)?.id)
            let (children, stat) = try await c.getChildren("/seq")
            #expect(Set(children) == ["n-0000000000", "n-0000000001", "e"] && stat.numChildren == 3)
            await #expect(throws: ZooKeeperError(.noChildrenForEphemerals, path: "/seq/e/x")) { try await c.create("/seq/e/x") }

            // Parents created as containers, as Curator's creatingParentContainersIfNeeded.
            try await c.create("/deep/er/node", data: "x".bytes, createParents: true)
            #expect(try await c.getData("/deep/er/node").data.text == "x")
            try await c.ensurePath("/deep/er")
            try await c.ensurePath("/other/path")
            #expect(try await c.exists("/other/path") != nil)

            // Bad paths are refused before anything is sent, naming the path.
            await #expect(throws: ZooKeeperError(.badArguments, path: "relative", "a path must start with /")) { try await c.create("relative") }
            await #expect(throws: ZooKeeperError(.badArguments, path: "/a//b", "a path must not contain an empty component (//)")) { try await c.getData("/a//b") }
            await #expect(throws: ZooKeeperError(.badArguments, path: "/a/", "a path must not end with /")) { try await c.delete("/a/") }
            try await c.sync("/seq")
        }
    }

    @Test func transactionsApplyWhollyOrNotAtAll() async throws {
        try await withZooKeeper { zk in
            let c = try client(zk.connectionString())
            defer { Task { await c.close() } }
            let results = try await c.multi([
                .create("/t", data: "0".bytes), .create("/t/c", mode: .container), .setData("/t", data: "1".bytes, version: 0),
                .check("/t", version: 1), .create("/t/s-", mode: .persistentSequential),
            ])
            #expect(results.count == 5)
            if case .created(let p, nil) = results[0] { #expect(p == "/t") } else { Issue.record("result 0: \(results[0])") }
            if case .created(let p, let stat?) = results[1] { #expect(p == "/t/c" && stat.czxid > 0) } else { Issue.record("result 1: \(results[1])") }
            if case .dataSet(let stat) = results[2] { #expect(stat.version == 1) } else { Issue.record("result 2: \(results[2])") }
            #expect(results[3] == .checked)
            if case .created(let p, _) = results[4] { #expect(p == "/t/s-0000000001") } else { Issue.record("result 4: \(results[4])") }

            // The third operation fails: nothing of the transaction is applied.
            await #expect(throws: ZooKeeperError(.badVersion, path: "/t", "operation 3 of 3 failed; the transaction was not applied")) {
                try await c.multi([.create("/t/new"), .setData("/t", data: "2".bytes), .check("/t", version: 1)])
            }
            #expect(try await c.exists("/t/new") == nil)
            #expect(try await c.getData("/t").data.text == "1")
            try await c.multi([.delete("/t/s-0000000001"), .delete("/t/c"), .delete("/t", version: 1)])
            #expect(try await c.exists("/t") == nil)
        }
    }

    @Test func oneShotWatchesFireOnceForWhatTheyWatch() async throws {
        try await withZooKeeper { zk in
            let c = try client(zk.connectionString())
            let other = try client(zk.connectionString())
            defer { Task { await c.close(); await other.close() } }
            let (missing, created) = try await c.existsWatch("/w")
            #expect(missing == nil)
            try await other.create("/w", data: "a".bytes)
            #expect(try await firstEvent(created).get() == ZooKeeperWatchEvent(kind: .nodeCreated, path: "/w"))

            let (_, _, changed) = try await c.getDataWatch("/w")
            let (_, _, children) = try await c.getChildrenWatch("/w")
            try await other.setData("/w", data: "b".bytes)
            #expect(try await firstEvent(changed).get() == ZooKeeperWatchEvent(kind: .nodeDataChanged, path: "/w"))
            try await other.create("/w/kid")
            #expect(try await firstEvent(children).get() == ZooKeeperWatchEvent(kind: .nodeChildrenChanged, path: "/w"))

            let (_, _, deleted) = try await c.getDataWatch("/w/kid")
            try await other.delete("/w/kid")
            #expect(try await firstEvent(deleted).get() == ZooKeeperWatchEvent(kind: .nodeDeleted, path: "/w/kid"))
        }
    }

    @Test func persistentRecursiveWatchSeesEveryChangeBelow() async throws {
        try await withZooKeeper { zk in
            let c = try client(zk.connectionString())
            defer { Task { await c.close() } }
            try await c.create("/r")
            let events = try await c.addWatch("/r", recursive: true)
            try await c.create("/r/a")
            try await c.setData("/r/a", data: "x".bytes)
            try await c.create("/r/a/b")
            try await c.delete("/r/a/b")
            var seen: [ZooKeeperWatchEvent] = []
            for try await e in events {
                seen.append(e)
                if seen.count == 4 { break }
            }
            #expect(seen == [.init(kind: .nodeCreated, path: "/r/a"), .init(kind: .nodeDataChanged, path: "/r/a"),
                             .init(kind: .nodeCreated, path: "/r/a/b"), .init(kind: .nodeDeleted, path: "/r/a/b")])
        }
    }

    @Test func chrootMakesPathsRelative() async throws {
        try await withZooKeeper { zk in
            let root = try client(zk.connectionString())
            defer { Task { await root.close() } }
            try await root.create("/apps")
            let c = try client(zk.connectionString(chroot: "/apps"))
            defer { Task { await c.close() } }
            let created = try await c.create("/x-", data: "in".bytes, mode: .persistentSequential).path
            #expect(created == "/x-0000000000")
            #expect(try await root.getData("/apps/x-0000000000").data.text == "in")
            #expect(try await c.getChildren("/").children == ["x-0000000000"])
            let (_, _, watch) = try await c.getDataWatch(created)
            try await root.setData("/apps/x-0000000000", data: "out".bytes)
            #expect(try await firstEvent(watch).get() == ZooKeeperWatchEvent(kind: .nodeDataChanged, path: "/x-0000000000"))
            let result = try await c.multi([.create("/y")])
            #expect(result == [.created("/y", nil)])
        }
    }

    @Test func pipelinedRequestsAllGetTheirOwnReply() async throws {
        try await withZooKeeper { zk in
            let c = try client(zk.connectionString())
            defer { Task { await c.close() } }
            for i in 0..<32 { try await c.create("/p\(i)", data: "v\(i)".bytes) }
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for i in 0..<512 { group.addTask { (i, try await c.getData("/p\(i % 32)").data.text) } }
                var out: [Int: String] = [:]
                for try await (i, v) in group { out[i] = v }
                return out
            }
            #expect(answers.count == 512)
            #expect(answers.allSatisfy { $0.value == "v\($0.key % 32)" })
        }
    }

    /// Calls made on the client's own event loop (its task executor) get the
    /// same answers, in flight together, and watches still fire.
    @Test func callsOnTheClientsEventLoopWork() async throws {
        try await withZooKeeper { zk in
            let c = try client(zk.connectionString())
            defer { Task { await c.close() } }
            for i in 0..<16 { try await c.create("/e\(i)", data: "v\(i)".bytes) }
            try await withTaskExecutorPreference(c.taskExecutor) {
                #expect(c.taskExecutor.eventLoop.inEventLoop, "the body runs on the client's event loop")
                let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                    for i in 0..<256 { group.addTask { (i, try await c.getData("/e\(i % 16)").data.text) } }
                    var out: [Int: String] = [:]
                    for try await (i, v) in group { out[i] = v }
                    return out
                }
                #expect(answers.count == 256 && answers.allSatisfy { $0.value == "v\($0.key % 16)" })
                let (_, _, watch) = try await c.getDataWatch("/e0")
                try await c.setData("/e0", data: "changed".bytes)
                #expect(try await firstEvent(watch).get() == ZooKeeperWatchEvent(kind: .nodeDataChanged, path: "/e0"))
            }
        }
    }

    @Test func callsHaveDeadlinesWhenNoServerIsThere() async throws {
        let port = try ZooKeeperEnsemble.freePort()
        let c = try client("127.0.0.1:\(port)", requestTimeout: .milliseconds(800))
        defer { Task { await c.close() } }
        let start = ContinuousClock.now
        await #expect(throws: ZooKeeperError(.connectionLoss, path: "/x", "no ZooKeeper server answered within 0.8 seconds")) {
            try await c.getData("/x")
        }
        #expect(start.duration(to: .now) < .seconds(5))
        await c.close()
        await #expect(throws: ZooKeeperError.closed("/x")) { try await c.getData("/x") }
    }
}
