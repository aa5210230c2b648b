/// Splits the Docker API's multiplexed log and exec stream (used when a
/// container has no TTY): frames of an 8-byte header (stream byte 0 stdin,
/// 1 stdout, 2 stderr; three zero bytes; big-endian payload length) and the
/// payload. Chunks may cut frames anywhere; partial frames are kept.
public struct DockerStreamDemuxer: Sendable {
    public enum Stream: UInt8, Sendable { case stdin = 0, stdout = 1, stderr = 2 }

    private var pending: [UInt8] = []

    public init() {}

    /// Feeds bytes; returns every complete frame now available.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [(Stream, [UInt8])] {
        pending.append(contentsOf: bytes)
        var out: [(Stream, [UInt8])] = []
        var offset = 0
        while pending.count - offset >= 8 {
            let length = Int(pending[offset + 4]) << 24 | Int(pending[offset + 5]) << 16
                | Int(pending[offset + 6]) << 8 | Int(pending[offset + 7])
            guard pending.count - offset - 8 >= length else { break }
            let stream = Stream(rawValue: pending[offset]) ?? .stdout
            out.append((stream, Array(pending[(offset + 8)..<(offset + 8 + length)])))
            offset += 8 + length
        }
        if offset > 0 { pending.removeFirst(offset) }
        return out
    }

    /// Bytes of an unfinished frame.
    public var buffered: Int { pending.count }
}
