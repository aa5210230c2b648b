import CorralCore
import Foundation
import PropertyBased
import Testing

/// The stage protocol's answer scanner against Foundation's parser.
@Suite struct JSONScanTests {
    /// A JSON value from generated numbers: nested objects, arrays, strings with escapes, numbers, literals.
    static func value(_ seed: [Int], _ i: inout Int, depth: Int = 0) -> String {
        func next() -> Int { defer { i += 1 }; return seed.isEmpty ? 0 : seed[i % seed.count] }
        switch next() % (depth > 3 ? 5 : 7) {
        case 0: return "\(next() - 500)"
        case 1: return "\(Double(next()) / 7.0)"
        case 2: return ["true", "false", "null"][next() % 3]
        case 3: return "\"s\(next())\\n\\\"\\u00e9\(["", "/", "\\\\", "\\t"][next() % 4])\""
        case 4: return "\"plain \(next())\""
        case 5:
            let n = next() % 4
            return "[" + (0..<n).map { _ in value(seed, &i, depth: depth + 1) }.joined(separator: ", ") + "]"
        default:
            let n = next() % 4
            return "{" + (0..<n).map { k in "\"k\(k)\": " + value(seed, &i, depth: depth + 1) }.joined(separator: ",") + "}"
        }
    }

    static func canonical(_ v: Any) -> Data {
        try! JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed])
    }

    @Test func membersAndTheirRawValuesAgreeWithFoundation() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...999).array(of: 1...40)) { seed in
            var i = 0
            let keys = ["id", "err_msg", "output", "other"]
            let members = keys.prefix(1 + seed[0] % 4).map { "\"\($0)\": " + Self.value(seed, &i) }
            let line = "{" + members.joined(separator: ", ") + "}"
            let bytes = Array(line.utf8)
            let foundation = try! JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
            guard let scanned = JSONScan.topLevelMembers(bytes) else {
                Issue.record("refused valid JSON: \(line)")
                return
            }
            #expect(Set(scanned.keys) == Set(foundation.keys))
            for (k, r) in scanned {
                let raw = Data(bytes[r])
                let alone = try! JSONSerialization.jsonObject(with: raw, options: [.fragmentsAllowed])
                #expect(Self.canonical(alone) == Self.canonical(foundation[k]!), "\(k) in \(line)")
            }
        }
    }

    @Test func brokenLinesAreRefusedNeverCrash() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...999).array(of: 1...40), Gen.int(in: 0...200)) { seed, cut in
            var i = 0
            let line = "{\"id\": 1, \"output\": " + Self.value(seed, &i) + "}"
            let bytes = Array(line.utf8)
            // Every strict prefix is incomplete JSON.
            let prefix = Array(bytes.prefix(min(cut, bytes.count - 1)))
            #expect(JSONScan.topLevelMembers(prefix) == nil, "accepted a truncated line: \(String(decoding: prefix, as: UTF8.self))")
        }
        for bad in ["", "{", "[1]", "{\"id\" 1}", "{\"id\": 1,}", "{\"id\": tru}", "{\"a\": \"\\x\"}", "{\"a\": 1} x",
                    "{\"a\": \"\u{01}\"}", "{\"a\": -}", "{\"a\": 1.}", "{\"a\": 1e}", String(repeating: "[", count: 600)] {
            #expect(JSONScan.topLevelMembers(Array(bad.utf8)) == nil, "accepted \(bad.prefix(40))")
        }
    }

    @Test func idsAreParsedExactly() {
        #expect(JSONScan.unsigned(Array("0".utf8)) == 0)
        #expect(JSONScan.unsigned(Array("18446744073709551615".utf8)) == .max)
        #expect(JSONScan.unsigned(Array("18446744073709551616".utf8)) == nil)
        #expect(JSONScan.unsigned(Array("-1".utf8)) == nil)
        #expect(JSONScan.unsigned(Array("1.5".utf8)) == nil)
    }
}
