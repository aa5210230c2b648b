import PropertyBased
import Testing
@testable import ZooKeeperClient

/// Connection strings as ZooKeeper writes them, and node paths as the server
/// checks them: what is valid reads back as written, what is not is refused
/// naming the part that is wrong.
@Suite struct ConnectionStringTests {
    @Test func readsZooKeepersForms() throws {
        let s = try ZooKeeperConnectionString("zk1:2181,zk2:2182, zk3 ,[::1]:2183/drove/prod")
        #expect(s.hosts == [.init(host: "zk1", port: 2181), .init(host: "zk2", port: 2182), .init(host: "zk3", port: 2181), .init(host: "::1", port: 2183)])
        #expect(s.chroot == "/drove/prod")
        #expect(s.description == "zk1:2181,zk2:2182,zk3:2181,[::1]:2183/drove/prod")
        #expect(try ZooKeeperConnectionString("localhost:2181/").chroot == nil)
    }

    @Test(arguments: [
        ("", "it is empty; expected host:port[,host:port...][/chroot]"),
        ("zk1:2181,,zk2", "an empty host between commas"),
        ("zk1:99999", "port \"99999\" of \"zk1:99999\" is not a number from 1 to 65535"),
        ("zk1:abc", "port \"abc\" of \"zk1:abc\" is not a number from 1 to 65535"),
        (":2181", "\":2181\" has no host"),
        ("::1:2181", "\"::1:2181\": write IPv6 addresses in brackets, e.g. [::1]:2181"),
        ("[::1:2181", "\"[::1:2181\" opens [ without closing it"),
        ("zk1:2181/a//b", "chroot \"/a//b\": a path must not contain an empty component (//)"),
        ("zk1:2181/a/", "chroot \"/a/\": a path must not end with /"),
    ])
    func refusesWhatIsWrongNamingIt(input: String, reason: String) {
        #expect(throws: ZooKeeperConnectionString.ParseError(input: input, reason: reason)) { try ZooKeeperConnectionString(input) }
    }

    static let hostGen = Gen.letterOrNumber.string(of: 1...12)

    static func roundTrip(_ hosts: [String], _ ports: [Int], _ root: [String]) throws {
        let parsed = ZooKeeperConnectionString(hosts: zip(hosts, ports).map { .init(host: $0, port: $1) },
                                               chroot: root.isEmpty ? nil : "/" + root.joined(separator: "/"))
        let again = try ZooKeeperConnectionString(parsed.description)
        #expect(again == parsed)
        // The chroot maps every client path into itself and back.
        let chroot = Chroot(root: parsed.chroot)
        for path in ["/", "/x", "/x/y"] {
            let server = chroot.server(path)
            #expect(chroot.client(server) == path)
            if let r = parsed.chroot { #expect(server == r || server.hasPrefix(r + "/")) }
        }
    }

    @Test func everyWrittenStringReadsBack() async {
        await propertyCheck(count: 200, input: Self.hostGen.array(of: 1...5), Gen.int(in: 1...65535).array(of: 5),
                            Gen.letterOrNumber.string(of: 1...6).array(of: 0...3)) { hosts, ports, root in
            try Self.roundTrip(hosts, ports, root)
        }
    }

    @Test func pathRulesMatchTheServers() throws {
        for good in ["/", "/a", "/a/b-c_d.e", "/drove/executor/h1-3000", "/ü/名前"] { try ZooKeeperPath.validate(good) }
        try ZooKeeperPath.validate("/seq/", sequential: true)
        for (bad, why) in [("a", "a path must start with /"), ("/a/", "a path must not end with /"),
                           ("/a//b", "a path must not contain an empty component (//)"),
                           ("/a/../b", "relative components (. and ..) are not allowed"), ("/a/./b", "relative components (. and ..) are not allowed"),
                           ("/a\u{0}b", "the NUL character is not allowed"), ("/a\u{1}b", "control character U+1 is not allowed")] {
            #expect(throws: ZooKeeperError(.badArguments, path: bad, why)) { try ZooKeeperPath.validate(bad) }
        }
        #expect(ZooKeeperPath.parent(of: "/a/b") == "/a" && ZooKeeperPath.parent(of: "/a") == "/" && ZooKeeperPath.parent(of: "/") == nil)
    }
}
