/// Finds the members of a top-level JSON object without building it: each
/// key with the byte range of its raw value. The stage protocol's answers
/// (`{"id":N,"err_msg":...,"output":{...}}`) go through this on every job;
/// parsing them into Foundation objects and writing `output` out again cost
/// most of the dispatcher's time.
///
/// The scan checks the structure (balanced objects and arrays, closed
/// strings with valid escapes, literals, number characters, commas and
/// colons where they belong) and that the text is UTF-8, and refuses
/// anything else with nil. Keys are
/// returned as written between their quotes, escapes undecoded.
public enum JSONScan {
    public typealias Members = [String: Range<Int>]

    public static func topLevelMembers(_ bytes: UnsafeRawBufferPointer) -> Members? {
        // JSON text is UTF-8: a line with any other bytes is refused whole.
        if !bytes.allSatisfy({ $0 < 0x80 }), String(validating: bytes, as: UTF8.self) == nil { return nil }
        var s = Scanner(bytes: bytes)
        s.skipSpace()
        guard s.eat(UInt8(ascii: "{")) else { return nil }
        var members: Members = [:]
        s.skipSpace()
        if s.eat(UInt8(ascii: "}")) { return s.atEndAfterSpace() ? members : nil }
        while true {
            s.skipSpace()
            guard let key = s.string() else { return nil }
            s.skipSpace()
            guard s.eat(UInt8(ascii: ":")) else { return nil }
            s.skipSpace()
            let start = s.i
            guard s.value(depth: 0) else { return nil }
            members[String(decoding: bytes[(key.lowerBound + 1)..<(key.upperBound - 1)], as: UTF8.self)] = start..<s.i
            s.skipSpace()
            if s.eat(UInt8(ascii: ",")) { continue }
            guard s.eat(UInt8(ascii: "}")) else { return nil }
            return s.atEndAfterSpace() ? members : nil
        }
    }

    public static func topLevelMembers(_ bytes: [UInt8]) -> Members? {
        bytes.withUnsafeBytes { topLevelMembers($0) }
    }

    /// A raw value that is a plain non-negative integer, as UInt64.
    public static func unsigned(_ raw: some Collection<UInt8>) -> UInt64? {
        guard !raw.isEmpty, raw.count <= 20 else { return nil }
        var v: UInt64 = 0
        for b in raw {
            guard b >= 48, b <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b - 48))
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }

    struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var i = 0
        static let maxDepth = 512

        var atEnd: Bool { i >= bytes.count }

        mutating func skipSpace() {
            while i < bytes.count {
                let b = bytes[i]
                guard b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D else { return }
                i += 1
            }
        }

        mutating func atEndAfterSpace() -> Bool {
            skipSpace()
            return atEnd
        }

        mutating func eat(_ b: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == b else { return false }
            i += 1
            return true
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count else { return false }
            for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return false }
            i += n
            return true
        }

        /// A string, quotes included; its range.
        mutating func string() -> Range<Int>? {
            let start = i
            guard eat(UInt8(ascii: "\"")) else { return nil }
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                switch b {
                case UInt8(ascii: "\""): return start..<i
                case UInt8(ascii: "\\"):
                    guard i < bytes.count else { return nil }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        continue
                    case UInt8(ascii: "u"):
                        guard let unit = hex4(at: i) else { return nil }
                        i += 4
                        // A surrogate must come in a high-low pair (`\uD83D\uDE00`): a lone
                        // one is no character, and the JSON readers downstream refuse it
                        // (found by fuzzing).
                        if (0xDC00...0xDFFF).contains(unit) { return nil }
                        if (0xD800...0xDBFF).contains(unit) {
                            guard i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u"),
                                  let low = hex4(at: i + 2), (0xDC00...0xDFFF).contains(low) else { return nil }
                            i += 6
                        }
                    default:
                        return nil
                    }
                case 0..<0x20:
                    return nil  // control characters must be escaped
                default:
                    continue
                }
            }
            return nil
        }

        /// The four hex digits at `at` as a UTF-16 code unit.
        func hex4(at: Int) -> UInt16? {
            guard at + 4 <= bytes.count else { return nil }
            var v: UInt16 = 0
            for k in 0..<4 {
                let b = bytes[at + k]
                guard Self.isHex(b) else { return nil }
                v = v << 4 | UInt16(b <= 57 ? b - 48 : (b | 0x20) - 87)
            }
            return v
        }

        static func isHex(_ b: UInt8) -> Bool {
            (48...57).contains(b) || (65...70).contains(b) || (97...102).contains(b)
        }

        mutating func number() -> Bool {
            let start = i
            _ = eat(UInt8(ascii: "-"))
            var digits = 0
            let first = i
            while i < bytes.count, (48...57).contains(bytes[i]) { i += 1; digits += 1 }
            guard digits > 0 else { return false }
            // No leading zeros: `012` is no JSON number (found by fuzzing).
            if digits > 1 && bytes[first] == UInt8(ascii: "0") { return false }
            if eat(UInt8(ascii: ".")) {
                var frac = 0
                while i < bytes.count, (48...57).contains(bytes[i]) { i += 1; frac += 1 }
                guard frac > 0 else { return false }
            }
            let exponent = i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E"))
            if exponent {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                var exp = 0
                while i < bytes.count, (48...57).contains(bytes[i]) { i += 1; exp += 1 }
                guard exp > 0 else { return false }
            }
            // A number must be a finite double, as Foundation's reader (used on the
            // members later) requires: `44.44e4444` is refused (found by fuzzing).
            // Only long or exponent forms can overflow; short ones are not parsed again.
            if exponent || i - start > 15 {
                guard let v = Double(String(decoding: bytes[start..<i], as: UTF8.self)), v.isFinite else { return false }
            }
            return i > start
        }

        mutating func value(depth: Int) -> Bool {
            guard depth < Self.maxDepth, i < bytes.count else { return false }
            switch bytes[i] {
            case UInt8(ascii: "\""): return string() != nil
            case UInt8(ascii: "{"):
                i += 1
                skipSpace()
                if eat(UInt8(ascii: "}")) { return true }
                while true {
                    skipSpace()
                    guard string() != nil else { return false }
                    skipSpace()
                    guard eat(UInt8(ascii: ":")) else { return false }
                    skipSpace()
                    guard value(depth: depth + 1) else { return false }
                    skipSpace()
                    if eat(UInt8(ascii: ",")) { continue }
                    return eat(UInt8(ascii: "}"))
                }
            case UInt8(ascii: "["):
                i += 1
                skipSpace()
                if eat(UInt8(ascii: "]")) { return true }
                while true {
                    skipSpace()
                    guard value(depth: depth + 1) else { return false }
                    skipSpace()
                    if eat(UInt8(ascii: ",")) { continue }
                    return eat(UInt8(ascii: "]"))
                }
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }
    }
}
