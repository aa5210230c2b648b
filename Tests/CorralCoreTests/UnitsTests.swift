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
}
