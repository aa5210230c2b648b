import NIOCore

/// Cuts the byte stream into ZooKeeper frames; a length out of range closes
/// the connection with a ``JuteError`` (as the Java client does).
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let limit: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try JuteFrame.next(&buffer, limit: limit) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
