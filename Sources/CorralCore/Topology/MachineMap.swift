import Foundation

/// Who holds a CPU or a GPU, for the picture of the machine.
public enum MapOwner: Sendable, Hashable, Comparable {
    case os
    case processor(String)   // a processor pool: "pc1#0"
    case instance(String)    // a running instance id
    case free
    case unavailable         // offline or not offered

    public var label: String {
        switch self {
        case .os: "OS-reserved"
        case .processor(let n): "processor \(n)"
        case .instance(let id): "instance \(id)"
        case .free: "free"
        case .unavailable: "not offered"
        }
    }

    var order: Int {
        switch self {
        case .os: 0
        case .processor: 1
        case .instance: 2
        case .free: 3
        case .unavailable: 4
        }
    }

    public static func < (a: MapOwner, b: MapOwner) -> Bool { (a.order, a.label) < (b.order, b.label) }
}

/// `corral map`: the node drawn as SVG: packages, NUMA nodes with their
/// memory, L3 groups, cores and their threads, GPUs; every CPU and GPU
/// filled with its owner's colour, with a legend.
public struct MachineMap: Sendable {
    public var topology: Topology
    public var title: String
    public var cpuOwners: [Int: MapOwner]
    public var gpuOwners: [Int: MapOwner]

    public init(topology: Topology, title: String, cpuOwners: [Int: MapOwner], gpuOwners: [Int: MapOwner] = [:]) {
        self.topology = topology
        self.title = title
        self.cpuOwners = cpuOwners
        self.gpuOwners = gpuOwners
    }

    /// Owners of a machine: OS cores, pools (each processor's cpuset and GPU),
    /// instances (CPUs and GPUs of their allocations); offered CPUs left are
    /// free, the rest not offered. Later owners do not overwrite earlier ones
    /// except `free`.
    public static func owners(topology: Topology, offered: CPUSet, osCores: CPUSet, processors: [ProcessorEntry],
                              instances: [(id: String, cpus: CPUSet, gpus: [Int])]) -> ([Int: MapOwner], [Int: MapOwner]) {
        var cpu: [Int: MapOwner] = [:]
        var gpu: [Int: MapOwner] = [:]
        for c in topology.cpus { cpu[c.id] = offered.contains(c.id) && c.usable ? .free : .unavailable }
        for id in osCores { cpu[id] = .os }
        for g in topology.gpus { gpu[g.index] = .free }
        for p in processors {
            for id in p.cpuset ?? [] where cpu[id] == .free || cpu[id] == .unavailable { cpu[id] = .processor(p.name) }
            for g in p.gpus where gpu[g] == .free { gpu[g] = .processor(p.name) }
        }
        for i in instances {
            for id in i.cpus where cpu[id] == .free || cpu[id] == .unavailable { cpu[id] = .instance(i.id) }
            for g in i.gpus where gpu[g] == .free { gpu[g] = .instance(i.id) }
        }
        return (cpu, gpu)
    }

    // MARK: Colours

    static let poolPalette = ["#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#006d5b", "#4a6fe3", "#7fb800", "#0b3c8c",
                              "#3cb3a1", "#6b4fbb", "#5f9e2f", "#2b8cbe"]
    static let instancePalette = ["#ff7f0e", "#d62728", "#e377c2", "#bc5a00", "#f2b701", "#8c564b", "#ff4f79",
                                  "#c44601", "#e8a33d", "#a6243f", "#ff9f6b", "#b8860b"]

    /// The colour of every owner on the map (what the legend shows).
    public var colours: [MapOwner: String] {
        let all = Set(cpuOwners.values).union(gpuOwners.values).sorted()
        var out: [MapOwner: String] = [:]
        var pools = 0, instances = 0
        for o in all {
            switch o {
            case .os: out[o] = "#7f7f7f"
            case .free: out[o] = "#ffffff"
            case .unavailable: out[o] = "#e6e6e6"
            case .processor:
                out[o] = Self.poolPalette[pools % Self.poolPalette.count]
                pools += 1
            case .instance:
                out[o] = Self.instancePalette[instances % Self.instancePalette.count]
                instances += 1
            }
        }
        return out
    }

    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Black or white text, whichever reads on `fill`.
    static func ink(_ fill: String) -> String {
        let hex = fill.dropFirst()
        guard hex.count == 6, let v = Int(hex, radix: 16) else { return "#000" }
        let (r, g, b) = (Double((v >> 16) & 255), Double((v >> 8) & 255), Double(v & 255))
        return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#111" : "#fff"
    }

    // MARK: Drawing

    public func svg() -> String {
        let colours = self.colours
        let width = 1000
        let margin = 16
        let coreW = 30, threadH = 16
        let threads = max(1, topology.cores.map { $0.cpus.count }.max() ?? 1)
        let coreH = threadH * threads
        var body = ""
        var y = 48
        let cores = topology.cores
        let memory = Dictionary(uniqueKeysWithValues: topology.numaNodes.map { ($0.id, $0.memoryBytes) })

        /// L3 groups of `set` flowed in rows from `left`; advances y.
        func drawGroups(_ set: [Core], left: Int) -> String {
            var out = ""
            var groups: [Int: [Core]] = [:]
            for c in set { groups[c.l3 ?? -1, default: []].append(c) }
            var x = left
            var rowH = 0
            for key in groups.keys.sorted(by: { groups[$0]!.map(\.index).min()! < groups[$1]!.map(\.index).min()! }) {
                let g = groups[key]!.sorted { $0.index < $1.index }
                let gw = g.count * (coreW + 2) + 6
                if x + gw > width - left, x > left {
                    x = left
                    y += rowH + 8
                    rowH = 0
                }
                out += "<rect class=\"l3\" x=\"\(x)\" y=\"\(y)\" width=\"\(gw)\" height=\"\(coreH + 8)\" rx=\"4\" fill=\"#f4f4f8\" stroke=\"#9aa0b4\"/>\n"
                var cx = x + 4
                for core in g {
                    for (t, cpu) in core.cpus.enumerated() {
                        let owner = cpuOwners[cpu] ?? .unavailable
                        let fill = colours[owner] ?? "#e6e6e6"
                        let ty = y + 4 + t * threadH
                        out += "<rect class=\"cpu\" data-cpu=\"\(cpu)\" data-owner=\"\(Self.escape(owner.label))\" x=\"\(cx)\" y=\"\(ty)\" "
                            + "width=\"\(coreW)\" height=\"\(threadH)\" fill=\"\(fill)\" stroke=\"#555\" stroke-width=\"0.6\">"
                            + "<title>CPU \(cpu): \(Self.escape(owner.label))</title></rect>\n"
                        out += "<text x=\"\(cx + coreW / 2)\" y=\"\(ty + threadH - 4)\" font-size=\"10\" text-anchor=\"middle\" "
                            + "fill=\"\(Self.ink(fill))\">\(cpu)</text>\n"
                    }
                    cx += coreW + 2
                }
                x += gw + 8
                rowH = max(rowH, coreH + 8)
            }
            y += rowH + 10
            return out
        }

        /// GPUs in a row from `left`; advances y.
        func drawGPUs(_ gpus: [GPU], left: Int) -> String {
            guard !gpus.isEmpty else { return "" }
            var out = ""
            var gx = left
            for g in gpus {
                if gx + 170 > width - left, gx > left {
                    gx = left
                    y += 34
                }
                let owner = gpuOwners[g.index] ?? .free
                let fill = colours[owner] ?? "#ffffff"
                out += "<rect class=\"gpu\" data-gpu=\"\(g.index)\" data-owner=\"\(Self.escape(owner.label))\" x=\"\(gx)\" y=\"\(y)\" "
                    + "width=\"170\" height=\"26\" rx=\"3\" fill=\"\(fill)\" stroke=\"#333\"><title>GPU \(g.index): \(Self.escape(owner.label))</title></rect>\n"
                out += "<text x=\"\(gx + 8)\" y=\"\(y + 17)\" font-size=\"12\" fill=\"\(Self.ink(fill))\">GPU \(g.index) · \(Self.escape(g.pciBus))</text>\n"
                gx += 180
            }
            y += 36
            return out
        }

        /// A labelled box around what `content` draws (drawn first, so it sits
        /// behind); `inset` 1 is an outer box, 2 one inside it.
        func box(_ cls: String, _ label: String, inset: Int, fill: String, stroke: String, _ content: () -> String) -> String {
            let outer = inset == 1
            let top = y
            y += outer ? 28 : 24
            let inner = content()
            let x = margin * inset
            let rect = "<rect class=\"\(cls)\" x=\"\(x)\" y=\"\(top)\" width=\"\(width - x * 2)\" height=\"\(y - top)\" rx=\"\(outer ? 8 : 6)\" "
                + "fill=\"\(fill)\" stroke=\"\(stroke)\" stroke-width=\"\(outer ? 1.5 : 1)\"/>\n"
                + "<text x=\"\(x + 10)\" y=\"\(top + (outer ? 19 : 17))\" font-size=\"\(outer ? 15 : 13)\" font-weight=\"bold\" fill=\"#112\">\(Self.escape(label))</text>\n"
            y += outer ? 14 : 10
            return rect + inner
        }

        /// A NUMA node's or a package's box.
        func level(node: Bool, _ id: Int, inset: Int, _ content: () -> String) -> String {
            node ? box("numa", id >= 0 ? "NUMA node \(id) · " + (memory[id].map { DataSize.human($0) } ?? "?") : "no NUMA node",
                       inset: inset, fill: "#fbfbfd", stroke: "#6a7a9a", content)
                 : box("package", id >= 0 ? "Package \(id)" : "Package", inset: inset, fill: "none", stroke: "#333", content)
        }
        func nodeOf(_ c: Core) -> Int { c.numaNode ?? -1 }
        func packageOf(_ c: Core) -> Int { c.package ?? -1 }
        func gpus(on node: Int) -> [GPU] { topology.gpus.filter { ($0.numaNode ?? -1) == node } }

        let nodeIDs = Set(cores.map(nodeOf))
        // Packages hold their NUMA nodes, unless a node spans packages (then the
        // node holds them). A node's GPUs go inside the node's box.
        let byPackage = nodeIDs.allSatisfy { n in Set(cores.filter { nodeOf($0) == n }.map(packageOf)).count <= 1 }
        let (outerOf, innerOf) = byPackage ? (packageOf, nodeOf) : (nodeOf, packageOf)
        for o in Set(cores.map(outerOf)).sorted() {
            let oc = cores.filter { outerOf($0) == o }
            body += level(node: !byPackage, o, inset: 1) {
                var inner = ""
                for i in Set(oc.map(innerOf)).sorted() {
                    inner += level(node: byPackage, i, inset: 2) {
                        drawGroups(oc.filter { innerOf($0) == i }, left: margin * 3)
                            + (byPackage ? drawGPUs(gpus(on: i), left: margin * 3) : "")
                    }
                }
                return inner + (byPackage ? "" : drawGPUs(gpus(on: o), left: margin * 2))
            }
        }
        // GPUs whose NUMA node is unknown or has no CPUs.
        let orphans = topology.gpus.filter { !nodeIDs.contains($0.numaNode ?? -1) }
        if !orphans.isEmpty {
            body += box("gpus", "GPUs outside the NUMA nodes above", inset: 1, fill: "none", stroke: "#333") {
                drawGPUs(orphans, left: margin * 2)
            }
        }
        // Legend: every owner with its colour and what it holds.
        var legend = ""
        let counts = Dictionary(grouping: cpuOwners.keys, by: { cpuOwners[$0]! }).mapValues(\.count)
        let gpuCounts = Dictionary(grouping: gpuOwners.keys, by: { gpuOwners[$0]! }).mapValues(\.count)
        var lx = margin, ly = y + 8
        legend += "<text x=\"\(margin)\" y=\"\(ly)\" font-size=\"14\" font-weight=\"bold\">Legend</text>\n"
        ly += 10
        for owner in colours.keys.sorted() {
            let what = [counts[owner].map { "\($0) CPU" + ($0 == 1 ? "" : "s") }, gpuCounts[owner].map { "\($0) GPU" + ($0 == 1 ? "" : "s") }]
                .compactMap { $0 }.joined(separator: ", ")
            let text = "\(owner.label) (\(what))"
            let w = 34 + text.count * 7
            if lx + w > width - margin {
                lx = margin
                ly += 24
            }
            legend += "<g class=\"legend\" data-owner=\"\(Self.escape(owner.label))\"><rect x=\"\(lx)\" y=\"\(ly)\" width=\"22\" height=\"16\" fill=\"\(colours[owner]!)\" stroke=\"#555\"/>"
                + "<text x=\"\(lx + 28)\" y=\"\(ly + 13)\" font-size=\"12\">\(Self.escape(text))</text></g>\n"
            lx += w + 12
        }
        let height = ly + 34
        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="#ffffff"/>
        <text x="\(margin)" y="28" font-size="18" font-weight="bold" fill="#111">\(Self.escape(title))</text>
        \(body)\(legend)</svg>

        """
    }

    /// The SVG in a page of its own.
    public func html() -> String { Self.page(svg: svg()) }

    public static func page(svg: String) -> String {
        """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>Corral machine map</title>
        <style>body{margin:0;background:#fff}</style></head>
        <body>
        \(svg)</body></html>

        """
    }
}
