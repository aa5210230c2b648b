import NIOCore
import NIOPosix
import Synchronization

/// A loopback TCP relay to one target, which a test can cut (every
/// connection through it is dropped and new ones are closed at once) and
/// restore: a network partition between a client and a server that both keep
/// running.
public final class TCPProxy: Sendable {
    private struct State {
        var cut = false
        var frozen = false
        var refused = 0
        var open: [ObjectIdentifier: any Channel] = [:]
    }

    private let state = Mutex(State())
    private let listener: any Channel
    public let port: Int

    public init(targetPort: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws {
        let box = Box()
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Nothing is read from a client before its relay is glued: bytes
            // read earlier would reach the end of the pipeline and be lost.
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                guard let proxy = box.proxy, !proxy.refuseIfCut() else { return inbound.close() }
                return ClientBootstrap(group: inbound.eventLoop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connect(host: "127.0.0.1", port: targetPort)
                    .flatMap { outbound in
                        proxy.track(inbound)
                        proxy.track(outbound)
                        let (a, b) = Glue.pair(proxy)
                        return inbound.pipeline.addHandler(a).and(outbound.pipeline.addHandler(b))
                            .flatMap { _ in inbound.setOption(.autoRead, value: true) }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.listener = listener
        self.port = listener.localAddress?.port ?? 0
        box.proxy = self
    }

    /// Connections closed at once because the relay was cut.
    public var refused: Int { state.withLock { $0.refused } }

    func refuseIfCut() -> Bool {
        state.withLock { s in
            if s.cut { s.refused += 1 }
            return s.cut
        }
    }

    func track(_ channel: any Channel) {
        state.withLock { $0.open[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    /// Drops every connection and refuses new ones until ``restore()``.
    public func cut() {
        let open = state.withLock { s in
            s.cut = true
            return Array(s.open.values)
        }
        for channel in open { channel.close(promise: nil) }
    }

    /// Keeps connections open but forwards nothing (a black hole) until ``restore()``.
    public func freeze() { state.withLock { $0.frozen = true } }

    var isFrozen: Bool { state.withLock { $0.frozen } }

    public func restore() { state.withLock { $0.cut = false; $0.frozen = false } }

    public func shutdown() async {
        cut()
        try? await listener.close()
    }

    private final class Box: @unchecked Sendable {
        var proxy: TCPProxy?
    }
}

/// Copies bytes from one channel to its partner, closing both together.
private final class Glue: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: Glue?
    private var context: ChannelHandlerContext?
    private let proxy: TCPProxy

    init(_ proxy: TCPProxy) { self.proxy = proxy }

    static func pair(_ proxy: TCPProxy) -> (Glue, Glue) {
        let a = Glue(proxy), b = Glue(proxy)
        a.partner = b
        b.partner = a
        return (a, b)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private func deliver(_ data: ByteBuffer) {
        guard let context else { return }
        if context.eventLoop.inEventLoop {
            context.writeAndFlush(wrapOutboundOut(data), promise: nil)
        } else {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (glue, ctx) = bound.value
                ctx.writeAndFlush(glue.wrapOutboundOut(data), promise: nil)
            }
        }
    }

    private func closeFromPartner() {
        guard let context else { return }
        if context.eventLoop.inEventLoop { context.close(promise: nil) } else {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.execute { bound.value.close(promise: nil) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if proxy.isFrozen { return }
        partner?.deliver(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.closeFromPartner()
        context.fireChannelInactive()
    }
}
