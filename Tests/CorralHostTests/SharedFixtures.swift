import Foundation
import Testing

/// Finds ../shared (beside the repository) and unpacks its hwloc dumps once
/// per test run. Under CI=true a missing ../shared is a failure; elsewhere the
/// caller says it skipped.
enum SharedFixtures {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var sharedDir: URL {
        if let env = ProcessInfo.processInfo.environment["CORRAL_SHARED"] { return URL(fileURLWithPath: env) }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    struct Machine: Sendable {
        let name: String
        let root: String
        let console: String
    }

    /// Every `NAME.tar.bz2` + `NAME.console` pair, unpacked into a temp dir.
    static func hwlocMachines() throws -> [Machine]? {
        let dir = sharedDir.appendingPathComponent("fixtures/hwloc")
        guard FileManager.default.fileExists(atPath: dir.path) else {
            if isCI {
                Issue.record("CI=true but \(dir.path) is missing: the hwloc fixtures are required")
            } else {
                print("skipped: \(dir.path) not found (hwloc agreement tests need ../shared)")
            }
            return nil
        }
        return try unpackedMachines(from: dir)
    }

    nonisolated(unsafe) private static var cache: [String: [Machine]] = [:]
    private static let lock = NSLock()

    /// Every dump with its console in `dir` (hwloc's own tests/hwloc/linux, say).
    static func unpackedMachines(from dir: URL) throws -> [Machine] {
        lock.lock()
        defer { lock.unlock() }
        if let cached = cache[dir.path] { return cached }
        let all = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        let names = all.filter { $0.hasSuffix(".tar.bz2") }.map { String($0.dropLast(".tar.bz2".count)) }
            .filter { all.contains("\($0).console") }.sorted()
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("corral-hwloc-\(ProcessInfo.processInfo.processIdentifier)-\(abs(dir.path.hashValue))")
        var machines: [Machine] = []
        for name in names {
            let out = base.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["tar", "-xjf", dir.appendingPathComponent("\(name).tar.bz2").path, "-C", out.path]
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw FixtureError(message: "tar failed (\(p.terminationStatus)) on \(name).tar.bz2")
            }
            // Each tarball holds one top directory (its name can differ from the file's).
            let top = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { !$0.hasPrefix(".") }
            guard top.count == 1 else { throw FixtureError(message: "\(name): expected one top directory, got \(top)") }
            let console = try String(contentsOf: dir.appendingPathComponent("\(name).console"), encoding: .utf8)
            machines.append(Machine(name: name, root: out.appendingPathComponent(top[0]).path, console: console))
        }
        cache[dir.path] = machines
        return machines
    }

    struct FixtureError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

/// What lstopo printed for one machine: for each PU (Linux CPU), its package,
/// its core's PUs and its NUMA node. A `NUMANode (P#k)` line applies to every
/// PU below the object it is printed under.
struct LstopoConsole {
    struct PU: Equatable {
        var package: Int?
        var corePUs: Set<Int>
        /// The NUMA nodes local to it (several with memory tiers: DRAM and NVM, HBM).
        var numaNodes: Set<Int>
    }

    let pus: [Int: PU]
    /// NUMA node id -> its local memory as printed (e.g. `local=8190MiB`), in
    /// bytes, and the unit it was printed in (lstopo rounds to it).
    let nodeMemory: [Int: (bytes: UInt64, unit: UInt64)]

    init(_ text: String) {
        final class Obj {
            let type: String
            let os: Int?
            let indent: Int
            var children: [Obj] = []
            weak var parent: Obj?
            init(type: String, os: Int?, indent: Int) { self.type = type; self.os = os; self.indent = indent }
        }
        let root = Obj(type: "Root", os: nil, indent: -1)
        var stack: [Obj] = [root]
        var numaAttachments: [(node: Int, under: Obj)] = []
        var memory: [Int: (bytes: UInt64, unit: UInt64)] = [:]
        for line in text.split(separator: "\n") {
            let indent = line.prefix(while: { $0 == " " }).count
            let body = line.dropFirst(indent)
            guard let lpos = body.range(of: " L#") ?? (body.hasPrefix("Machine") ? body.range(of: " (") : nil) else { continue }
            // `NUMANode(DRAM)`, `Group0(Book)`: the base type before any subtype.
            let type = String(body[..<lpos.lowerBound].prefix { $0 != "(" })
            var os: Int? = nil
            if let p = body.range(of: "(P#") {
                os = Int(body[p.upperBound...].prefix(while: { $0.isNumber }))
            }
            while let top = stack.last, top.indent >= indent { stack.removeLast() }
            let obj = Obj(type: type, os: os, indent: indent)
            obj.parent = stack.last
            stack.last!.children.append(obj)
            stack.append(obj)
            if type == "NUMANode", let os {
                // A node behind a memory-side cache is local to the cache's own parent.
                var under = obj.parent!
                while under.type == "MemCache", let up = under.parent { under = up }
                numaAttachments.append((os, under))
                if let l = body.range(of: "local=") {
                    let value = body[l.upperBound...].prefix(while: { $0.isNumber })
                    let unit = body[l.upperBound...].dropFirst(value.count).prefix(while: { $0.isLetter })
                    let scale: UInt64 = ["KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40][String(unit)] ?? 1
                    if let v = UInt64(value) { memory[os] = (v * scale, scale) }
                }
            }
        }
        var result: [Int: PU] = [:]
        func pusBelow(_ o: Obj) -> [Obj] {
            o.type == "PU" ? [o] : o.children.flatMap(pusBelow)
        }
        for pu in pusBelow(root) {
            guard let id = pu.os else { continue }
            var package: Int? = nil
            var core: Set<Int> = [id]
            var a = pu.parent
            while let o = a {
                if o.type == "Package", package == nil { package = o.os }
                if o.type == "Core" { core = Set(pusBelow(o).compactMap(\.os)) }
                a = o.parent
            }
            result[id] = PU(package: package, corePUs: core, numaNodes: [])
        }
        for (node, under) in numaAttachments {
            for pu in pusBelow(under) { if let id = pu.os { result[id]?.numaNodes.insert(node) } }
        }
        pus = result
        nodeMemory = memory
    }
}
