import Foundation

/// A time zone as log appenders take it: an IANA id (`Asia/Kolkata`), `UTC`,
/// an offset (`GMT+05:30`), or one of the short ids Java (and so Logback and
/// Drove) accepts, with Java's meaning: `IST` is India, `CST` is US Central,
/// `BST` is Bangladesh, `EST`/`MST`/`HST` are fixed offsets. Unlike Java, an
/// unknown name is an error instead of silently becoming GMT.
public struct ConfigTimeZone: Sendable, Hashable, CustomStringConvertible {
    /// What the user wrote.
    public var name: String
    /// The resolved zone identifier.
    public var identifier: String

    public static let utc = ConfigTimeZone(name: "UTC", identifier: "UTC")

    /// Java's `ZoneId.SHORT_IDS`.
    static let javaShortIDs: [String: String] = [
        "ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
        "ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo", "BST": "Asia/Dhaka",
        "CAT": "Africa/Harare", "CNT": "America/St_Johns", "CST": "America/Chicago", "CTT": "Asia/Shanghai",
        "EAT": "Africa/Addis_Ababa", "ECT": "Europe/Paris", "IET": "America/Indiana/Indianapolis",
        "IST": "Asia/Kolkata", "JST": "Asia/Tokyo", "MIT": "Pacific/Apia", "NET": "Asia/Yerevan",
        "NST": "Pacific/Auckland", "PLT": "Asia/Karachi", "PNT": "America/Phoenix", "PRT": "America/Puerto_Rico",
        "PST": "America/Los_Angeles", "SST": "Pacific/Guadalcanal", "VST": "Asia/Ho_Chi_Minh",
        "EST": "GMT-0500", "MST": "GMT-0700", "HST": "GMT-1000",
    ]

    public static let allowedText = "an IANA zone id (Asia/Kolkata, Europe/Berlin), UTC, GMT+05:30, or a short id such as IST, PST, CST, JST"

    init(name: String, identifier: String) {
        self.name = name
        self.identifier = identifier
    }

    public init?(parsing text: String) {
        let s = text.trimmingASCIIWhitespace()
        guard !s.isEmpty else { return nil }
        if let id = Self.javaShortIDs[s.uppercased()], let tz = TimeZone(identifier: id) {
            self.init(name: s, identifier: tz.identifier)
            return
        }
        if ["UTC", "GMT", "Z", "UT"].contains(s.uppercased()) {
            self.init(name: s, identifier: "UTC")
            return
        }
        // Offsets: GMT+5, GMT+05:30, UTC-08:00, +05:30.
        let offsetText = s.uppercased().hasPrefix("GMT") || s.uppercased().hasPrefix("UTC") ? String(s.dropFirst(3)) : s
        if let seconds = Self.offsetSeconds(offsetText), let tz = TimeZone(secondsFromGMT: seconds) {
            self.init(name: s, identifier: tz.identifier)
            return
        }
        // A real IANA id names a file in the zone database; require a '/' to
        // avoid Foundation's lenient acceptance of arbitrary abbreviations.
        // Only names shaped like the database's reach Foundation: a name that
        // starts with GMT but is no offset ("GMT+05:/0", found by fuzzing)
        // traps inside TimeZone(identifier:).
        let ianaCharacters = s.utf8.allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                || c == UInt8(ascii: "/") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
        }
        let upper = s.uppercased()
        guard ianaCharacters, s.count <= 64, !upper.hasPrefix("GMT"), !upper.hasPrefix("UTC") else { return nil }
        if s.contains("/"), let tz = TimeZone(identifier: s) {
            self.init(name: s, identifier: tz.identifier)
            return
        }
        return nil
    }

    static func offsetSeconds(_ s: String) -> Int? {
        guard let sign = s.first, sign == "+" || sign == "-" else { return nil }
        let body = s.dropFirst()
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        var h = 0, m = 0
        if parts.count == 2 {
            guard let hh = Int(parts[0]), let mm = Int(parts[1]) else { return nil }
            h = hh; m = mm
        } else if body.count == 4, let v = Int(body) {
            h = v / 100; m = v % 100
        } else if let v = Int(body) {
            h = v
        } else {
            return nil
        }
        guard (0...18).contains(h), (0..<60).contains(m) else { return nil }
        return (sign == "-" ? -1 : 1) * (h * 3600 + m * 60)
    }

    public var timeZone: TimeZone { TimeZone(identifier: identifier) ?? TimeZone(secondsFromGMT: 0)! }
    public var description: String { name == identifier ? name : "\(name) (\(identifier))" }
}
