/// One check of `corral doctor`: what it saw on the node, why that matters
/// for pinned workloads, and the exact fix. docs/doctor.md describes each.
public struct DoctorFinding: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, Comparable, CaseIterable {
        case ok = "OK", warn = "WARN", fail = "FAIL"

        var rank: Int { self == .ok ? 0 : self == .warn ? 1 : 2 }
        public static func < (a: Status, b: Status) -> Bool { a.rank < b.rank }
    }

    /// The checks, named once; the raw value is the id in `--json` and docs/doctor.md.
    public enum Check: String, Sendable, Codable, CaseIterable {
        case pid1Affinity = "os.pid1-affinity"
        case executorAffinity = "os.executor-affinity"
        case engineAffinity = "os.engine-affinity"
        case isolcpus = "kernel.isolcpus"
        case irqAffinity = "irq.affinity"
        case irqbalance = "irq.irqbalance"
        case numaBalancing = "numa.balancing"
        case transparentHugepages = "memory.transparent-hugepages"
        case zoneReclaim = "memory.zone-reclaim"
        case memoryPerNode = "memory.per-node"
        case smt = "cpu.smt"
        case governor = "cpu.governor"
        case offlineCPUs = "cpu.offline"
        case hiddenCPUs = "cpu.hidden"
        case cgroups = "cgroups"
        case openFiles = "limits.open-files"
        case storage = "storage"
        case engine = "engine.socket"
        case gpus = "gpu.nvidia"

        /// The heading docs/doctor.md and the report use.
        public var title: String {
            switch self {
            case .pid1Affinity: "System processes kept on the OS cores (PID 1)"
            case .executorAffinity: "The executor kept on the OS cores"
            case .engineAffinity: "The container engine kept on the OS cores"
            case .isolcpus: "Kernel isolcpus and nohz_full"
            case .irqAffinity: "Interrupts off the workload cores"
            case .irqbalance: "irqbalance"
            case .numaBalancing: "Automatic NUMA balancing"
            case .transparentHugepages: "Transparent hugepages"
            case .zoneReclaim: "Zone reclaim"
            case .memoryPerNode: "Memory per NUMA node"
            case .smt: "Hyper-threading (SMT)"
            case .governor: "CPU frequency governor"
            case .offlineCPUs: "Offline CPUs"
            case .hiddenCPUs: "CPUs outside the executor's cpuset"
            case .cgroups: "cgroups"
            case .openFiles: "Open files limit"
            case .storage: "Log and state storage"
            case .engine: "Container engine socket"
            case .gpus: "NVIDIA GPUs"
            }
        }
    }

    public var check: Check
    /// Several findings of one check (storage: one per path) carry what they are about.
    public var subject: String?
    public var status: Status
    public var saw: String
    public var why: String
    /// The line to put in which file, the command to run; nil when nothing is to be done.
    public var fix: String?

    public init(_ check: Check, _ status: Status, subject: String? = nil, saw: String, why: String, fix: String? = nil) {
        self.check = check
        self.subject = subject
        self.status = status
        self.saw = saw
        self.why = why
        self.fix = fix
    }

    enum CodingKeys: String, CodingKey { case check, title, subject, status, saw, why, fix }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(check, forKey: .check)
        try c.encode(check.title, forKey: .title)
        try c.encodeIfPresent(subject, forKey: .subject)
        try c.encode(status, forKey: .status)
        try c.encode(saw, forKey: .saw)
        try c.encode(why, forKey: .why)
        try c.encodeIfPresent(fix, forKey: .fix)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        check = try c.decode(Check.self, forKey: .check)
        subject = try c.decodeIfPresent(String.self, forKey: .subject)
        status = try c.decode(Status.self, forKey: .status)
        saw = try c.decode(String.self, forKey: .saw)
        why = try c.decode(String.self, forKey: .why)
        fix = try c.decodeIfPresent(String.self, forKey: .fix)
    }
}
