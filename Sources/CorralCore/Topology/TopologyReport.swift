/// The JSON shape of `corral topology --json`: CPU lists in kernel syntax,
/// every field present (null when unknown).
public struct TopologyReport: Sendable, Encodable {
    public struct CPUEntry: Sendable, Encodable {
        public var id: Int
        public var package: Int?
        public var core: Int?
        public var numaNode: Int?
        public var l3: Int?
        public var siblings: String
        public var online: Bool
        public var allowed: Bool

        enum CodingKeys: String, CodingKey { case id, package, core, numaNode, l3, siblings, online, allowed }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(package, forKey: .package)
            try c.encode(core, forKey: .core)
            try c.encode(numaNode, forKey: .numaNode)
            try c.encode(l3, forKey: .l3)
            try c.encode(siblings, forKey: .siblings)
            try c.encode(online, forKey: .online)
            try c.encode(allowed, forKey: .allowed)
        }
    }

    public struct NodeEntry: Sendable, Encodable {
        public var id: Int
        public var cpus: String
        public var memoryBytes: UInt64
        public var memoryAllowed: Bool
        public var distances: [Int]?
    }

    public struct GPUEntry: Sendable, Encodable {
        public var index: Int
        public var pciBus: String
        public var numaNode: Int?
        public var model: String
        public var uuid: String?

        enum CodingKeys: String, CodingKey { case index, pciBus, numaNode, model, uuid }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(pciBus, forKey: .pciBus)
            try c.encode(numaNode, forKey: .numaNode)
            try c.encode(model, forKey: .model)
            try c.encode(uuid, forKey: .uuid)
        }
    }

    public var cpus: [CPUEntry]
    public var numaNodes: [NodeEntry]
    public var gpus: [GPUEntry]
    public var packages: [Int]
    public var onlineCpus: String
    public var usableCpus: String
    public var totalMemoryBytes: UInt64

    public init(_ t: Topology) {
        cpus = t.cpus.map {
            CPUEntry(id: $0.id, package: $0.package, core: $0.core, numaNode: $0.numaNode, l3: $0.l3,
                     siblings: $0.siblings.listString, online: $0.online, allowed: $0.allowed)
        }
        numaNodes = t.numaNodes.map {
            NodeEntry(id: $0.id, cpus: $0.cpus.listString, memoryBytes: $0.memoryBytes,
                      memoryAllowed: $0.memoryAllowed, distances: $0.distances)
        }
        gpus = t.gpus.map { GPUEntry(index: $0.index, pciBus: $0.pciBus, numaNode: $0.numaNode, model: $0.model, uuid: $0.uuid) }
        packages = t.packages
        onlineCpus = t.onlineCPUs.listString
        usableCpus = t.usableCPUs.listString
        totalMemoryBytes = t.totalMemoryBytes
    }
}
