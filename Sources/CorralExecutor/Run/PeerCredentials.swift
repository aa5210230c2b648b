import CorralHost
import Foundation
import NIOCore

/// Who is at the other end of a local (unix) socket, as the kernel says
/// (SO_PEERCRED), never as the client claims: the identity `corral run`
/// jobs run as. Supplementary groups and the working directory are read
/// from the peer process (/proc/<pid>/status `Groups:`, /proc/<pid>/cwd).
public struct PeerCredentials: Sendable, Equatable, Codable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]
    /// The peer process's working directory, if it could be read.
    public var cwd: String?

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32], cwd: String?) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.cwd = cwd
    }

    /// Linux's `struct ucred`, as SO_PEERCRED fills it.
    struct UCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case notLocal
        public var description: String { "the connection is not a local (unix) socket: its peer cannot be told" }
    }

    /// The credentials of `channel`'s peer, read on its event loop.
    public static func of(_ channel: any Channel, root: FileSystemRoot = FileSystemRoot()) -> EventLoopFuture<PeerCredentials> {
        // SocketOptionProvider reads the option into a value of the type
        // given: UCred has ucred's layout (three 32-bit fields, no padding).
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(Failure.notLocal)
        }
        let future: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.map { u in
            PeerCredentials(pid: u.pid, uid: u.uid, gid: u.gid, groups: groups(pid: u.pid, root: root),
                            cwd: try? FileManager.default.destinationOfSymbolicLink(atPath: root.resolve("/proc/\(u.pid)/cwd")))
        }
    }

    /// The `Groups:` line of /proc/<pid>/status.
    static func groups(pid: Int32, root: FileSystemRoot) -> [UInt32] {
        (ProcReader.statusField(process: String(pid), "Groups", root: root) ?? "")
            .split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
    }
}
