import NIOCore

/// SetWatches with the persistent watches too (op 105, ZooKeeper 3.6+): sent
/// instead of ``SetWatches`` when the session holds any persistent watch.
public struct SetWatches2: JuteRecord, Hashable {
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]
    public var persistentWatches: [String]
    public var persistentRecursiveWatches: [String]

    public init(relativeZxid: Int64, dataWatches: [String], existWatches: [String], childWatches: [String],
                persistentWatches: [String], persistentRecursiveWatches: [String]) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
        self.persistentWatches = persistentWatches
        self.persistentRecursiveWatches = persistentRecursiveWatches
    }

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteLong(relativeZxid)
        for list in [dataWatches, existWatches, childWatches, persistentWatches, persistentRecursiveWatches] {
            b.writeJuteVector(list) { b, p in b.writeJuteString(p) }
        }
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        relativeZxid = try r.long("SetWatches2.relativeZxid")
        func paths(_ f: String, _ r: inout JuteReader) throws(JuteError) -> [String] {
            try r.vector(f, minimumSize: 4) { (r: inout JuteReader) throws(JuteError) in try r.string(f + "[]") }
        }
        dataWatches = try paths("SetWatches2.dataWatches", &r)
        existWatches = try paths("SetWatches2.existWatches", &r)
        childWatches = try paths("SetWatches2.childWatches", &r)
        persistentWatches = try paths("SetWatches2.persistentWatches", &r)
        persistentRecursiveWatches = try paths("SetWatches2.persistentRecursiveWatches", &r)
    }
}
