import NIOCore

/// Writes jute's binary encoding into a `ByteBuffer` (the mirror of ``JuteReader``).
extension ByteBuffer {
    public mutating func writeJuteInt(_ v: Int32) { writeInteger(v, endianness: .big) }
    public mutating func writeJuteLong(_ v: Int64) { writeInteger(v, endianness: .big) }
    public mutating func writeJuteBool(_ v: Bool) { writeInteger(v ? UInt8(1) : UInt8(0)) }

    /// A `buffer`: the length and the bytes, or -1 for nil.
    public mutating func writeJuteBuffer(_ bytes: [UInt8]?) {
        guard let bytes else { writeJuteInt(-1); return }
        writeJuteInt(Int32(bytes.count))
        writeBytes(bytes)
    }

    /// A `ustring`: its UTF-8 as a buffer, or -1 for nil.
    public mutating func writeJuteString(_ s: String?) {
        guard let s else { writeJuteInt(-1); return }
        writeJuteInt(Int32(s.utf8.count))
        writeString(s)
    }

    /// A `vector`: the count, then each element.
    public mutating func writeJuteVector<T>(_ items: [T], _ element: (inout ByteBuffer, T) -> Void) {
        writeJuteInt(Int32(items.count))
        for item in items { element(&self, item) }
    }
}

/// A record jute can write and read back.
public protocol JuteRecord: Sendable, Equatable {
    func encode(to buffer: inout ByteBuffer)
    init(from reader: inout JuteReader) throws(JuteError)
}

extension JuteRecord {
    /// The record alone, as bytes.
    public var encoded: ByteBuffer {
        var b = ByteBuffer()
        encode(to: &b)
        return b
    }

    /// Reads exactly one record from `buffer`: leftover bytes are an error.
    public static func decode(_ buffer: ByteBuffer, limit: Int = JuteFrame.defaultLimit) throws(JuteError) -> Self {
        var r = JuteReader(buffer, limit: limit)
        let v = try Self(from: &r)
        try r.end(String(describing: Self.self))
        return v
    }
}
