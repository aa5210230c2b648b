import NIOCore

/// exists, getData, getChildren and getChildren2: a path and whether to leave a watch.
public struct PathRequest: JuteRecord, Hashable {
    public var path: String
    public var watch: Bool

    public init(path: String, watch: Bool) {
        self.path = path
        self.watch = watch
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteString(path)
        b.writeJuteBool(watch)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        path = try r.string("PathRequest.path")
        watch = try r.bool("PathRequest.watch")
    }
}
