import CorralCore
import PropertyBased
import Testing

/// Host ports over random sequences of reservations (any port of the range,
/// or exactly a named one, inside the range or not) and releases: no port
/// is ever held by two owners, a named port is handed out as named, and a
/// refused request changes nothing.
@Suite struct PortAllocatorPropertyTests {
    static let ops = Gen.int(in: 0...9_999).array(of: 1...80)

    @Test func randomSequencesNeverHandOutAPortTwice() async {
        await propertyCheck(count: 300, input: Self.ops) { ops in
            // A small range, so that it fills up and refusals happen.
            var p = PortAllocator(range: 40_000...40_007)
            var live: [String: [Int]] = [:]
            for (step, op) in ops.enumerated() {
                let owner = "w\(step)"
                if op % 4 == 3, let victim = live.keys.sorted().first {
                    p.release(owner: victim)
                    live[victim] = nil
                } else {
                    // 1-3 ports, each any or a named one among a few numbers (some outside the range).
                    let requests: [HostPortRequest] = (0...(op % 3)).map { i in
                        let x = (op / (7 + i)) % 12
                        return x < 6 ? .any : .exactly([40_001, 40_003, 9_100, 9_101, 40_007, 9_100][x - 6])
                    }
                    let before = p.held
                    do {
                        let got = try p.reserve(requests, owner: owner)
                        #expect(got.count == requests.count)
                        for (r, port) in zip(requests, got) {
                            if case .exactly(let want) = r { #expect(port == want, "named port handed out as named") }
                            else { #expect(p.range.contains(port)) }
                            #expect(before[port] == nil, "step \(step): port \(port) was held by \(before[port] ?? "")")
                        }
                        #expect(Set(got).count == got.count)
                        live[owner] = got
                    } catch {
                        #expect(p.held == before, "step \(step): a refused request changed the books")
                    }
                }
                // The books are exactly the live reservations.
                var expected: [Int: String] = [:]
                for (o, ports) in live { for x in ports { #expect(expected[x] == nil); expected[x] = o } }
                #expect(p.held == expected, "step \(step)")
            }
        }
    }

    @Test func aNamedPortHeldByAnotherIsRefusedWithItsHolder() throws {
        var p = PortAllocator(range: 31_000...31_999)
        #expect(try p.reserve([.exactly(9_100)], owner: "a") == [9_100])
        #expect(throws: AllocationError.self) { try p.reserve([.any, .exactly(9_100)], owner: "b") }
        do { _ = try p.reserve([.exactly(9_100)], owner: "b") } catch {
            #expect(error.message.contains("host port 9100 is held by a"), "\(error.message)")
        }
        #expect(p.held == [9_100: "a"], "nothing of b's half-applied")
        p.release(owner: "a")
        #expect(try p.reserve([.exactly(9_100)], owner: "b") == [9_100])
    }
}
