import NIOCore
import PropertyBased
import Testing
import ZooKeeperClient

/// The jute codec: every record reads back as written, and bytes cut short,
/// oversize or malformed are refused with an error naming the field, never a crash.
@Suite struct JuteCodecTests {
    /// Every record kind, built from drawn values.
    static func records(_ n: [Int64], _ bytes: [UInt8], _ text: String) -> [any JuteRecord] {
        func i(_ k: Int) -> Int32 { Int32(truncatingIfNeeded: n[k % n.count]) }
        var stat = Stat()
        stat.czxid = n[0]; stat.mzxid = n[1]; stat.ctime = n[2]; stat.mtime = n[3]; stat.version = i(4)
        stat.cversion = i(5); stat.aversion = i(6); stat.ephemeralOwner = n[7]; stat.dataLength = i(8)
        stat.numChildren = i(9); stat.pzxid = n[10]
        let acl = ACL(ACL.Permissions(rawValue: i(11) & 31), scheme: "digest", id: text)
        let paths = [text, "/" + text, "/a/" + text].filter { !$0.isEmpty }
        return [
            stat, acl,
            ConnectRequest(timeout: i(1), sessionID: n[2], password: bytes, lastZxidSeen: n[3]),
            ConnectResponse(timeout: i(4), sessionID: n[5], password: bytes, readOnly: n[6] & 1 == 1),
            RequestHeader(xid: i(7), type: .getData),
            ReplyHeader(xid: i(8), zxid: n[9], err: i(10)),
            WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: "/" + text),
            CreateRequest(path: "/" + text, data: bytes, acl: [acl, acl], mode: .ephemeralSequential),
            GetDataResponse(data: bytes.isEmpty ? nil : bytes, stat: stat),
            GetChildren2Response(children: paths, stat: stat),
            SetWatches(relativeZxid: n[11], dataWatches: paths, existWatches: [], childWatches: paths.reversed()),
            PathRequest(path: "/" + text, watch: n[0] & 1 == 1),
            VersionedPathRequest(path: "/" + text, version: i(3)),
            SetDataRequest(path: "/" + text, data: bytes, version: i(5)),
            AuthPacket(scheme: "digest", auth: bytes),
            MultiHeader(op: .setData), MultiHeader.end,
            PathResponse(path: "/" + text), Create2Response(path: "/" + text, stat: stat), ErrorResponse(err: i(2)),
            AddWatchRequest(path: "/" + text, mode: .persistentRecursive),
            SetWatches2(relativeZxid: n[1], dataWatches: paths, existWatches: paths, childWatches: [],
                        persistentWatches: paths.reversed(), persistentRecursiveWatches: paths),
        ]
    }

    static func roundTrip<R: JuteRecord>(_ record: R) throws {
        let bytes = record.encoded
        #expect(try R.decode(bytes) == record, "\(R.self)")
        // Every strict prefix is refused as truncated, never read as something else.
        for cut in 0..<bytes.readableBytes {
            let prefix = bytes.getSlice(at: bytes.readerIndex, length: cut)!
            // Old servers end a ConnectResponse before its readOnly byte: that prefix is whole.
            if R.self == ConnectResponse.self && cut == bytes.readableBytes - 1 {
                #expect((try? ConnectResponse.decode(prefix))?.readOnly == false)
                continue
            }
            #expect(throws: JuteError.self, "\(R.self) cut at \(cut)") { try R.decode(prefix) }
        }
        // One byte more is refused too (ConnectResponse may end before readOnly, not after it).
        var longer = bytes
        longer.writeInteger(UInt8(0))
        #expect(throws: JuteError.self) { try R.decode(longer) }
    }

    static func check(_ n: [Int64], _ bytes: [UInt8], _ text: String) throws {
        for r in records(n, bytes, text) { try roundTrip(r) }
    }

    @Test func recordsReadBackAsWrittenAndPrefixesAreRefused() async {
        await propertyCheck(count: 60, input: Gen.int64().array(of: 12), Gen.uint8().array(of: 0...40),
                            Gen.letterOrNumber.string(of: 0...16)) { n, bytes, text in
            #expect(throws: Never.self) { try Self.check(n, bytes, text) }
        }
    }

    /// The bytes the Java client sends to open a new session with a 30 s timeout.
    @Test func aNewSessionsConnectRequestIsWhatJavaSends() {
        let bytes = Array(buffer: ConnectRequest(timeout: 30_000).encoded)
        let expected: [UInt8] = [0, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [0, 0, 0x75, 0x30] + [UInt8](repeating: 0, count: 8)
            + [0, 0, 0, 16] + [UInt8](repeating: 0, count: 16) + [0]
        #expect(bytes == expected)
        #expect(bytes.count == 45)
    }

    /// Old servers end the ConnectResponse before readOnly; an expired session answers timeout 0.
    @Test func connectResponsesOfOldServersAndExpiredSessions() throws {
        var b = ByteBuffer()
        b.writeJuteInt(0); b.writeJuteInt(0); b.writeJuteLong(0); b.writeJuteBuffer([UInt8](repeating: 0, count: 16))
        let r = try ConnectResponse.decode(b)
        #expect(r.isExpired && !r.readOnly)
    }

    @Test func lengthsOutOfRangeAreRefusedBeforeAnythingIsAllocated() throws {
        func reader(_ build: (inout ByteBuffer) -> Void) -> JuteReader {
            var b = ByteBuffer()
            build(&b)
            return JuteReader(b, limit: 1024)
        }
        var r = reader { $0.writeJuteInt(-2) }
        #expect { _ = try r.buffer("f") } throws: { ($0 as? JuteError)?.kind == .negativeLength }
        r = reader { $0.writeJuteInt(2048) }
        #expect { _ = try r.buffer("f") } throws: { ($0 as? JuteError)?.kind == .oversize }
        // A count of a million strings over eight bytes: refused, not reserved.
        r = reader { $0.writeJuteInt(1000); $0.writeJuteInt(0); $0.writeJuteInt(0) }
        #expect {
            _ = try r.vector("children", minimumSize: 4) { (r: inout JuteReader) throws(JuteError) in try r.string("c") }
        } throws: { ($0 as? JuteError)?.kind == .truncated }
        r = reader { $0.writeJuteInt(3); $0.writeBytes([0xFF, 0xFE, 0x00]) }
        #expect { _ = try r.ustring("path") } throws: { ($0 as? JuteError).map { $0.kind == .invalidUTF8 && $0.field == "path" } ?? false }
        r = reader { $0.writeJuteInt(-1) }
        #expect(try r.buffer("null") == nil)
    }

    /// Frames split anywhere come back whole, in order; out-of-range lengths are refused.
    @Test func framesReassembleFromAnySplit() async {
        await propertyCheck(count: 100, input: Gen.uint8().array(of: 0...64).array(of: 1...6), Gen.int(in: 1...32)) { payloads, step in
            Self.reassemble(payloads, step: step)
        }
    }

    static func reassemble(_ payloads: [[UInt8]], step: Int) {
        var wire = ByteBuffer()
        for p in payloads { var f = JuteFrame.frame(ByteBuffer(bytes: p)); wire.writeBuffer(&f) }
        var incoming = ByteBuffer()
        var got: [[UInt8]] = []
        while wire.readableBytes > 0 {
            var chunk = wire.readSlice(length: min(step, wire.readableBytes))!
            incoming.writeBuffer(&chunk)
            while let frame = try? JuteFrame.next(&incoming) { got.append(Array(buffer: frame)) }
        }
        #expect(got == payloads)
    }

    @Test func framesOutOfRangeAreRefused() throws {
        var big = ByteBuffer()
        big.writeJuteInt(Int32(JuteFrame.defaultLimit + 1))
        #expect { _ = try JuteFrame.next(&big) } throws: { ($0 as? JuteError)?.kind == .oversize }
        var negative = ByteBuffer()
        negative.writeJuteInt(-5)
        #expect { _ = try JuteFrame.next(&negative) } throws: { ($0 as? JuteError)?.kind == .negativeLength }
        var partial = ByteBuffer()
        partial.writeJuteInt(10)
        partial.writeBytes([1, 2, 3])
        #expect(try JuteFrame.next(&partial) == nil)
        #expect(partial.readableBytes == 7, "nothing consumed until the frame is whole")
    }

    @Test func errorCodesAndOpCodesAreZooKeepers() {
        #expect(ZooKeeperErrorCode.noNode.rawValue == -101 && ZooKeeperErrorCode.sessionExpired.rawValue == -112)
        #expect(ReplyHeader(xid: 1, zxid: 0, err: -110).error == .nodeExists)
        #expect(ReplyHeader(xid: 1, zxid: 0, err: -4242).error == .unknown)
        #expect(OpCode.getChildren2.rawValue == 12 && OpCode.multi.rawValue == 14 && OpCode.addWatch.rawValue == 106)
        #expect(CreateRequest.Mode.container.opCode == .createContainer && CreateRequest.Mode.ephemeral.opCode == .create2)
    }

    /// Credentials never show in what is printed or logged of the packet.
    @Test func authPacketsHideTheirCredentials() {
        let p = AuthPacket(scheme: "digest", auth: Array("corral:s3cr3t-password".utf8))
        #expect(!"\(p)".contains("s3cr3t") && !String(reflecting: p).contains("s3cr3t"))
        #expect("\(p)".contains("digest"))
    }
}
