import NIOCore

/// The answer to getChildren2: the children's names and the parent's Stat.
public struct GetChildren2Response: JuteRecord, Hashable {
    public var children: [String]
    public var stat: Stat

    public init(children: [String], stat: Stat) {
        self.children = children
        self.stat = stat
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteVector(children) { b, c in b.writeJuteString(c) }
        stat.encode(to: &b)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        children = try r.vector("GetChildren2Response.children", minimumSize: 4) { (r: inout JuteReader) throws(JuteError) in
            try r.string("GetChildren2Response.children[]")
        }
        stat = try Stat(from: &r)
    }
}
