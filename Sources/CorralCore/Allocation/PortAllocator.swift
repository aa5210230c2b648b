/// Host ports the executor owns: a reserved range handed out to instances'
/// exposed ports and taken back when they stop. No probing of port 0: the
/// range must be kept for Corral (outside the kernel's ephemeral range,
/// net.ipv4.ip_local_port_range).
public struct PortAllocator: Sendable {
    public let range: ClosedRange<Int>
    public private(set) var held: [Int: String] = [:]
    private var next: Int

    public init(range: ClosedRange<Int>) {
        self.range = range
        next = range.lowerBound
    }

    /// `count` free ports of the range for `owner`, or an error saying how many are free.
    public mutating func reserve(_ count: Int, owner: String) throws(AllocationError) -> [Int] {
        try reserve(Array(repeating: .any, count: count), owner: owner)
    }

    /// One host port per request, in order: any free port of the range, or
    /// exactly the one named (a host-level instance's, host port = container
    /// port; it may lie outside the range). All or nothing: a named port
    /// held by another owner, or named twice, refuses the whole request.
    public mutating func reserve(_ requests: [HostPortRequest], owner: String) throws(AllocationError) -> [Int] {
        guard !requests.isEmpty else { return [] }
        var named = Set<Int>()
        for case .exactly(let p) in requests {
            if let holder = held[p], holder != owner {
                throw AllocationError(.conflict, "host port \(p) is held by \(holder)", context: ["port": String(p)])
            }
            guard named.insert(p).inserted else {
                throw AllocationError(.conflict, "host port \(p) is asked for twice", context: ["port": String(p)])
            }
        }
        let count = requests.count - named.count
        let free = range.count - held.keys.filter { range.contains($0) && held[$0] != owner }.count - named.filter { range.contains($0) && held[$0] == nil }.count
        guard free >= count else {
            throw AllocationError(.doesNotFit, "needs \(count) host port\(count == 1 ? "" : "s"), only \(max(free, 0)) free in \(range.lowerBound)-\(range.upperBound)")
        }
        for p in named { held[p] = owner }
        var out: [Int] = []
        for r in requests {
            switch r {
            case .exactly(let p): out.append(p)
            case .any:
                // Round-robin from the last handed out, so a port just freed is not reused at once.
                while held[next] != nil { next = next == range.upperBound ? range.lowerBound : next + 1 }
                held[next] = owner
                out.append(next)
                next = next == range.upperBound ? range.lowerBound : next + 1
            }
        }
        return out
    }

    /// Marks ports as held (after a restart).
    public mutating func adopt(_ ports: [Int], owner: String) throws(AllocationError) {
        for p in ports where held[p] != nil && held[p] != owner {
            throw AllocationError(.conflict, "port \(p) is held by \(held[p]!)")
        }
        // Outside the range too: a host-level instance's ports are its own.
        for p in ports { held[p] = owner }
    }

    public mutating func release(owner: String) {
        held = held.filter { $0.value != owner }
    }
}

/// A host port a workload asks for.
public enum HostPortRequest: Sendable, Hashable {
    /// Any free port of the executor's range.
    case any
    /// Exactly this one (host port = container port).
    case exactly(Int)
}
