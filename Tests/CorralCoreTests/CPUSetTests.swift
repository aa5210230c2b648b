import CorralCore
import PropertyBased
import Testing

@Suite struct CPUSetTests {
    @Test(arguments: [
        ("", [Int]()), ("0", [0]), ("0-3", [0, 1, 2, 3]), ("0-3,8-11", [0, 1, 2, 3, 8, 9, 10, 11]),
        (" 1 , 3 \n", [1, 3]), ("5,5,4", [4, 5]), ("0-7:2/4", [0, 1, 4, 5]), ("64-66", [64, 65, 66]),
        ("0-31\n\u{0}", Array(0...31)),
    ])
    func parsesKernelLists(text: String, ids: [Int]) throws {
        #expect(try CPUSet(list: text).ids == ids)
    }

    @Test(arguments: ["a", "1-", "-1", "3-1", "1,,2", "1-2-3", "99999999", "0-65536", "1:2/3", "0-7:3/2", "1.5"])
    func rejectsMalformedLists(text: String) {
        #expect(throws: CPUListError.self) { try CPUSet(list: text) }
    }

    @Test func errorNamesTheTextAndTheProblem() {
        do {
            _ = try CPUSet(list: "0-3,9-5")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("\"0-3,9-5\""))
            #expect(error.description.contains("backwards"))
        }
    }

    @Test(arguments: [
        ([Int](), ""), ([3], "3"), ([0, 1], "0-1"), ([0, 1, 2, 5, 7, 8], "0-2,5,7-8"), ([63, 64, 65, 200], "63-65,200"),
    ])
    func printsCanonicalLists(ids: [Int], text: String) {
        #expect(CPUSet(ids).listString == text)
    }

    @Test func readsHexMasks() throws {
        #expect(try CPUSet(hexMask: "00000000,0000ffff").listString == "0-15")
        #expect(try CPUSet(hexMask: "00000003").listString == "0-1")
        #expect(try CPUSet(hexMask: "00000001,00000000").listString == "32")
        #expect(try CPUSet(hexMask: "ffffffff,ffffffff,00000000,00000000").listString == "64-127")
        #expect(throws: CPUListError.self) { try CPUSet(hexMask: "xyz") }
    }

    @Test func equalityIgnoresStorageShape() {
        var a: CPUSet = [1, 100]
        a.remove(100)
        let b: CPUSet = [1]
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a.last == 1)
    }

    static let ids = Gen.int(in: 0...300).array(of: 0...40)

    @Test func printThenParseIsIdentity() async {
        await propertyCheck(input: Self.ids) { ids in
            let s = CPUSet(ids)
            #expect((try? CPUSet(list: s.listString)) == s)
            #expect(s.count == Set(ids).count)
            #expect(s.ids == Set(ids).sorted())
        }
    }

    @Test func setAlgebraAgreesWithSwiftSet() async {
        await propertyCheck(input: Self.ids, Self.ids) { a, b in
            let x = CPUSet(a), y = CPUSet(b)
            let sa = Set(a), sb = Set(b)
            #expect(Set(x.union(y)) == sa.union(sb))
            #expect(Set(x.intersection(y)) == sa.intersection(sb))
            #expect(Set(x.subtracting(y)) == sa.subtracting(sb))
            #expect(x.isSubset(of: y) == sa.isSubset(of: sb))
            #expect(x.isDisjoint(with: y) == sa.isDisjoint(with: sb))
            #expect(x.first == sa.min())
            #expect(x.last == sa.max())
            #expect(Set(x.prefix(3)) == Set(sa.sorted().prefix(3)))
        }
    }

    @Test func hexAndListAgree() async {
        await propertyCheck(input: Gen.int(in: 0...127).array(of: 0...30)) { ids in
            let s = CPUSet(ids)
            // Build the kernel's mask text: 32-bit groups, most significant first.
            var groups = [UInt32](repeating: 0, count: 4)
            for id in s { groups[id / 32] |= 1 << UInt32(id % 32) }
            let text = groups.reversed().map { g -> String in
                let h = String(g, radix: 16)
                return String(repeating: "0", count: 8 - h.count) + h
            }.joined(separator: ",")
            #expect((try? CPUSet(hexMask: text)) == s)
        }
    }
}
