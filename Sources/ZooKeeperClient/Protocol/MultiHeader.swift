import NIOCore

/// Precedes each operation of a multi (and of its reply); a header with
/// `done` set and type -1 ends the list.
public struct MultiHeader: JuteRecord, Hashable {
    public var type: Int32
    public var done: Bool
    public var err: Int32

    public init(type: Int32, done: Bool, err: Int32) {
        self.type = type
        self.done = done
        self.err = err
    }

    /// The header of one operation of a request.
    public init(op: OpCode) { self.init(type: op.rawValue, done: false, err: -1) }

    /// The end of the list.
    public static let end = MultiHeader(type: -1, done: true, err: -1)

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteInt(type)
        b.writeJuteBool(done)
        b.writeJuteInt(err)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        type = try r.int("MultiHeader.type")
        done = try r.bool("MultiHeader.done")
        err = try r.int("MultiHeader.err")
    }
}
