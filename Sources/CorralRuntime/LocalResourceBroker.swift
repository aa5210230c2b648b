import CorralCore

/// The executor's books in one actor: the allocator and the host port range.
/// Every reservation and release goes through here, one at a time.
public actor LocalResourceBroker: ResourceBroker {
    public private(set) var allocator: Allocator
    public private(set) var ports: PortAllocator
    /// Every release, in order (ids), for accounting and tests.
    public private(set) var releases: [String] = []
    /// The stage processors' CPUs: never handed out by an exact reservation.
    let withheld: CPUSet

    public init(resources: EffectiveResources, withheld: CPUSet = CPUSet(), portRange: ClosedRange<Int> = 31_000...31_999) {
        allocator = Allocator(resources: resources, withheld: withheld)
        self.withheld = withheld
        ports = PortAllocator(range: portRange)
    }

    public func reserve(_ request: AllocationRequest, ports: [HostPortRequest], id: String) throws(AllocationError) -> (Allocation, [Int]) {
        let a = try allocator.reserve(request, id: id)
        do {
            return (a, try self.ports.reserve(ports, owner: id))
        } catch {
            _ = try? allocator.release(id)
            throw error
        }
    }

    /// Takes back what a workload found after a restart holds.
    public func adopt(_ allocation: Allocation, ports held: [Int]) throws(AllocationError) {
        try allocator.adopt(allocation)
        do {
            try ports.adopt(held, owner: allocation.id)
        } catch {
            _ = try? allocator.release(allocation.id)
            throw error
        }
    }

    /// Reserves exactly `allocation` (a controller's choice of cores and
    /// memory), and its host ports: refused unless every one of those
    /// resources is free now.
    public func reserveExact(_ allocation: Allocation, ports: [HostPortRequest]) throws(AllocationError) -> (Allocation, [Int]) {
        let pooled = allocation.cpus.intersection(withheld)
        guard pooled.isEmpty else {
            throw AllocationError(.conflict, "CPUs \(pooled.listString) belong to the stage processors", context: ["id": allocation.id])
        }
        try allocator.adopt(allocation)
        do {
            return (allocation, try self.ports.reserve(ports, owner: allocation.id))
        } catch {
            _ = try? allocator.release(allocation.id)
            throw error
        }
    }

    public func release(id: String) {
        _ = try? allocator.release(id)
        ports.release(owner: id)
        releases.append(id)
    }

    public var freeCPUs: CPUSet { allocator.freeCPUs }
    public var freeCPUCount: Int { allocator.isPinned ? allocator.freeCPUs.count : allocator.freeCPUCount }
    public var held: [String: Allocation] { allocator.allocations }
}

/// A broker that hands a workload exactly the resources a controller chose
/// (the executor's own allocator places everything else).
public struct ExactResourceBroker: ResourceBroker {
    public let base: LocalResourceBroker
    public let allocation: Allocation

    public init(base: LocalResourceBroker, allocation: Allocation) {
        self.base = base
        self.allocation = allocation
    }

    public func reserve(_ request: AllocationRequest, ports: [HostPortRequest], id: String) async throws(AllocationError) -> (Allocation, [Int]) {
        var exact = allocation
        exact.id = id
        return try await base.reserveExact(exact, ports: ports)
    }

    public func release(id: String) async { await base.release(id: id) }
}
