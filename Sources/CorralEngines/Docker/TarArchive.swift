import Foundation

/// A POSIX tar stream of regular files, what `PUT /containers/{id}/archive`
/// takes to put files into a container. Paths over ustar's 100-byte name
/// field get a PAX `path` record. No directories are written: the engine
/// creates missing parents and existing ones keep their owner and mode.
struct TarArchive {
    private(set) var bytes: [UInt8] = []

    struct Entry {
        var path: String
        var data: Data
        var mode: Int = 0o444
    }

    init(_ entries: [Entry], mtime: Int = Int(Date().timeIntervalSince1970)) {
        for e in entries {
            let name = Array(e.path.utf8)
            if name.count > 100 {
                // "<len> path=<path>\n", where <len> counts its own digits.
                let body = " path=\(e.path)\n"
                var length = body.utf8.count + 1
                while String(length).count + body.utf8.count != length { length += 1 }
                let record = Array("\(length)\(body)".utf8)
                append(header(name: Array("././@PaxHeader".utf8), size: record.count, mode: 0o644, type: UInt8(ascii: "x"), mtime: mtime))
                append(padded(record))
            }
            append(header(name: Array(name.prefix(100)), size: e.data.count, mode: e.mode, type: UInt8(ascii: "0"), mtime: mtime))
            append(padded(Array(e.data)))
        }
        bytes += [UInt8](repeating: 0, count: 1024)
    }

    private mutating func append(_ block: [UInt8]) { bytes += block }

    /// The contents of the first entry of a tar stream when it is a regular
    /// file (what `GET /containers/{id}/archive` answers for one file); nil
    /// for anything else or a stream cut short.
    static func firstFile(in tar: [UInt8]) -> [UInt8]? {
        var offset = 0
        var size: Int?
        while offset + 512 <= tar.count {
            let h = tar[offset..<(offset + 512)]
            if h.allSatisfy({ $0 == 0 }) { return nil }
            let sizeField = h.dropFirst(124).prefix(12).prefix { $0 != 0 && $0 != 32 }
            guard let n = Int(String(decoding: sizeField, as: UTF8.self), radix: 8) else { return nil }
            let type = h[h.startIndex + 156]
            let body = offset + 512
            guard body + n <= tar.count else { return nil }
            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                // A PAX record for the next entry: read its size, if it gives one.
                let record = String(decoding: tar[body..<(body + n)], as: UTF8.self)
                size = record.split(separator: "\n").compactMap { line -> Int? in
                    guard let eq = line.firstIndex(of: "="), line[..<eq].hasSuffix(" size") else { return nil }
                    return Int(line[line.index(after: eq)...])
                }.last ?? size
            case UInt8(ascii: "0"), 0:
                let length = size ?? n
                guard body + length <= tar.count else { return nil }
                return Array(tar[body..<(body + length)])
            default:
                return nil
            }
            offset = body + (n + 511) / 512 * 512
        }
        return nil
    }

    private func padded(_ data: [UInt8]) -> [UInt8] {
        data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// A ustar header block: octal numeric fields, the checksum computed with its own field as spaces.
    private func header(name: [UInt8], size: Int, mode: Int, type: UInt8, mtime: Int) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ value: [UInt8], at offset: Int, width: Int) {
            for (i, b) in value.prefix(width).enumerated() { h[offset + i] = b }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8), at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(mode, at: 100, width: 8)
        octal(0, at: 108, width: 8)       // uid root
        octal(0, at: 116, width: 8)       // gid root
        octal(size, at: 124, width: 12)
        octal(mtime, at: 136, width: 12)
        h[156] = type
        put(Array("ustar\u{0}00".utf8), at: 257, width: 8)
        for i in 148..<156 { h[i] = UInt8(ascii: " ") }
        let sum = h.reduce(0) { $0 + Int($1) }
        octal(sum, at: 148, width: 7)   // six digits, then NUL and space
        h[154] = 0
        h[155] = UInt8(ascii: " ")
        return h
    }
}
