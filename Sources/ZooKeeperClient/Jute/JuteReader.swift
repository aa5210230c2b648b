import NIOCore

/// Reads jute's binary encoding (Java's `BinaryInputArchive`): big-endian
/// int32 and int64, one-byte booleans, `buffer` and `ustring` as an int32
/// length and the bytes (-1 for null), vectors as an int32 count and the
/// elements. Every length is checked before it is used.
public struct JuteReader {
    public var buffer: ByteBuffer
    /// The largest length or count accepted (ZooKeeper's `jute.maxbuffer`, 0xfffff by default).
    public let limit: Int

    public init(_ buffer: ByteBuffer, limit: Int = JuteFrame.defaultLimit) {
        self.buffer = buffer
        self.limit = limit
    }

    public var remaining: Int { buffer.readableBytes }

    public mutating func int(_ field: String) throws(JuteError) -> Int32 {
        guard let v = buffer.readInteger(endianness: .big, as: Int32.self) else {
            throw JuteError(.truncated, field: field, "4 bytes needed, \(remaining) left")
        }
        return v
    }

    public mutating func long(_ field: String) throws(JuteError) -> Int64 {
        guard let v = buffer.readInteger(endianness: .big, as: Int64.self) else {
            throw JuteError(.truncated, field: field, "8 bytes needed, \(remaining) left")
        }
        return v
    }

    public mutating func bool(_ field: String) throws(JuteError) -> Bool {
        guard let v = buffer.readInteger(as: UInt8.self) else {
            throw JuteError(.truncated, field: field, "1 byte needed, 0 left")
        }
        return v != 0
    }

    /// A length: -1 is null, anything else must fit the limit and what is left
    /// (`elementSize` bytes at least per counted element).
    mutating func length(_ field: String, elementSize: Int) throws(JuteError) -> Int? {
        let n = try int(field)
        if n == -1 { return nil }
        guard n >= 0 else { throw JuteError(.negativeLength, field: field, "length \(n)") }
        guard Int(n) <= limit else { throw JuteError(.oversize, field: field, "length \(n) over the limit \(limit)") }
        guard Int(n) * elementSize <= remaining else {
            throw JuteError(.truncated, field: field, "\(n) announced, \(remaining) bytes left")
        }
        return Int(n)
    }

    public mutating func buffer(_ field: String) throws(JuteError) -> [UInt8]? {
        guard let n = try length(field, elementSize: 1) else { return nil }
        return buffer.readBytes(length: n)
    }

    public mutating func ustring(_ field: String) throws(JuteError) -> String? {
        guard let bytes = try buffer(field) else { return nil }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw JuteError(.invalidUTF8, field: field, "\(bytes.count) bytes")
        }
        return s
    }

    /// A non-null string (ZooKeeper's paths, schemes and ids).
    public mutating func string(_ field: String) throws(JuteError) -> String {
        try ustring(field) ?? ""
    }

    /// A vector of `count` elements read by `element`; null reads as empty.
    /// Each element takes at least `minimumSize` bytes (so a huge count over a
    /// short frame is refused before anything is allocated).
    public mutating func vector<T>(_ field: String, minimumSize: Int,
                                   _ element: (inout JuteReader) throws(JuteError) -> T) throws(JuteError) -> [T] {
        guard let n = try length(field, elementSize: max(1, minimumSize)) else { return [] }
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try element(&self)) }
        return out
    }

    /// Refuses bytes left over after a whole record.
    public func end(_ record: String) throws(JuteError) {
        guard remaining == 0 else { throw JuteError(.trailingBytes, field: record, "\(remaining) bytes after the record") }
    }
}
