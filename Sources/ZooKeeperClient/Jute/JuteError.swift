/// Why bytes could not be read as a jute record. Reading never traps: every
/// length is checked against what is left and against the frame limit.
public struct JuteError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The bytes end before the record does.
        case truncated
        /// A length below -1 (-1 is null).
        case negativeLength
        /// A length or count larger than the frame allows.
        case oversize
        /// A `ustring` that is not UTF-8.
        case invalidUTF8
        /// Bytes left over after a whole record.
        case trailingBytes
    }

    public var kind: Kind
    /// The record field being read, e.g. `GetDataResponse.data`.
    public var field: String
    public var detail: String

    public init(_ kind: Kind, field: String, _ detail: String) {
        self.kind = kind
        self.field = field
        self.detail = detail
    }

    public var description: String { "jute \(kind.rawValue) at \(field): \(detail)" }
}
