import CorralCore
import NIOCore

/// `corral run`'s frames on a NIO pipeline: bytes to ``RunFrame``s (a bad
/// frame closes the connection with the decoder's error) and back.
struct RunFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = RunFrame

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let (frame, used) = try RunFrame.decode(ArraySlice(view)) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: used)
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }
}

struct RunFrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = RunFrame

    func encode(data: RunFrame, out: inout ByteBuffer) throws {
        out.writeBytes(data.encoded)
    }
}
