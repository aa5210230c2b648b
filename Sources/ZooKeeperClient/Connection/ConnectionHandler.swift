import Synchronization
import Logging
import NIOCore

/// One TCP connection to one server. It writes the handshake, then gives
/// each request the next xid and keeps it in order: ZooKeeper answers in the
/// order it was asked, so a reply whose xid is not the oldest outstanding one
/// is a protocol violation and closes the connection. It pings when nothing
/// was sent for a third of the negotiated timeout and closes the connection
/// when nothing was heard for two thirds of it. Everything runs on the
/// channel's event loop.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Outbound
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var xid: Int32
        var op: OpCode
        var promise: EventLoopPromise<Reply>
        var watch: WatchRequest?
        var request: Request
    }

    private let limit: Int
    private let watches: WatchRegistry
    private let chroot: Chroot
    private let zxid: ZxidTracker
    private let logger: Logger
    private let onAuthFailed: @Sendable () -> Void

    private var handshake: EventLoopPromise<ConnectResponse>?
    private var established = false
    private var pending = CircularBuffer<Pending>()
    private var nextXid: Int32 = 1
    private var lastSend = NIODeadline.now()
    private var lastReceive = NIODeadline.now()
    private var timer: RepeatedTask?
    private var flushScheduled = false

    init(limit: Int, watches: WatchRegistry, chroot: Chroot, zxid: ZxidTracker, logger: Logger,
         onAuthFailed: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.watches = watches
        self.chroot = chroot
        self.zxid = zxid
        self.logger = logger
        self.onAuthFailed = onAuthFailed
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var frame = ByteBuffer()
        switch unwrapOutboundIn(data) {
        case .connect(let request, let answer):
            handshake = answer
            frame = JuteFrame.frame(request.encoded)
        case .request(let request):
            guard established else {
                request.promise.fail(ZooKeeperError(.connectionLoss, path: request.watch?.path, "the connection is not established"))
                promise?.succeed()
                return
            }
            let xid = nextXid
            nextXid = nextXid == Int32.max ? 1 : nextXid + 1
            pending.append(Pending(xid: xid, op: request.op, promise: request.promise, watch: request.watch, request: request))
            lastSend = .now()
            context.write(wrapOutboundOut(Self.frame(xid: xid, op: request.op, body: request.body)), promise: promise)
            // One flush for every request written in this turn of the loop:
            // pipelined callers share a syscall.
            if !flushScheduled {
                flushScheduled = true
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.flushScheduled = false
                    context.flush()
                }
            }
            return
        case .special(let xid, let op, let body):
            frame = Self.frame(xid: xid.rawValue, op: op, body: body)
        }
        lastSend = .now()
        context.write(wrapOutboundOut(frame), promise: promise)
    }

    static func frame(xid: Int32, op: OpCode, body: ByteBuffer) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(12 + body.readableBytes)
        out.writeJuteInt(Int32(8 + body.readableBytes))
        RequestHeader(xid: xid, type: op).encode(to: &out)
        out.writeImmutableBuffer(body)
        return out
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        lastReceive = .now()
        do throws(JuteError) {
            if let answer = handshake, !established {
                let response = try ConnectResponse.decode(frame, limit: limit)
                handshake = nil
                established = !response.isExpired
                if established { startTimer(context: context, timeout: response.timeout) }
                answer.succeed(response)
                return
            }
            var reader = JuteReader(frame, limit: limit)
            let header = try ReplyHeader(from: &reader)
            switch header.xid {
            case SpecialXid.notification.rawValue:
                let event = try WatcherEvent.decode(reader.buffer, limit: limit)
                guard let kind = event.eventType, kind != .none else { return }
                watches.dispatch(ZooKeeperWatchEvent(kind: kind, path: chroot.client(event.path)))
            case SpecialXid.ping.rawValue, SpecialXid.setWatches.rawValue:
                if let error = header.error { logger.warning("zookeeper: \(header.xid == SpecialXid.ping.rawValue ? "ping" : "setWatches") failed: \(error)") }
            case SpecialXid.auth.rawValue:
                if header.error != nil { onAuthFailed() }
            default:
                guard let head = pending.popFirst() else {
                    return protocolViolation(context, "a reply with xid \(header.xid) and nothing outstanding")
                }
                guard head.xid == header.xid else {
                    head.promise.fail(ZooKeeperError(.connectionLoss, path: head.watch?.path, "xid out of order"))
                    return protocolViolation(context, "xid out of order: expected \(head.xid), got \(header.xid)")
                }
                if header.zxid > 0 { zxid.observe(header.zxid) }
                if let watch = head.watch { arm(watch, error: header.error) }
                head.promise.succeed(Reply(header: header, body: reader.buffer))
            }
        } catch {
            protocolViolation(context, error.description)
        }
    }

    /// Registers the watch a reply confirms (ZooKeeper's `WatchRegistration`
    /// rules), or ends its stream when the server set none.
    private func arm(_ watch: WatchRequest, error: ZooKeeperErrorCode?) {
        switch (watch.kind, error) {
        case (.data, nil): watches.register(.data, path: watch.path, sink: watch.sink)
        case (.exists, nil): watches.register(.data, path: watch.path, sink: watch.sink)
        case (.exists, .noNode?): watches.register(.exist, path: watch.path, sink: watch.sink)
        case (.children, nil): watches.register(.child, path: watch.path, sink: watch.sink)
        default: watch.sink.finish()
        }
    }

    private func startTimer(context: ChannelHandlerContext, timeout: Int32) {
        let negotiated = Int64(timeout)
        let pingEvery = TimeAmount.milliseconds(negotiated / 3)
        let silenceLimit = TimeAmount.milliseconds(negotiated * 2 / 3)
        // Also the resolution of request deadlines.
        let tick = TimeAmount.milliseconds(min(100, max(20, negotiated / 12)))
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let selfBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            let handler = selfBound.value
            let context = loopBound.value
            let now = NIODeadline.now()
            handler.failOverdue(now)
            if now - handler.lastReceive >= silenceLimit {
                handler.logger.info("zookeeper: nothing heard from the server for \(silenceLimit.nanoseconds / 1_000_000) ms; closing the connection")
                context.close(promise: nil)
            } else if now - handler.lastSend >= pingEvery {
                handler.lastSend = now
                let frame = Self.frame(xid: SpecialXid.ping.rawValue, op: .ping, body: ByteBuffer())
                context.writeAndFlush(handler.wrapOutboundOut(frame), promise: nil)
            }
        }
    }

    /// Fails requests past their deadline (their entries stay, to match the
    /// replies that may still come).
    private func failOverdue(_ now: NIODeadline) {
        for p in pending where p.request.deadline <= now { p.promise.fail(p.request.timeoutError) }
    }

    private func protocolViolation(_ context: ChannelHandlerContext, _ what: String) {
        logger.warning("zookeeper: closing the connection: \(what)")
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("zookeeper: connection error: \(error)")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        established = false
        let loss = ZooKeeperError(.connectionLoss, "the connection to the server was lost")
        handshake?.fail(loss)
        handshake = nil
        while let p = pending.popFirst() {
            p.watch?.sink.finish()
            p.promise.fail(ZooKeeperError(.connectionLoss, path: p.watch?.path, loss.detail))
        }
        context.fireChannelInactive()
    }
}

/// The highest zxid the session has seen (sent on reconnect so a server that
/// is behind refuses the session rather than serve older data).
final class ZxidTracker: Sendable {
    private let value = Mutex<Int64>(0)

    func observe(_ zxid: Int64) { value.withLock { $0 = max($0, zxid) } }
    var last: Int64 { value.withLock { $0 } }
}
