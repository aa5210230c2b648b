import Foundation

/// Drove's `ExecutorNodeData` (`mdl/info/nodedata/ExecutorNodeData.java`):
/// what an executor publishes as its EPHEMERAL znode at
/// `/<namespace>/executor/<hostname>-<port>`, with Drove's field names and
/// units, so a Drove controller or tool reading ZooKeeper understands it.
/// What Corral knows and Drove does not is under `corral`, which Drove's
/// reader (unknown fields ignored) skips.
public struct ExecutorNodeData: Codable, Sendable, Hashable {
    /// `ExecutorState`.
    public enum State: String, Codable, Sendable, CaseIterable {
        case ACTIVE, BLACKLIST_REQUESTED, BLACKLISTED, UNREADY, REMOVED

        public var takesNewWork: Bool { self == .ACTIVE }
    }

    public struct CorralExtras: Codable, Sendable, Hashable {
        /// GPU indices per NUMA node.
        public var gpus: [String: [Int]]
        /// The L3 cache groups (CPU lists) per NUMA node.
        public var l3Groups: [String: [String]]
        public var numaPolicy: String
        public var mode: String
        public var version: Int = 1
        /// The hardware threads of each physical core (CPU lists) per NUMA
        /// node, so a controller places whole cores as this executor would.
        public var coreGroups: [String: [String]]? = nil
        public var fullPhysicalCores: Bool? = nil
        /// The GPUs each running instance or task holds, by its instance id
        /// (Drove's allocation records have no GPU type).
        public var workloadGPUs: [String: [Int]]? = nil
    }

    public var type = "EXECUTOR"
    public var hostname: String
    public var port: Int
    public var transportType: String
    /// Epoch milliseconds of this write.
    public var updated: Int64
    public var state: DroveResources.Snapshot
    public var instances: [DroveInstanceInfo]
    public var tasks: [DroveTaskInfo]
    public var serviceInstances: [DroveLocalServiceInstanceInfo]
    public var tags: [String]
    public var metadata: [String: String]
    public var executorState: State
    public var corral: CorralExtras?

    /// The same content apart from the write time (a rewrite that changes nothing else is skipped).
    public func sameContent(as other: ExecutorNodeData) -> Bool {
        var a = self, b = other
        a.updated = 0
        b.updated = 0
        return a == b
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    public func encoded() -> [UInt8] {
        // Plain value types with string keys: encoding cannot fail.
        (try? Array(Self.encoder.encode(self))) ?? []
    }
}

/// Drove's `ControllerNodeData`: each controller's znode under
/// `/<namespace>/controller`, the leader's with `leader: true`.
public struct ControllerNodeData: Codable, Sendable, Hashable {
    public var type: String?
    public var hostname: String
    public var port: Int
    public var transportType: String?
    public var updated: Int64?
    public var leader: Bool

    public init(type: String? = "CONTROLLER", hostname: String, port: Int, transportType: String? = "HTTP", updated: Int64?, leader: Bool) {
        self.type = type
        self.hostname = hostname
        self.port = port
        self.transportType = transportType
        self.updated = updated
        self.leader = leader
    }

    /// `http://host:port` (https for HTTPS).
    public var endpoint: String {
        "\(transportType?.uppercased() == "HTTPS" ? "https" : "http")://\(hostname):\(port)"
    }
}
