/// A set of Linux CPU ids (or NUMA node ids), stored as a bitmap.
///
/// Its text form is the kernel's list syntax, used everywhere in Corral:
/// `"0-3,8-11"`, `"5"`, `""` (empty). Parsing also accepts the kernel's strided
/// groups (`"0-15:2/4"`: in each group of 4 starting at 0, the first 2) and
/// whitespace around items. ``init(hexMask:)`` reads the older bitmap form of
/// sysfs (`"00000000,0000ffff"`).
public struct CPUSet: Sendable, Hashable {
    /// The largest id a set may hold. Linux's NR_CPUS tops out at 8192; this
    /// leaves room while keeping a typo like `0-99999999` from allocating a
    /// huge bitmap.
    public static let maxID = 65_535

    private var words: [UInt64]

    public init() { words = [] }

    public init<S: Sequence>(_ ids: S) where S.Element == Int {
        words = []
        for id in ids { insert(id) }
    }

    /// The ids `range.lowerBound...range.upperBound`.
    public init(range: ClosedRange<Int>) {
        words = []
        for id in range { insert(id) }
    }

    // MARK: Membership

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    public func contains(_ id: Int) -> Bool {
        guard id >= 0 else { return false }
        let w = id >> 6
        guard w < words.count else { return false }
        return words[w] & (1 << UInt64(id & 63)) != 0
    }

    @discardableResult
    public mutating func insert(_ id: Int) -> Bool {
        precondition(id >= 0 && id <= CPUSet.maxID, "CPU id \(id) outside 0...\(CPUSet.maxID)")
        let w = id >> 6
        if w >= words.count { words.append(contentsOf: repeatElement(0, count: w - words.count + 1)) }
        let bit: UInt64 = 1 << UInt64(id & 63)
        let had = words[w] & bit != 0
        words[w] |= bit
        return !had
    }

    @discardableResult
    public mutating func remove(_ id: Int) -> Bool {
        guard contains(id) else { return false }
        words[id >> 6] &= ~(1 << UInt64(id & 63))
        trim()
        return true
    }

    /// The lowest id, if any.
    public var first: Int? {
        for (i, w) in words.enumerated() where w != 0 {
            return i * 64 + w.trailingZeroBitCount
        }
        return nil
    }

    /// The highest id, if any.
    public var last: Int? {
        for i in words.indices.reversed() where words[i] != 0 {
            return i * 64 + 63 - words[i].leadingZeroBitCount
        }
        return nil
    }

    /// The ids in ascending order.
    public var ids: [Int] { Array(self) }

    /// The lowest `n` ids (all of them when `n >= count`).
    public func prefix(_ n: Int) -> CPUSet {
        var out = CPUSet()
        var taken = 0
        for id in self {
            if taken == n { break }
            out.insert(id)
            taken += 1
        }
        return out
    }

    // MARK: Set algebra

    public func union(_ other: CPUSet) -> CPUSet {
        var out = self
        out.formUnion(other)
        return out
    }

    public mutating func formUnion(_ other: CPUSet) {
        if other.words.count > words.count {
            words.append(contentsOf: repeatElement(0, count: other.words.count - words.count))
        }
        for i in other.words.indices { words[i] |= other.words[i] }
    }

    public func intersection(_ other: CPUSet) -> CPUSet {
        var out = CPUSet()
        let n = Swift.min(words.count, other.words.count)
        out.words = (0..<n).map { words[$0] & other.words[$0] }
        out.trim()
        return out
    }

    public func subtracting(_ other: CPUSet) -> CPUSet {
        var out = self
        out.subtract(other)
        return out
    }

    public mutating func subtract(_ other: CPUSet) {
        let n = Swift.min(words.count, other.words.count)
        for i in 0..<n { words[i] &= ~other.words[i] }
        trim()
    }

    /// `intersection(other).count` without building the intersection.
    public func intersectionCount(_ other: CPUSet) -> Int {
        let n = Swift.min(words.count, other.words.count)
        var c = 0
        for i in 0..<n { c += (words[i] & other.words[i]).nonzeroBitCount }
        return c
    }

    /// The lowest id also in `other`, without building the intersection.
    public func firstCommon(with other: CPUSet) -> Int? {
        let n = Swift.min(words.count, other.words.count)
        for i in 0..<n {
            let w = words[i] & other.words[i]
            if w != 0 { return i * 64 + w.trailingZeroBitCount }
        }
        return nil
    }

    public func isSubset(of other: CPUSet) -> Bool {
        for i in words.indices {
            let o = i < other.words.count ? other.words[i] : 0
            if words[i] & ~o != 0 { return false }
        }
        return true
    }

    public func isDisjoint(with other: CPUSet) -> Bool {
        let n = Swift.min(words.count, other.words.count)
        for i in 0..<n where words[i] & other.words[i] != 0 { return false }
        return true
    }

    private mutating func trim() {
        while let l = words.last, l == 0 { words.removeLast() }
    }

    // Equality and hashing must ignore trailing zero words.
    public static func == (a: CPUSet, b: CPUSet) -> Bool {
        let n = Swift.max(a.words.count, b.words.count)
        for i in 0..<n {
            let x = i < a.words.count ? a.words[i] : 0
            let y = i < b.words.count ? b.words[i] : 0
            if x != y { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        var n = words.count
        while n > 0 && words[n - 1] == 0 { n -= 1 }
        for i in 0..<n { hasher.combine(words[i]) }
    }
}

// MARK: - Iteration

extension CPUSet: Sequence {
    public struct Iterator: IteratorProtocol {
        let words: [UInt64]
        var index = 0
        var current: UInt64

        init(words: [UInt64]) {
            self.words = words
            current = words.first ?? 0
        }

        public mutating func next() -> Int? {
            while current == 0 {
                index += 1
                guard index < words.count else { return nil }
                current = words[index]
            }
            let bit = current.trailingZeroBitCount
            current &= current - 1
            return index * 64 + bit
        }
    }

    public func makeIterator() -> Iterator { Iterator(words: words) }

    public var underestimatedCount: Int { count }
}

extension CPUSet: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Int...) { self.init(elements) }
}

// MARK: - Kernel list syntax

/// Why a CPU list could not be read.
public struct CPUListError: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let reason: String

    public var description: String {
        "\"\(text)\" is not a CPU list: \(reason) (expected the kernel's list syntax, e.g. \"0-3,8-11\")"
    }
}

extension CPUSet {
    /// Parses the kernel's list syntax. Whitespace around items is ignored; an
    /// empty or all-blank string is the empty set.
    public init(list text: String) throws(CPUListError) {
        self.init()
        let trimmed = text.trimmingASCIIWhitespace()
        if trimmed.isEmpty { return }
        for rawItem in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let item = Substring(String(rawItem).trimmingASCIIWhitespace())
            if item.isEmpty { throw CPUListError(text: text, reason: "empty item between commas") }
            var rangePart = item
            var stride: (used: Int, group: Int)? = nil
            if let colon = item.firstIndex(of: ":") {
                rangePart = item[..<colon]
                let spec = item[item.index(after: colon)...]
                let parts = spec.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 2, let used = Int(parts[0]), let group = Int(parts[1]),
                      used > 0, group > 0, used <= group
                else { throw CPUListError(text: text, reason: "bad group \"\(spec)\" in \"\(item)\"") }
                stride = (used, group)
            }
            let bounds = rangePart.split(separator: "-", omittingEmptySubsequences: false)
            let lo: Int, hi: Int
            switch bounds.count {
            case 1:
                guard let v = Self.parseID(bounds[0]) else {
                    throw CPUListError(text: text, reason: "\"\(item)\" is not a number")
                }
                lo = v; hi = v
            case 2:
                guard let a = Self.parseID(bounds[0]), let b = Self.parseID(bounds[1]) else {
                    throw CPUListError(text: text, reason: "\"\(item)\" is not a range of numbers")
                }
                guard a <= b else { throw CPUListError(text: text, reason: "range \"\(item)\" runs backwards") }
                lo = a; hi = b
            default:
                throw CPUListError(text: text, reason: "\"\(item)\" has more than one '-'")
            }
            guard hi <= CPUSet.maxID else {
                throw CPUListError(text: text, reason: "id \(hi) is above the largest supported id \(CPUSet.maxID)")
            }
            if let s = stride {
                if bounds.count == 1 { throw CPUListError(text: text, reason: "a group needs a range in \"\(item)\"") }
                var start = lo
                while start <= hi {
                    for id in start..<Swift.min(start + s.used, hi + 1) { insert(id) }
                    start += s.group
                }
            } else {
                for id in lo...hi { insert(id) }
            }
        }
    }

    private static func parseID(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), s.count <= 9 else { return nil }
        return Int(s)
    }

    /// Parses the kernel's hexadecimal bitmap form: 32-bit groups separated by
    /// commas, most significant first (`"00000000,0000ffff"` is 0-15).
    public init(hexMask text: String) throws(CPUListError) {
        self.init()
        let groups = text.trimmingASCIIWhitespace().split(separator: ",")
        guard !groups.isEmpty else { return }
        for (n, group) in groups.reversed().enumerated() {
            guard group.count <= 8, let v = UInt32(group, radix: 16) else {
                throw CPUListError(text: text, reason: "\"\(group)\" is not a 32-bit hex group")
            }
            var bits = v
            while bits != 0 {
                let b = bits.trailingZeroBitCount
                let id = n * 32 + b
                guard id <= CPUSet.maxID else {
                    throw CPUListError(text: text, reason: "bit \(id) is above the largest supported id")
                }
                insert(id)
                bits &= bits - 1
            }
        }
    }

    /// The kernel's list syntax, canonical: ascending, runs of two or more as ranges.
    public var listString: String {
        var out = ""
        var runStart = -1
        var prev = -2
        func flush() {
            guard runStart >= 0 else { return }
            if !out.isEmpty { out += "," }
            out += runStart == prev ? "\(runStart)" : "\(runStart)-\(prev)"
        }
        for id in self {
            if id != prev + 1 {
                flush()
                runStart = id
            }
            prev = id
        }
        flush()
        return out
    }
}

extension CPUSet: CustomStringConvertible, LosslessStringConvertible {
    public var description: String { listString }

    public init?(_ description: String) {
        guard let s = try? CPUSet(list: description) else { return nil }
        self = s
    }
}

extension CPUSet: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        do {
            self = try CPUSet(list: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(listString)
    }
}

extension StringProtocol {
    /// The string without leading and trailing ASCII spaces, tabs, newlines and NULs
    /// (some sysfs dumps end files with a NUL).
    func trimmingASCIIWhitespace() -> String {
        let ws: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\0" }
        guard let start = firstIndex(where: { !ws($0) }) else { return "" }
        let end = lastIndex(where: { !ws($0) })!
        return String(self[start...end])
    }
}
