import NIOCore

/// Sent (xid -8) after reconnecting: the watches to re-arm, relative to the
/// last zxid seen, so the server fires those whose nodes changed meanwhile.
public struct SetWatches: JuteRecord, Hashable {
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]

    public init(relativeZxid: Int64, dataWatches: [String], existWatches: [String], childWatches: [String]) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteLong(relativeZxid)
        for list in [dataWatches, existWatches, childWatches] { b.writeJuteVector(list) { b, p in b.writeJuteString(p) } }
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        relativeZxid = try r.long("SetWatches.relativeZxid")
        func paths(_ f: String, _ r: inout JuteReader) throws(JuteError) -> [String] {
            try r.vector(f, minimumSize: 4) { (r: inout JuteReader) throws(JuteError) in try r.string(f + "[]") }
        }
        dataWatches = try paths("SetWatches.dataWatches", &r)
        existWatches = try paths("SetWatches.existWatches", &r)
        childWatches = try paths("SetWatches.childWatches", &r)
    }
}
