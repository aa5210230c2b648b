import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Real ZooKeeper servers for tests: Debian's `zookeeper` package run with
/// the installed Java on loopback ports, standalone or as an ensemble of
/// several members on this machine. Members can be stopped, killed and
/// started again on the same ports and data, as a real outage would do.
public final class ZooKeeperEnsemble: @unchecked Sendable {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public struct Member {
        public var id: Int
        public var clientPort: Int
        public var quorumPort: Int
        public var electionPort: Int
        public var directory: String
    }

    public let members: [Member]
    public let tickTime: Int
    private var processes: [Int: Process] = [:]
    private let lock = NSLock()

    /// The classpath Debian's package needs: its jars and its configuration.
    static let classpath = "/usr/share/java/*:/etc/zookeeper/conf"
    static let jar = "/usr/share/java/zookeeper.jar"

    /// Why ZooKeeper cannot run here, nil when it can.
    public static var unavailableReason: String? {
        if !FileManager.default.fileExists(atPath: jar) { return "Debian's zookeeper package is not installed (\(jar) is missing); scripts/test installs it" }
        if findJava() == nil { return "no java on PATH (the zookeeper package brings one)" }
        return nil
    }

    static func findJava() -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let p = "\(dir)/java"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Starts `size` members (1: standalone) and waits until they serve.
    /// Ensembles tick at 1 s by default, with sync and init limits that a
    /// machine loaded by the rest of the test suite can keep (a follower
    /// starved past syncLimit drops out and takes sessions' touches with it).
    /// `serverTuned`: the server JVM with its full JIT and more heap (for
    /// benchmarks; tests start faster without).
    public static func start(size: Int = 1, tickTime: Int? = nil, serverTuned: Bool = false) async throws -> ZooKeeperEnsemble {
        let tickTime = tickTime ?? (size > 1 ? 1000 : 500)
        if let reason = unavailableReason { throw Unavailable(description: reason) }
        let root = try TemporaryDirectory.make("corral-zk")
        var members: [Member] = []
        for id in 1...size {
            let dir = "\(root)/\(id)"
            try FileManager.default.createDirectory(atPath: "\(dir)/data", withIntermediateDirectories: true)
            members.append(Member(id: id, clientPort: try freePort(), quorumPort: try freePort(), electionPort: try freePort(), directory: dir))
        }
        let ensemble = ZooKeeperEnsemble(members: members, tickTime: tickTime, serverTuned: serverTuned)
        for m in members { try ensemble.writeConfig(m) }
        for m in members { try ensemble.start(m.id) }
        for m in members { try await ensemble.waitServing(m.id) }
        return ensemble
    }

    let serverTuned: Bool

    init(members: [Member], tickTime: Int, serverTuned: Bool = false) {
        self.members = members
        self.tickTime = tickTime
        self.serverTuned = serverTuned
    }

    deinit {
        for p in processes.values where p.isRunning { Glibc.kill(p.processIdentifier, SIGKILL) }
    }

    /// `127.0.0.1:p1,127.0.0.1:p2,...` plus the chroot.
    public func connectionString(chroot: String = "") -> String {
        members.map { "127.0.0.1:\($0.clientPort)" }.joined(separator: ",") + chroot
    }

    public func member(_ id: Int) -> Member { members[id - 1] }

    private func writeConfig(_ m: Member) throws {
        var cfg = """
        tickTime=\(tickTime)
        dataDir=\(m.directory)/data
        clientPort=\(m.clientPort)
        clientPortAddress=127.0.0.1
        maxClientCnxns=0
        admin.enableServer=false
        4lw.commands.whitelist=srvr,ruok,mntr,cons
        minSessionTimeout=\(2 * tickTime)
        maxSessionTimeout=60000
        extendedTypesEnabled=false

        """
        if members.count > 1 {
            cfg += "initLimit=30\nsyncLimit=10\ncnxTimeout=2000\n"
            for o in members { cfg += "server.\(o.id)=127.0.0.1:\(o.quorumPort):\(o.electionPort)\n" }
            try "\(m.id)\n".write(toFile: "\(m.directory)/data/myid", atomically: true, encoding: .utf8)
        }
        try cfg.write(toFile: "\(m.directory)/zoo.cfg", atomically: true, encoding: .utf8)
    }

    /// Starts member `id` (again, on the same ports and data).
    public func start(_ id: Int) throws {
        let m = member(id)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.findJava() ?? "/usr/bin/java")
        let jvm = serverTuned ? ["-Xms512m", "-Xmx512m", "-XX:+UseParallelGC"]
                              : ["-Xmx160m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"]
        p.arguments = jvm + ["-Dzookeeper.log.dir=\(m.directory)", "-cp", Self.classpath,
                       "org.apache.zookeeper.server.quorum.QuorumPeerMain", "\(m.directory)/zoo.cfg"]
        let log = FileHandle(forWritingAtPath: "\(m.directory)/server.log") ?? {
            FileManager.default.createFile(atPath: "\(m.directory)/server.log", contents: nil)
            return FileHandle(forWritingAtPath: "\(m.directory)/server.log")!
        }()
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        lock.withLock { processes[id] = p }
    }

    /// SIGKILL: the member vanishes mid-flight (no goodbye to clients).
    public func kill(_ id: Int) {
        guard let p = lock.withLock({ processes.removeValue(forKey: id) }) else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// SIGTERM and wait.
    public func stop(_ id: Int) {
        guard let p = lock.withLock({ processes.removeValue(forKey: id) }) else { return }
        p.terminate()
        p.waitUntilExit()
    }

    public func stopAll() { for m in members { kill(m.id) } }

    /// The answer to a four-letter command, "" when the member does not answer.
    public func fourLetter(_ command: String, member id: Int) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(member(id).clientPort).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return "" }
        _ = command.withCString { send(fd, $0, strlen($0), 0) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The member's mode (`standalone`, `leader`, `follower`), nil when not serving.
    public func mode(_ id: Int) -> String? {
        let answer = fourLetter("srvr", member: id)
        guard let line = answer.split(separator: "\n").first(where: { $0.hasPrefix("Mode: ") }) else { return nil }
        return String(line.dropFirst(6))
    }

    /// Waits until member `id` serves clients.
    public func waitServing(_ id: Int, seconds: Double = 60) async throws {
        if await eventually(seconds: seconds, every: .milliseconds(100), { mode(id) != nil }) { return }
        let log = (try? String(contentsOfFile: "\(member(id).directory)/server.log", encoding: .utf8)) ?? ""
        throw Unavailable(description: "ZooKeeper member \(id) did not serve within \(seconds) s; its log ends:\n" + log.split(separator: "\n").suffix(15).joined(separator: "\n"))
    }

    /// A loopback port nothing listens on now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 ? getsockname(fd, sa, &len) : -1
            }
        }
        guard rc == 0 else { throw Unavailable(description: "no free loopback port: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
