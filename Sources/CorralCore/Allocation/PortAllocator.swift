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

    /// `count` free ports for `owner`, or an error saying how many are free.
    public mutating func reserve(_ count: Int, owner: String) throws(AllocationError) -> [Int] {
        guard count > 0 else { return [] }
        let free = range.count - held.count
        guard free >= count else {
            throw AllocationError(.doesNotFit, "needs \(count) host port\(count == 1 ? "" : "s"), only \(free) free in \(range.lowerBound)-\(range.upperBound)")
        }
        var out: [Int] = []
        // Round-robin from the last handed out, so a port just freed is not reused at once.
        while out.count < count {
            if held[next] == nil {
                held[next] = owner
                out.append(next)
            }
            next = next == range.upperBound ? range.lowerBound : next + 1
        }
        return out
    }

    /// Marks ports as held (after a restart).
    public mutating func adopt(_ ports: [Int], owner: String) throws(AllocationError) {
        for p in ports where held[p] != nil && held[p] != owner {
            throw AllocationError(.conflict, "port \(p) is held by \(held[p]!)")
        }
        for p in ports where range.contains(p) { held[p] = owner }
    }

    public mutating func release(owner: String) {
        held = held.filter { $0.value != owner }
    }
}
