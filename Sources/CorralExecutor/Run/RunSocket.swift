import CorralCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The executor's `corral run` socket: a unix socket any local user may
/// connect to (mode 0666), each connection one job or one `corral run
/// config`, its caller known by the kernel's peer credentials. Bound before
/// the executor's group runs; ``run()`` serves it until shutdown, and on
/// shutdown the connections close (their jobs stop: nobody waits for them).
public final class RunSocket: Service, Sendable {
    public let path: String
    let server: NIOAsyncChannel<NIOAsyncChannel<RunFrame, RunFrame>, Never>
    let desk: RunDesk
    let executor: Executor
    let logger: Logger
    /// How `--cluster` jobs reach the leader, when this executor is in a cluster.
    let remote: RemoteRunControl.Link?

    /// Binds `path` (replacing a stale socket file, never another file).
    public static func bind(path: String, desk: RunDesk, executor: Executor, remote: RemoteRunControl.Link? = nil,
                            logger: Logger) async throws -> RunSocket {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RunFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(RunFrameEncoder()))
                    return try NIOAsyncChannel<RunFrame, RunFrame>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        // Anyone may connect: who they are is read off the connection, not trusted from it.
        guard chmod(path, 0o666) == 0 else {
            try? await server.channel.close()
            throw RunSocketError(message: "cannot make \(path) connectable (chmod 0666): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        let inode = stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
        return RunSocket(path: path, server: server, desk: desk, executor: executor, remote: remote, logger: logger, inode: inode)
    }

    /// The socket file's inode when bound: on the way out it is removed only
    /// if it is still this one (another executor may have taken the path since).
    let inode: UInt64

    struct RunSocketError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    init(path: String, server: NIOAsyncChannel<NIOAsyncChannel<RunFrame, RunFrame>, Never>, desk: RunDesk, executor: Executor,
         remote: RemoteRunControl.Link?, logger: Logger, inode: UInt64) {
        self.inode = inode
        self.remote = remote
        self.path = path
        self.server = server
        self.desk = desk
        self.executor = executor
        self.logger = logger
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            self.server.channel.close(promise: nil)
        }
        var st = stat()
        if stat(path, &st) == 0, UInt64(st.st_ino) == inode { unlink(path) }
    }

    func serve(_ connection: NIOAsyncChannel<RunFrame, RunFrame>) async {
        let caller: PeerCredentials
        do {
            caller = try await PeerCredentials.of(connection.channel).get()
        } catch {
            logger.warning("corral run: a connection whose peer cannot be told was closed", metadata: ["error": "\(error)"])
            try? await connection.channel.close()
            return
        }
        let channel = connection.channel
        try? await connection.executeThenClose { inbound, outbound in
            let (frames, sender) = AsyncStream.makeStream(of: RunFrame.self)
            let output = ClientOutput(frames: sender)
            let session = RunSession(caller: caller, desk: desk, executor: executor, remote: remote, output: output, logger: logger)
            await withTaskGroup(of: Void.self) { group in
                // The writer: every frame in order, then the end of our side.
                group.addTask {
                    for await frame in frames {
                        do { try await outbound.write(frame) } catch { break }
                    }
                    outbound.finish()
                    // A client that does not close after the last frame is closed on.
                    let closer = channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
                    channel.closeFuture.whenComplete { _ in closer.cancel() }
                }
                do {
                    for try await frame in inbound {
                        if let work = await session.received(frame) { group.addTask { await work(); sender.finish() } }
                    }
                } catch {
                    logger.info("corral run: connection failed", metadata: ["error": "\(error)", "pid": "\(caller.pid)"])
                }
                await session.clientGone()
                sender.finish()
            }
        }
    }
}
