/// The `corral run` wire between the client and the executor, over the
/// executor's unix socket: frames of a one-byte kind, a four-byte big-endian
/// length and the payload. The client sends one `.request` (JSON), then
/// `.signal` frames (the signal number, one byte) and `.stdin` data; the
/// executor answers with `.stdout` and `.stderr` data, `.progress` lines
/// (start attempts and waits), and ends with one `.exit` (JSON) or `.error`
/// (JSON: code and message).
public struct RunFrame: Sendable, Equatable {
    public enum Kind: UInt8, Sendable, CaseIterable {
        case request = 1, signal = 2, stdin = 3
        case stdout = 10, stderr = 11, progress = 12, exit = 13, error = 14
    }

    public var kind: Kind
    public var payload: [UInt8]

    public init(_ kind: Kind, _ payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }

    /// The largest payload either side accepts (a request's environment included).
    public static let maxPayload = 1 << 20

    public var encoded: [UInt8] {
        let n = UInt32(payload.count)
        return [kind.rawValue, UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + payload
    }

    public enum DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownKind(UInt8)
        case tooLarge(Int)
        public var description: String {
            switch self {
            case .unknownKind(let k): "frame kind \(k) is not one of corral run's"
            case .tooLarge(let n): "a frame of \(n) bytes is over the \(RunFrame.maxPayload)-byte limit"
            }
        }
    }

    /// The first whole frame of `bytes` and how many bytes it took; nil when
    /// more bytes are needed.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(DecodeError) -> (RunFrame, Int)? {
        guard bytes.count >= 5 else { return nil }
        let s = bytes.startIndex
        guard let kind = Kind(rawValue: bytes[s]) else { throw .unknownKind(bytes[s]) }
        let n = Int(bytes[s + 1]) << 24 | Int(bytes[s + 2]) << 16 | Int(bytes[s + 3]) << 8 | Int(bytes[s + 4])
        guard n <= maxPayload else { throw .tooLarge(n) }
        guard bytes.count >= 5 + n else { return nil }
        return (RunFrame(kind, Array(bytes[(s + 5)..<(s + 5 + n)])), 5 + n)
    }
}
