/// A size in bytes, written the way Dropwizard (and so Drove's YAML) writes
/// it: a whole number, optional blanks, and a unit. Units are case-insensitive,
/// SI prefixes are powers of 1000 and IEC prefixes powers of 1024:
///
/// | unit | bytes |
/// |---|---|
/// | (none), `B`, `byte`, `bytes` | 1 |
/// | `K`, `KB`, `kilobyte(s)` | 1000 |
/// | `KiB`, `kibibyte(s)` | 1024 |
/// | `M`, `MB`, `megabyte(s)` | 1000² |
/// | `MiB`, `mebibyte(s)` | 1024² |
/// | `G`, `GB`, `gigabyte(s)` | 1000³ |
/// | `GiB`, `gibibyte(s)` | 1024³ |
/// | `T`, `TB`, `terabyte(s)` | 1000⁴ |
/// | `TiB`, `tebibyte(s)` | 1024⁴ |
/// | `P`, `PB`, `petabyte(s)` | 1000⁵ |
/// | `PiB`, `pebibyte(s)` | 1024⁵ |
///
/// So `5m` is 5,000,000 bytes and `100MiB` is 104,857,600 bytes, exactly as Drove reads them.
public struct DataSize: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }

    public static func < (a: DataSize, b: DataSize) -> Bool { a.bytes < b.bytes }

    static let units: [String: UInt64] = {
        var u: [String: UInt64] = [:]
        let si: [(String, [String], UInt64)] = [
            ("b", ["byte", "bytes"], 1),
            ("k", ["kb", "kilobyte", "kilobytes"], 1000),
            ("m", ["mb", "megabyte", "megabytes"], 1_000_000),
            ("g", ["gb", "gigabyte", "gigabytes"], 1_000_000_000),
            ("t", ["tb", "terabyte", "terabytes"], 1_000_000_000_000),
            ("p", ["pb", "petabyte", "petabytes"], 1_000_000_000_000_000),
        ]
        for (short, long, f) in si {
            u[short] = f
            for l in long { u[l] = f }
        }
        let iec: [(String, [String], UInt64)] = [
            ("kib", ["kibibyte", "kibibytes"], 1 << 10),
            ("mib", ["mebibyte", "mebibytes"], 1 << 20),
            ("gib", ["gibibyte", "gibibytes"], 1 << 30),
            ("tib", ["tebibyte", "tebibytes"], 1 << 40),
            ("pib", ["pebibyte", "pebibytes"], 1 << 50),
        ]
        for (short, long, f) in iec {
            u[short] = f
            for l in long { u[l] = f }
        }
        return u
    }()

    public static let allowedUnitsText =
        "a whole number with an optional unit: B, K/KB, KiB, M/MB, MiB, G/GB, GiB, T/TB, TiB, P/PB, PiB (e.g. 5m, 100MiB, 1GiB)"

    /// Parses `"5m"`, `"100 MiB"`, `"1GiB"`, `"1024"`; nil when malformed or too large.
    public init?(parsing text: String) {
        let s = text.trimmingASCIIWhitespace()
        let digits = s.prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, digits.count <= 19, let count = UInt64(digits) else { return nil }
        let unit = s.dropFirst(digits.count).trimmingASCIIWhitespace().lowercased()
        let factor: UInt64
        if unit.isEmpty {
            factor = 1
        } else if let f = DataSize.units[unit] {
            factor = f
        } else {
            return nil
        }
        let (product, overflow) = count.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        bytes = product
    }

    public static func megabytes(_ n: UInt64) -> DataSize { DataSize(bytes: n * 1_000_000) }
    public static func gigabytes(_ n: UInt64) -> DataSize { DataSize(bytes: n * 1_000_000_000) }
    public static func mebibytes(_ n: UInt64) -> DataSize { DataSize(bytes: n << 20) }
    public static func gibibytes(_ n: UInt64) -> DataSize { DataSize(bytes: n << 30) }

    public var description: String { DataSize.human(bytes) }

    /// Short IEC form for people: `512 B`, `8 KiB`, `1.5 GiB`, `126 GiB`.
    public static func human(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes)
        var i = 0
        while value >= 1024 && i < units.count - 1 {
            value /= 1024
            i += 1
        }
        if i == 0 { return "\(bytes) B" }
        let rounded = (value * 10).rounded() / 10
        if rounded == rounded.rounded() { return "\(Int(rounded)) \(units[i])" }
        return "\(rounded) \(units[i])"
    }
}
