import CorralCore
import Foundation
import PropertyBased
import Testing

/// Drove's placement policies and Corral's rule language and scheduler.
@Suite struct PlacementTests {
    static func policy(_ json: String) -> (PlacementPolicy?, [ConfigIssue]) {
        let (node, issue) = JSONTree.parse(Data(json.utf8))
        if let issue { return (nil, [issue]) }
        let r = ConfigReader(file: "spec", environment: [:])
        r.stringsAreTyped = true
        let p = PlacementPolicy.read(node!, r, "placementPolicy")
        return (r.hasErrors ? nil : p, r.issues.filter { $0.severity == .error })
    }

    static func candidate(_ host: String = "h1", tags: Set<String> = [], metadata: [String: String] = [:], count: Int = 0) -> PlacementPolicy.Candidate {
        .init(hostname: host, tags: tags.union([host]), metadata: metadata, instancesOfApp: count)
    }

    @Test func drovesPolicyJSONReadsAndMeansWhatItMeansInDrove() throws {
        let onePer = try #require(Self.policy(#"{"type": "ONE_PER_HOST"}"#).0)
        #expect(onePer.admits(Self.candidate(count: 0)) && !onePer.admits(Self.candidate(count: 1)))
        let maxTwo = try #require(Self.policy(#"{"type": "MAX_N_PER_HOST", "max": 2}"#).0)
        #expect(maxTwo.admits(Self.candidate(count: 1)) && !maxTwo.admits(Self.candidate(count: 2)))
        let gpu = try #require(Self.policy(#"{"type": "MATCH_TAG", "tag": "gpu"}"#).0)
        #expect(gpu.effective.admits(Self.candidate(tags: ["gpu"])) && !gpu.effective.admits(Self.candidate()))
        // The hostname is a tag: MATCH_TAG can pin to a host.
        #expect(try #require(Self.policy(#"{"type": "MATCH_TAG", "tag": "h7"}"#).0).admits(Self.candidate("h7")))
        let either = try #require(Self.policy(#"{"type": "COMPOSITE", "combiner": "OR", "policies": [{"type": "MATCH_TAG", "tag": "a"}, {"type": "MATCH_TAG", "tag": "b"}]}"#).0)
        #expect(either.admits(Self.candidate(tags: ["b"])) && !either.admits(Self.candidate(tags: ["c"])))
        let both = try #require(Self.policy(#"{"type": "composite", "policies": [{"type": "ONE_PER_HOST"}, {"type": "MATCH_TAG", "tag": "a"}]}"#).0)
        #expect(!both.admits(Self.candidate(tags: ["a"], count: 1)) && both.admits(Self.candidate(tags: ["a"])))
    }

    @Test func untaggedAppsNeverLandOnTaggedExecutors() throws {
        // ANY, ONE_PER_HOST, MAX_N_PER_HOST and composites of them are ANDed with NO_TAG; MATCH_TAG and RULE_BASED are not.
        for json in [#"{"type": "ANY"}"#, #"{"type": "ONE_PER_HOST"}"#, #"{"type": "MAX_N_PER_HOST", "max": 3}"#,
                     #"{"type": "COMPOSITE", "policies": [{"type": "ANY"}]}"#] {
            let p = try #require(Self.policy(json).0)
            #expect(!p.effective.admits(Self.candidate(tags: ["gpu"])), "\(json)")
            #expect(p.effective.admits(Self.candidate()), "\(json): the hostname alone is not a tag")
        }
        let rule = try #require(Self.policy(#"{"type": "RULE_BASED", "rule": "tags contains \"gpu\""}"#).0)
        #expect(rule.effective.admits(Self.candidate(tags: ["gpu"])))
    }

    @Test func badPoliciesAreRefusedWithTheirPaths() {
        let (p, errs) = Self.policy(#"{"type": "COMPOSITE", "policies": [{"type": "MAX_N_PER_HOST", "max": 99}, {"type": "MATCH_TAG"}, {"type": "RULE_BASED", "rule": "hostname ="}, {"type": "ANY", "tag": "x"}]}"#)
        #expect(p == nil)
        let paths = Set(errs.map(\.path))
        #expect(paths == ["placementPolicy.policies[0].max", "placementPolicy.policies[1].tag", "placementPolicy.policies[2].rule",
                          "placementPolicy.policies[3].tag"], "\(errs.map(\.description))")
        #expect(Self.policy(#"{"type": "RULE_BASED", "ruleType": "MVEL", "rule": "Runtime.getRuntime().exec('id')"}"#).1.first?.message.contains("MVEL") == true)
        #expect(Self.policy(#"{"type": "LOCL"}"#).1.first?.message.contains("did you mean \"LOCAL\"") == true)
    }

    @Test func rulesAreDataNotCode() throws {
        let r = try PlacementRule(parsing: #"tags contains "gpu" && metadata.rack in ["r1", "r2"] && !(hostname startsWith "old-") || has metadata["x y"]"#)
        #expect(r.evaluate(hostname: "n1", tags: ["gpu"], metadata: ["rack": "r2"]))
        #expect(!r.evaluate(hostname: "old-1", tags: ["gpu"], metadata: ["rack": "r2"]))
        #expect(!r.evaluate(hostname: "n1", tags: [], metadata: ["rack": "r2"]))
        #expect(r.evaluate(hostname: "old-1", tags: [], metadata: ["x y": ""]))
        #expect(try PlacementRule(parsing: #"metadata.zone != "a""#).evaluate(hostname: "h", tags: [], metadata: [:]), "a missing key reads as \"\"")
        #expect(try PlacementRule(parsing: #"hostname endsWith ".prod" && hostname contains "db""#).evaluate(hostname: "db3.prod", tags: [], metadata: [:]))
        for bad in ["", "hostname", "hostname == ", "tags == \"x\"", "(hostname == \"a\"", "metadata.", "\"unclosed", "hostname ~= \"a\"",
                    String(repeating: "!", count: 40) + "has metadata.a", "hostname == \"a\" extra"] {
            #expect(throws: PlacementRule.ParseError.self, "\(bad)") { try PlacementRule(parsing: bad) }
        }
        #expect(throws: PlacementRule.ParseError.self) { try PlacementRule(parsing: String(repeating: "(", count: 5000)) }
    }

    /// Any text either parses or is refused with a message; it never traps or runs away.
    @Test func theRuleParserTakesAnyText() async {
        let pieces = ["hostname", "metadata.rack", "tags", "contains", "in", "[", "]", ",", "(", ")", "!", "&&", "||", "==", "!=",
                      "\"a\"", "\"", "has", "startsWith", "metadata[", "x", " "]
        await propertyCheck(count: 500, input: Gen.int(in: 0..<pieces.count).array(of: 0...30)) { picks in
            let text = picks.map { pieces[$0] }.joined(separator: " ")
            do throws(PlacementRule.ParseError) {
                let r = try PlacementRule(parsing: text)
                _ = r.evaluate(hostname: "h", tags: ["a"], metadata: ["rack": "a"])
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
    }

    // MARK: Scheduler

    static func executor(_ id: String, nodes: Int = 2, cores: Int = 8, tags: Set<String> = [], threads: Int = 1) -> ExecutorModel {
        let t = Topology.synthetic(sockets: nodes, coresPerNode: cores, threadsPerCore: threads, memoryPerNode: 64 << 30)
        let layout = t.numaNodes.map { n in
            ExecutorModel.NodeLayout(id: n.id, cpus: n.cpus, memoryBytes: n.memoryBytes,
                                     coreGroups: t.cores.filter { $0.numaNode == n.id }.map(\.cpus))
        }
        return ExecutorModel(id: id, hostname: id, tags: tags.union([id]), metadata: [:], takesNewWork: true, nodes: layout)
    }

    @Test func packFillsAUsedExecutorBeforeAnEmptyOne() throws {
        var s = ClusterScheduler()
        s.upsert(Self.executor("a"))
        s.upsert(Self.executor("b"))
        let request = ClusterScheduler.Request(appId: "x-1", resources: AllocationRequest(cpus: 2, memoryBytes: 1 << 30), policy: .any)
        let first = try s.place(request, id: "i1")
        for i in 2...8 {
            let p = try s.place(request, id: "i\(i)")
            #expect(p.executorId == first.executorId, "instance \(i) went to \(p.executorId)")
            #expect(p.allocation.numaNodes.count == 1)
        }
        // The other executor stays whole for a request of a whole node.
        let big = ClusterScheduler.Request(appId: "big-1", resources: AllocationRequest(cpus: 8), policy: .any)
        let p = try s.place(big, id: "big")
        #expect(p.executorId != first.executorId && p.allocation.cpus.count == 8)
    }

    /// spread with a spreadKey: an app's instances alternate between racks
    /// (executors grouped by their `rack` metadata), and within a rack between executors.
    @Test func spreadBalancesRacksThenExecutors() throws {
        var s = ClusterScheduler(strategy: .spread, spreadKey: "rack")
        for (id, rack) in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b")] {
            var e = Self.executor(id)
            e.metadata["rack"] = rack
            s.upsert(e)
        }
        let request = ClusterScheduler.Request(appId: "web-1", resources: AllocationRequest(cpus: 1, memoryBytes: 1 << 28), policy: .any)
        var byRack: [String: Int] = [:], byExecutor: [String: Int] = [:]
        for i in 1...8 {
            let p = try s.place(request, id: "i\(i)")
            byRack[p.executorId.hasPrefix("a") ? "a" : "b", default: 0] += 1
            byExecutor[p.executorId, default: 0] += 1
            #expect(abs(byRack["a", default: 0] - byRack["b", default: 0]) <= 1, "after \(i): \(byRack)")
        }
        #expect(byRack == ["a": 4, "b": 4])
        let inA = ["a1", "a2", "a3"].map { byExecutor[$0, default: 0] }
        #expect(inA.max()! - inA.min()! <= 1, "\(byExecutor)")
        // Without a key each executor is its own group; pack would have put all 8 on one.
        var plain = ClusterScheduler(strategy: .spread)
        for id in ["x", "y"] { plain.upsert(Self.executor(id)) }
        var counts: [String: Int] = [:]
        for i in 1...6 { counts[try plain.place(request, id: "j\(i)").executorId, default: 0] += 1 }
        #expect(counts == ["x": 3, "y": 3])
    }

    @Test func refusalsSayWhy() {
        var s = ClusterScheduler()
        #expect(throws: ClusterScheduler.Refusal.self) { try s.place(.init(appId: "a-1", resources: .init(cpus: 1), policy: .any), id: "x") }
        s.upsert(Self.executor("tagged", tags: ["gpu"]))
        do {
            _ = try s.place(.init(appId: "a-1", resources: .init(cpus: 1), policy: .any), id: "x")
            Issue.record("an untagged app must not land on a tagged executor")
        } catch {
            #expect(error.code == .noneAdmitted)
        }
        do {
            _ = try s.place(.init(appId: "a-1", resources: .init(cpus: 9), policy: .matchTag("gpu")), id: "x")
            Issue.record("9 CPUs do not fit one 8-core node")
        } catch {
            #expect(error.code == .noRoom && error.message.contains("9 CPUs"), "\(error.message)")
        }
    }

    /// No CPU is ever booked twice, whatever is placed and released, and
    /// every placement honours its policy and stays on one NUMA node.
    @Test func nothingIsDoubleBookedAndPoliciesHold() async {
        let ops = Gen.int(in: 0...999).array(of: 1...120)
        await propertyCheck(count: 120, input: Gen.int(in: 1...5), ops) { executors, ops in
            var s = ClusterScheduler(strategy: ops.first.map { $0 % 2 == 0 } == true ? .pack : .spread)
            for i in 0..<executors { s.upsert(Self.executor("e\(i)", nodes: 1 + i % 2, cores: 2 + i * 2, tags: i == 0 ? ["gpu"] : [], threads: 1 + i % 2)) }
            var live: [(id: String, executor: String, app: String)] = []
            let policies: [PlacementPolicy] = [.any, .onePerHost, .maxNPerHost(2), .matchTag("gpu")]
            for (step, op) in ops.enumerated() {
                if op < 700 || live.isEmpty {
                    let app = "app\(op % 3)-1", policy = policies[op % policies.count]
                    let r = ClusterScheduler.Request(appId: app, resources: AllocationRequest(cpus: 1 + op % 3, memoryBytes: UInt64(op % 4) << 30), policy: policy)
                    guard let p = try? s.place(r, id: "i\(step)") else { continue }
                    let e = s[p.executorId]!
                    #expect(e.instancesByApp[app]! <= (policy == .onePerHost ? 1 : policy == .maxNPerHost(2) ? 2 : Int.max))
                    #expect(policy == .matchTag("gpu") ? e.tags.contains("gpu") : !e.tags.contains("gpu"))
                    #expect(p.allocation.numaNodes.count == 1 && p.allocation.cpus.count == r.resources.cpus)
                    live.append((p.allocation.id, p.executorId, app))
                } else {
                    let victim = live.remove(at: op % live.count)
                    s.release(victim.id, on: victim.executor, appId: victim.app)
                }
                for i in 0..<executors {
                    let e = s["e\(i)"]!
                    var seen = CPUSet()
                    for a in e.allocator.allocations.values {
                        #expect(seen.isDisjoint(with: a.cpus), "CPUs booked twice on e\(i)")
                        seen.formUnion(a.cpus)
                    }
                    #expect(seen.union(e.allocator.freeCPUs).count == seen.count + e.allocator.freeCPUs.count)
                }
            }
            // Releasing everything gives every executor back whole.
            for v in live { s.release(v.id, on: v.executor, appId: v.app) }
            for i in 0..<executors { #expect(s["e\(i)"]!.allocator.allocations.isEmpty && s["e\(i)"]!.instancesByApp.isEmpty) }
        }
    }

    @Test func aPublishedLayoutKeepsWholeCoresTogether() throws {
        // Two threads per core: a 2-CPU request takes both threads of one core.
        var s = ClusterScheduler()
        s.upsert(Self.executor("smt", nodes: 1, cores: 4, threads: 2))
        let p = try s.place(.init(appId: "a-1", resources: .init(cpus: 2), policy: .any), id: "x")
        let topology = Topology.synthetic(sockets: 1, coresPerNode: 4, threadsPerCore: 2)
        #expect(topology.cores.contains { $0.cpus == p.allocation.cpus }, "\(p.allocation.cpus) is one physical core")
    }

    @Test func gpuInstancesLandOnlyWhereAWholeGPUSitsOnTheSameNodeAsTheirCores() throws {
        // Executor "gpu": GPU 0 on NUMA node 1 only; "plain": none.
        let t = Topology.synthetic(sockets: 2, coresPerNode: 4, memoryPerNode: 16 << 30)
        let layout = t.numaNodes.map { n in
            ExecutorModel.NodeLayout(id: n.id, cpus: n.cpus, memoryBytes: n.memoryBytes, gpus: n.id == 1 ? [0] : [])
        }
        var s = ClusterScheduler()
        s.upsert(ExecutorModel(id: "gpu", hostname: "gpu", tags: ["gpu"], metadata: [:], takesNewWork: true, nodes: layout))
        s.upsert(Self.executor("plain"))
        let p = try s.place(.init(appId: "train-1", resources: .init(cpus: 2, gpus: 1), policy: .any), id: "g1")
        #expect(p.executorId == "gpu" && p.allocation.gpus == [0] && p.allocation.numaNodes == [1])
        #expect(p.allocation.cpus.isSubset(of: t.numaNodes[1].cpus))
        // The only GPU is taken: a second GPU instance is refused, a CPU-only one still fits.
        #expect(throws: ClusterScheduler.Refusal.self) { try s.place(.init(appId: "train-1", resources: .init(cpus: 1, gpus: 1), policy: .any), id: "g2") }
        #expect((try? s.place(.init(appId: "web-1", resources: .init(cpus: 1), policy: .any), id: "c1")) != nil)
    }
}
