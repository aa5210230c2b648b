/// What a workload asks for.
public struct AllocationRequest: Sendable, Hashable, Codable {
    /// Whole CPUs (hardware threads); at least 1.
    public var cpus: Int
    public var memoryBytes: UInt64
    /// Whole GPUs.
    public var gpus: Int
    /// Overrides the executor's `resources.numaPolicy` for this request.
    public var numaPolicy: NUMAPolicy?

    public init(cpus: Int, memoryBytes: UInt64 = 0, gpus: Int = 0, numaPolicy: NUMAPolicy? = nil) {
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.gpus = gpus
        self.numaPolicy = numaPolicy
    }

    /// "4 CPUs, 8 GiB memory, 1 GPU"
    public var summary: String {
        var parts = ["\(cpus) CPU\(cpus == 1 ? "" : "s")", "\(DataSize.human(memoryBytes)) memory"]
        if gpus > 0 { parts.append("\(gpus) GPU\(gpus == 1 ? "" : "s")") }
        return parts.joined(separator: ", ")
    }
}

/// Resources held by one workload, from reservation until release.
public struct Allocation: Sendable, Hashable, Codable {
    public var id: String
    /// Pinned CPUs (empty when not pinned).
    public var cpus: CPUSet
    /// CPUs counted against capacity: `cpus.count` when pinned (possibly more
    /// than requested, with fullPhysicalCores), the request when unpinned.
    public var cpuCount: Int
    public var requestedCPUs: Int
    /// NUMA nodes whose memory the workload uses (empty when not pinned).
    public var numaNodes: [Int]
    public var memoryBytes: UInt64
    /// Memory taken from each NUMA node (pinned only).
    public var memoryByNode: [Int: UInt64]
    /// GPU indices.
    public var gpus: [Int]
    public var pinned: Bool

    public init(id: String, cpus: CPUSet, cpuCount: Int, requestedCPUs: Int, numaNodes: [Int],
                memoryBytes: UInt64, memoryByNode: [Int: UInt64], gpus: [Int], pinned: Bool) {
        self.id = id
        self.cpus = cpus
        self.cpuCount = cpuCount
        self.requestedCPUs = requestedCPUs
        self.numaNodes = numaNodes
        self.memoryBytes = memoryBytes
        self.memoryByNode = memoryByNode
        self.gpus = gpus
        self.pinned = pinned
    }

    /// CPUs added by rounding up to whole physical cores.
    public var roundedUpBy: Int { cpuCount - requestedCPUs }
}

/// Why the allocator said no.
public enum AllocationErrorCode: String, Sendable, Equatable {
    case doesNotFit = "does_not_fit"
    case invalidRequest = "invalid_request"
    case unknownAllocation = "unknown_allocation"
    case duplicateAllocation = "duplicate_allocation"
    case conflict = "conflict"
}

public typealias AllocationError = CodedError<AllocationErrorCode>
