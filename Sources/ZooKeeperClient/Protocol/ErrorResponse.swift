import NIOCore

/// One operation's outcome inside a multi reply: 0 for applied, the error
/// code of the operation that failed, `runtimeInconsistency` for those rolled back.
public struct ErrorResponse: JuteRecord, Hashable {
    public var err: Int32

    public init(err: Int32) { self.err = err }

    public func encode(to b: inout ByteBuffer) { b.writeJuteInt(err) }

    public init(from r: inout JuteReader) throws(JuteError) {
        err = try r.int("ErrorResponse.err")
    }
}
