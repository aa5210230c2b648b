/// A duration written the way Dropwizard writes it (and Corral's specs):
/// a whole number, optional blanks, and a unit, case-sensitive:
///
/// | unit | meaning |
/// |---|---|
/// | `ns`, `nanosecond(s)` | nanoseconds |
/// | `us`, `microsecond(s)` | microseconds |
/// | `ms`, `millisecond(s)` | milliseconds |
/// | `s`, `second(s)` | seconds |
/// | `m`, `minute(s)` | minutes |
/// | `h`, `hour(s)` | hours |
/// | `d`, `day(s)` | days |
///
/// `"5s"`, `"500ms"`, `"2m"` and `"5 seconds"` are all valid; a bare number is not
/// (Dropwizard refuses it too: the unit is never guessed).
public struct ConfigDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
    public static func seconds(_ s: UInt64) -> ConfigDuration { ConfigDuration(nanoseconds: s * 1_000_000_000) }
    public static func milliseconds(_ ms: UInt64) -> ConfigDuration { ConfigDuration(nanoseconds: ms * 1_000_000) }

    public static func < (a: ConfigDuration, b: ConfigDuration) -> Bool { a.nanoseconds < b.nanoseconds }

    static let units: [String: UInt64] = unitTable([
        (["ns", "nanosecond", "nanoseconds"], 1),
        (["us", "microsecond", "microseconds"], 1_000),
        (["ms", "millisecond", "milliseconds"], 1_000_000),
        (["s", "second", "seconds"], 1_000_000_000),
        (["m", "minute", "minutes"], 60_000_000_000),
        (["h", "hour", "hours"], 3_600_000_000_000),
        (["d", "day", "days"], 86_400_000_000_000),
    ])

    /// Every name of each unit -> its nanoseconds.
    static func unitTable(_ rows: [([String], UInt64)]) -> [String: UInt64] {
        var u: [String: UInt64] = [:]
        for (names, f) in rows { for n in names { u[n] = f } }
        return u
    }

    public static let allowedUnitsText =
        "a whole number and a unit: ns, us, ms, s, m, h, d (or their words: seconds, minutes, ...), e.g. 500ms, 5s, 2m"

    public init?(parsing text: String) {
        let s = text.trimmingASCIIWhitespace()
        let digits = s.prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, digits.count <= 19, let count = UInt64(digits) else { return nil }
        let unit = s.dropFirst(digits.count).trimmingASCIIWhitespace()
        guard let factor = ConfigDuration.units[unit] else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        nanoseconds = product
    }

    public var duration: Duration { .nanoseconds(Int64(clamping: nanoseconds)) }
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public var description: String {
        let table: [(UInt64, String)] = [(86_400_000_000_000, "d"), (3_600_000_000_000, "h"), (60_000_000_000, "m"),
                                          (1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")]
        for (f, u) in table where nanoseconds >= f && nanoseconds % f == 0 { return "\(nanoseconds / f)\(u)" }
        return "\(nanoseconds)ns"
    }
}

extension ConfigDuration: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let v = ConfigDuration(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\"\(text)\" is not a duration")
        }
        self = v
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
