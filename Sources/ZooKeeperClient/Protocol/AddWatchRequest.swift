import NIOCore

/// addWatch (ZooKeeper 3.6+): a watch that stays after it fires, on one node
/// (`persistent`) or on the node and everything below it (`persistentRecursive`).
public struct AddWatchRequest: JuteRecord, Hashable {
    public enum Mode: Int32, Sendable, CaseIterable {
        case persistent = 0, persistentRecursive = 1
    }

    public var path: String
    public var mode: Int32

    public init(path: String, mode: Mode) {
        self.path = path
        self.mode = mode.rawValue
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteString(path)
        b.writeJuteInt(mode)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        path = try r.string("AddWatchRequest.path")
        mode = try r.int("AddWatchRequest.mode")
    }
}
