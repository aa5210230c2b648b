/// Durations as damocles-worker reads them (Rust's `humantime`, through
/// `humantime_serde`): one or more `<whole number><unit>` spans, with or
/// without blanks between them (`5min`, `1h 30m`, `1h30m`, `2days`,
/// `500ms`), summed. Units are case-sensitive:
///
/// | unit | meaning |
/// |---|---|
/// | `nanos`, `nsec`, `ns` | nanoseconds |
/// | `usec`, `us`, `µs` | microseconds |
/// | `millis`, `msec`, `ms` | milliseconds |
/// | `seconds`, `second`, `secs`, `sec`, `s` | seconds |
/// | `minutes`, `minute`, `mins`, `min`, `m` | minutes |
/// | `hours`, `hour`, `hrs`, `hr`, `h` | hours |
/// | `days`, `day`, `d` | days |
/// | `weeks`, `week`, `w` | weeks |
/// | `months`, `month`, `M` | 30.44 days (2,630,016 s) |
/// | `years`, `year`, `y` | 365.25 days (31,557,600 s) |
///
/// A bare number has no unit and is refused, as humantime refuses it; so are
/// fractions, signs and a total beyond 2⁶⁴ ns.
extension ConfigDuration {
    public enum Grammar: Sendable {
        /// Dropwizard's (Drove's YAML, Corral's specs): one number, one unit.
        case dropwizard
        /// humantime's (damocles-worker's TOML).
        case humantime
    }

    static let humantimeUnits: [String: UInt64] = unitTable([
        (["nanos", "nsec", "ns"], 1),
        (["usec", "us", "µs"], 1_000),
        (["millis", "msec", "ms"], 1_000_000),
        (["seconds", "second", "secs", "sec", "s"], 1_000_000_000),
        (["minutes", "minute", "mins", "min", "m"], 60_000_000_000),
        (["hours", "hour", "hrs", "hr", "h"], 3_600_000_000_000),
        (["days", "day", "d"], 86_400_000_000_000),
        (["weeks", "week", "w"], 604_800_000_000_000),
        (["months", "month", "M"], 2_630_016_000_000_000),
        (["years", "year", "y"], 31_557_600_000_000_000),
    ])

    public static let humantimeUnitsText =
        "spans of a whole number and a unit, summed: ns, us, ms, s/sec, m/min, h/hr, d/days, w/weeks, M/months, y/years, "
        + "e.g. 500ms, 5min, 1h 30m, 2days"

    public init?(humantime text: String) {
        var total: UInt64 = 0
        var spans = 0
        var scalars = Substring(text).unicodeScalars[...]
        func skipBlanks() { while let c = scalars.first, c == " " || c == "\t" { scalars.removeFirst() } }
        skipBlanks()
        while !scalars.isEmpty {
            var count: UInt64 = 0
            var digits = 0
            while let c = scalars.first, c.value >= 0x30, c.value <= 0x39 {
                let (times10, o1) = count.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(c.value - 0x30))
                guard !o1, !o2 else { return nil }
                count = sum
                digits += 1
                scalars.removeFirst()
            }
            guard digits > 0 else { return nil }
            skipBlanks()
            var unit = String.UnicodeScalarView()
            while let c = scalars.first, c.properties.isAlphabetic, c.isASCII || c == "µ" {
                unit.append(c)
                scalars.removeFirst()
            }
            guard let factor = Self.humantimeUnits[String(unit)] else { return nil }
            let (span, o3) = count.multipliedReportingOverflow(by: factor)
            let (sum, o4) = total.addingReportingOverflow(span)
            guard !o3, !o4 else { return nil }
            total = sum
            spans += 1
            skipBlanks()
        }
        guard spans > 0 else { return nil }
        self.init(nanoseconds: total)
    }

    /// Parses `text` in `grammar`.
    public init?(parsing text: String, grammar: Grammar) {
        switch grammar {
        case .dropwizard: self.init(parsing: text)
        case .humantime: self.init(humantime: text)
        }
    }

    public static func allowedText(_ grammar: Grammar) -> String {
        switch grammar {
        case .dropwizard: allowedUnitsText
        case .humantime: humantimeUnitsText
        }
    }
}
