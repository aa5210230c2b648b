import CorralCore
import Foundation
import PropertyBased
import Testing

/// A client following a log through Drove's read API: whatever bytes the
/// workload wrote (split UTF-8 sequences and bytes that are not UTF-8
/// included), reads from `next` cover the file exactly once, with Corral's
/// `length`; without it (Drove's executors) the text's own count is used.
@Suite struct LogChunkPropertyTests {
    /// What the executor answers for a read (the text is decoded as UTF-8, with U+FFFD for what is not).
    static func answer(_ file: [UInt8], offset: Int, length: Int, withLength: Bool) throws -> LogChunk {
        let slice = Array(file[min(offset, file.count)..<min(offset + length, file.count)])
        var body: [String: Any] = ["data": String(decoding: slice, as: UTF8.self), "offset": offset]
        if withLength { body["length"] = slice.count }
        return try JSONDecoder().decode(LogChunk.self, from: JSONSerialization.data(withJSONObject: body))
    }

    @Test func readsFromNextCoverAnyFileExactlyOnce() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...255).array(of: 0...400), Gen.int(in: 1...64)) { bytes, readSize in
            let file = bytes.map(UInt8.init)
            var at: Int64 = 0
            var reads = 0
            while reads < 1_000, let chunk = try? Self.answer(file, offset: Int(at), length: readSize, withLength: true), !chunk.data.isEmpty {
                #expect(chunk.next > at, "every read moves on")
                at = chunk.next
                reads += 1
            }
            #expect(at == Int64(file.count), "the reads end at the file's end, not before or past it")
        }
    }

    @Test func withoutTheLengthTheTextsOwnBytesCount() throws {
        let ascii = try Self.answer(Array("hello\n".utf8), offset: 0, length: 64, withLength: false)
        #expect(ascii.next == 6)
        // Drove's answer for a byte that is not UTF-8 counts the U+FFFD it became (3 bytes);
        // Corral's executors send the bytes read, so the next read starts right.
        let file: [UInt8] = Array("0123456789".utf8) + [0x61, 0xFF, 0x62]
        let drove = try Self.answer(file, offset: 10, length: 64, withLength: false)
        let corral = try Self.answer(file, offset: 10, length: 64, withLength: true)
        #expect(drove.next == 10 + 5 && corral.next == 10 + 3)
    }
}
