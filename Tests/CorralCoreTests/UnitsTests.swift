import Foundation
import CorralCore
import PropertyBased
import Testing

@Suite struct UnitsTests {
    @Test(arguments: [
        ("5m", 5_000_000), ("100MiB", 104_857_600), ("1GiB", 1_073_741_824), ("10 KB", 10_000), ("7", 7),
        ("20m", 20_000_000), ("30MB", 30_000_000), ("1gib", 1_073_741_824), ("2 gigabytes", 2_000_000_000),
        ("3 KiB", 3072), ("1b", 1), ("1TiB", 1 << 40),
    ] as [(String, UInt64)])
    func dataSizesReadAsDropwizardReadsThem(text: String, bytes: UInt64) {
        #expect(DataSize(parsing: text)?.bytes == bytes)
    }

    @Test(arguments: ["", "m", "5 zb", "-5m", "1.5GiB", "5mm", "99999999999999999999GiB"])
    func malformedSizesAreRefused(text: String) {
        #expect(DataSize(parsing: text) == nil)
    }

    @Test(arguments: [
        ("5s", 5_000_000_000), ("500ms", 500_000_000), ("2m", 120_000_000_000), ("5 seconds", 5_000_000_000),
        ("1h", 3_600_000_000_000), ("3d", 259_200_000_000_000), ("10us", 10_000), ("7ns", 7),
        ("1 minute", 60_000_000_000),
    ] as [(String, UInt64)])
    func durationsReadAsDropwizardReadsThem(text: String, ns: UInt64) {
        #expect(ConfigDuration(parsing: text)?.nanoseconds == ns)
    }

    @Test(arguments: ["5", "", "s", "5S", "1.5s", "5 fortnights", "-1s"])
    func malformedDurationsAreRefused(text: String) {
        #expect(ConfigDuration(parsing: text) == nil)
    }

    @Test func durationsPrintInTheirLargestExactUnit() {
        #expect(ConfigDuration.seconds(120).description == "2m")
        #expect(ConfigDuration.milliseconds(1500).description == "1500ms")
    }

    @Test func humanSizes() {
        #expect(DataSize.human(512) == "512 B")
        #expect(DataSize.human(1 << 30) == "1 GiB")
        #expect(DataSize.human(3 << 29) == "1.5 GiB")
    }

    @Test func everyWholeNumberWithEveryUnitParses() async {
        let units = ["", "B", "K", "KB", "KiB", "M", "MB", "MiB", "G", "GB", "GiB", "T", "TB", "TiB"]
        await propertyCheck(input: Gen.int(in: 0...100_000), Gen.int(in: 0...(units.count - 1)), Gen.bool) { n, u, space in
            let text = "\(n)\(space ? " " : "")\(units[u])"
            let parsed = DataSize(parsing: text)
            #expect(parsed != nil, "\(text)")
            if let parsed { #expect(parsed.bytes % UInt64(max(n, 1)) == 0 || n == 0) }
        }
    }

    @Test(arguments: [
        ("5min", 300_000_000_000), ("1min", 60_000_000_000), ("1h 30m", 5_400_000_000_000), ("1h30m", 5_400_000_000_000),
        ("2days", 172_800_000_000_000), ("500ms", 500_000_000), ("5s", 5_000_000_000), ("5 sec", 5_000_000_000),
        ("1w", 604_800_000_000_000), ("1M", 2_630_016_000_000_000), ("1y", 31_557_600_000_000_000),
        ("2hrs 5mins 3secs", 7_503_000_000_000), ("10us", 10_000), ("10µs", 10_000), ("7nsec", 7), ("3millis", 3_000_000),
        (" 1m ", 60_000_000_000),
    ] as [(String, UInt64)])
    func durationsReadAsDamoclesReadsThem(text: String, ns: UInt64) {
        #expect(ConfigDuration(humantime: text)?.nanoseconds == ns)
    }

    /// humantime refuses these, so damocles-worker does; so does Corral.
    @Test(arguments: ["5", "", "min", "5 fortnights", "1.5s", "-1s", "5S", "1h,30m", "5 minutes ago", "600y",
                      "99999999999999999999ns", "5 microseconds"])
    func durationsDamoclesRefusesAreRefused(text: String) {
        #expect(ConfigDuration(humantime: text) == nil)
    }

    /// Any spans, summed: what is parsed is their total, and what Corral prints reads back the same.
    @Test func humantimeSpansAddUp() async {
        let units: [(String, UInt64)] = [("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000), ("min", 60_000_000_000),
                                         ("h", 3_600_000_000_000), ("days", 86_400_000_000_000), ("w", 604_800_000_000_000)]
        // Each drawn number is one span: its count (n / units) and its unit (n % units).
        await propertyCheck(input: Gen.int(in: 0...(10_001 * units.count - 1)).array(of: 1...4), Gen.bool) { drawn, blanks in
            Self.checkHumantime(spans: drawn.map { ($0 / units.count, $0 % units.count) }, blanks: blanks, units: units)
        }
    }

    static func checkHumantime(spans: [(Int, Int)], blanks: Bool, units: [(String, UInt64)]) {
        let text = spans.map { "\($0.0)\(blanks ? " " : "")\(units[$0.1].0)" }.joined(separator: blanks ? " " : "")
        let expected = spans.reduce(UInt64(0)) { $0 + UInt64($1.0) * units[$1.1].1 }
        let parsed = ConfigDuration(humantime: text)
        #expect(parsed?.nanoseconds == expected, "\(text)")
        if let parsed { #expect(ConfigDuration(humantime: parsed.description) == parsed) }
    }

    /// Found by fuzzing: Foundation traps on some GMT-prefixed names; Corral refuses them first.
    @Test(arguments: ["GMT+05:/0", "GMT+5/x", "UTC/../x", "Asia/Kol kata", "Asia/Kolkata;x"])
    func zoneNamesFoundationChokesOnAreRefused(text: String) {
        #expect(ConfigTimeZone(parsing: text) == nil)
    }

    @Test func zonesStillRead() {
        #expect(ConfigTimeZone(parsing: "GMT+05:30") != nil)
        #expect(ConfigTimeZone(parsing: "Asia/Kolkata")?.identifier == "Asia/Kolkata")
        #expect(ConfigTimeZone(parsing: "America/Argentina/Buenos_Aires") != nil)
        #expect(ConfigTimeZone(parsing: "IST")?.identifier == "Asia/Kolkata")
    }

    /// Found by fuzzing: a width of 333333333 padded every line to 333 MB.
    @Test func logPatternWidthsAreCapped() {
        let p = LogPattern("%333333333m|%.999999999m", timeZone: .gmt)
        let line = p.render(.init(date: Date(timeIntervalSince1970: 0), level: .info, label: "l", message: "m", metadata: [:]))
        #expect(line.count == LogPattern.widthLimit + 2)
    }
}
