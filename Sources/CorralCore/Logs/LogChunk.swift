/// One read of a log file through Drove's log API
/// (`…/read/<file>?offset=&length=`), as a client takes it: the text and the
/// offset it starts at, and, from Corral's executors, the bytes read.
public struct LogChunk: Decodable, Sendable {
    public var data: String
    public var offset: Int64
    /// Bytes read (the text can count differently: bytes that are not UTF-8
    /// come as U+FFFD). Drove's executors do not send it.
    public var length: Int?

    /// Where the next read starts.
    public var next: Int64 { offset + Int64(length ?? data.utf8.count) }
}
