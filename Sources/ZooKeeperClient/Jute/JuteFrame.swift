import NIOCore

/// ZooKeeper's framing: an int32 big-endian length, then that many bytes.
/// A frame longer than the limit (`jute.maxbuffer`, 0xfffff by default) or
/// with a negative length is refused, as the Java client refuses it.
public enum JuteFrame {
    public static let defaultLimit = 0xFFFFF

    /// The frame of `payload`.
    public static func frame(_ payload: ByteBuffer) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(4 + payload.readableBytes)
        out.writeJuteInt(Int32(payload.readableBytes))
        out.writeImmutableBuffer(payload)
        return out
    }

    /// The next whole frame's payload in `buffer` (consumed), nil when more
    /// bytes are needed; an error for a length out of range.
    public static func next(_ buffer: inout ByteBuffer, limit: Int = defaultLimit) throws(JuteError) -> ByteBuffer? {
        guard let n = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else { return nil }
        guard n >= 0 else { throw JuteError(.negativeLength, field: "frame", "length \(n)") }
        guard Int(n) <= limit else { throw JuteError(.oversize, field: "frame", "packet length \(n) is out of range (limit \(limit))") }
        guard buffer.readableBytes >= 4 + Int(n) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(n))
    }
}
