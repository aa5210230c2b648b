import CorralExecutor
import Foundation
import NIOCore
import NIOPosix
import Testing

/// The kernel's word on who connected to a unix socket: uid, gid, pid,
/// supplementary groups and working directory of the peer, read by the
/// server side of a real socket.
@Suite struct PeerCredentialsTests {
    final class Capture: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<PeerCredentials>
        init(_ promise: EventLoopPromise<PeerCredentials>) { self.promise = promise }
        func channelActive(context: ChannelHandlerContext) {
            PeerCredentials.of(context.channel).cascade(to: promise)
        }
    }

    @Test func theServerSeesTheConnectingProcess() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.sock").path
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: PeerCredentials.self)
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Capture(promise)) } }
            .bind(unixDomainSocketPath: path).get()
        defer { server.close(promise: nil) }
        let client = try await ClientBootstrap(group: group).connect(unixDomainSocketPath: path).get()
        defer { client.close(promise: nil) }
        let seen = try await promise.futureResult.get()
        #expect(seen.uid == getuid() && seen.gid == getgid() && seen.pid == getpid())
        #expect(seen.cwd == FileManager.default.currentDirectoryPath, "\(seen.cwd ?? "none")")
        var ours = [gid_t](repeating: 0, count: 64)
        let n = getgroups(64, &ours)
        #expect(Set(seen.groups) == Set(ours.prefix(Int(max(n, 0)))), "the peer's supplementary groups")
    }
}
