import NIOCore

/// A znode's metadata, in the order ZooKeeper writes it.
public struct Stat: JuteRecord, Hashable {
    public var czxid: Int64 = 0
    public var mzxid: Int64 = 0
    public var ctime: Int64 = 0
    public var mtime: Int64 = 0
    public var version: Int32 = 0
    public var cversion: Int32 = 0
    public var aversion: Int32 = 0
    /// The owning session of an ephemeral node; 0 otherwise.
    public var ephemeralOwner: Int64 = 0
    public var dataLength: Int32 = 0
    public var numChildren: Int32 = 0
    public var pzxid: Int64 = 0

    public static let size = 68

    public init() {}

    public func encode(to b: inout ByteBuffer) {
        b.writeJuteLong(czxid); b.writeJuteLong(mzxid); b.writeJuteLong(ctime); b.writeJuteLong(mtime)
        b.writeJuteInt(version); b.writeJuteInt(cversion); b.writeJuteInt(aversion)
        b.writeJuteLong(ephemeralOwner); b.writeJuteInt(dataLength); b.writeJuteInt(numChildren); b.writeJuteLong(pzxid)
    }

    public init(from r: inout JuteReader) throws(JuteError) {
        czxid = try r.long("Stat.czxid"); mzxid = try r.long("Stat.mzxid")
        ctime = try r.long("Stat.ctime"); mtime = try r.long("Stat.mtime")
        version = try r.int("Stat.version"); cversion = try r.int("Stat.cversion"); aversion = try r.int("Stat.aversion")
        ephemeralOwner = try r.long("Stat.ephemeralOwner"); dataLength = try r.int("Stat.dataLength")
        numChildren = try r.int("Stat.numChildren"); pzxid = try r.long("Stat.pzxid")
    }
}
