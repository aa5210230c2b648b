import CorralCore
import PropertyBased
import Testing

@Suite struct LifecycleTests {
    /// Drove's table, written out independently of the implementation.
    static let droveInstanceMoves: Set<String> = [
        "PENDING>PROVISIONING", "PENDING>STOPPING", "PROVISIONING>STARTING", "PROVISIONING>PROVISIONING_FAILED",
        "STARTING>UNREADY", "STARTING>START_FAILED", "UNKNOWN>UNREADY", "UNKNOWN>STOPPED",
        "UNREADY>READY", "UNREADY>READINESS_CHECK_FAILED", "UNREADY>STOPPING", "READY>HEALTHY", "READY>STOPPING",
        "HEALTHY>UNHEALTHY", "HEALTHY>STOPPING", "STOPPING>DEPROVISIONING", "UNHEALTHY>DEPROVISIONING",
        "READINESS_CHECK_FAILED>DEPROVISIONING", "PROVISIONING_FAILED>DEPROVISIONING", "START_FAILED>DEPROVISIONING",
        "DEPROVISIONING>STOPPED",
    ]
    /// Corral's additions: a running instance can be lost (killed underneath).
    static let lostMoves: Set<String> = [
        "STARTING>LOST", "UNREADY>LOST", "READY>LOST", "HEALTHY>LOST", "UNHEALTHY>LOST", "STOPPING>LOST", "UNKNOWN>LOST",
    ]

    @Test func everyInstanceMoveIsCheckedExhaustively() {
        let legal = Self.droveInstanceMoves.union(Self.lostMoves)
        var allowedCount = 0
        for from in InstanceState.allCases {
            for to in InstanceState.allCases {
                var l = Lifecycle(from, at: 0)
                let key = "\(from.rawValue)>\(to.rawValue)"
                do {
                    try l.transition(to: to, at: 1)
                    #expect(legal.contains(key), "\(key) must be refused")
                    #expect(l.state == to)
                    allowedCount += 1
                } catch {
                    #expect(!legal.contains(key), "\(key) must be allowed")
                    #expect(l.state == from, "a refused move changes nothing")
                    #expect(l.history.count == 1)
                    #expect(error.message.hasPrefix("cannot move from \(from.rawValue) to \(to.rawValue)"))
                }
            }
        }
        #expect(allowedCount == legal.count)
    }

    @Test func everyTaskMoveIsCheckedExhaustively() {
        let legal: Set<String> = [
            "PENDING>PROVISIONING", "PENDING>STOPPED", "PROVISIONING>STARTING", "PROVISIONING>PROVISIONING_FAILED",
            "PROVISIONING_FAILED>DEPROVISIONING", "STARTING>RUNNING", "STARTING>RUN_FAILED", "STARTING>LOST",
            "RUNNING>RUN_COMPLETED", "RUNNING>RUN_FAILED", "RUNNING>LOST", "RUN_COMPLETED>DEPROVISIONING",
            "RUN_FAILED>DEPROVISIONING", "DEPROVISIONING>STOPPED", "UNKNOWN>RUNNING", "UNKNOWN>RUN_COMPLETED",
            "UNKNOWN>RUN_FAILED", "UNKNOWN>LOST",
        ]
        var allowed = 0
        for from in TaskState.allCases {
            for to in TaskState.allCases {
                var l = Lifecycle(from, at: 0)
                let ok = (try? l.transition(to: to, at: 1)) != nil
                #expect(ok == legal.contains("\(from.rawValue)>\(to.rawValue)"), "\(from)>\(to)")
                if ok { allowed += 1 }
            }
        }
        #expect(allowed == legal.count)
    }

    /// Every path through the table: the allocation is taken at most once and
    /// given back exactly once by the time a final state is reached.
    func checkAllPaths<S: LifecycleState>(_ type: S.Type, from start: S, heldAtStart: Bool) -> Int {
        var paths = 0
        func walk(_ l: Lifecycle<S>, held: Int, acquired: Int, released: Int, depth: Int) {
            #expect(depth < 20, "the table has a cycle")
            guard depth < 20 else { return }
            if l.state.isTerminal {
                paths += 1
                #expect(held == 0, "ended holding resources: \(l.history.map(\.state.rawValue))")
                #expect(acquired <= 1 && released <= 1)
                #expect(released == (heldAtStart ? 1 : acquired), "\(l.history.map(\.state.rawValue))")
                return
            }
            #expect(!l.state.successors.isEmpty, "\(l.state) is a dead end")
            for next in l.state.successors {
                var copy = l
                let effect = try! copy.transition(to: next, at: Double(depth + 1))
                switch effect {
                case .acquire: walk(copy, held: held + 1, acquired: acquired + 1, released: released, depth: depth + 1)
                case .release:
                    #expect(held == 1, "release without holding")
                    walk(copy, held: held - 1, acquired: acquired, released: released + 1, depth: depth + 1)
                case .none: walk(copy, held: held, acquired: acquired, released: released, depth: depth + 1)
                }
            }
        }
        walk(Lifecycle(start, at: 0), held: heldAtStart ? 1 : 0, acquired: 0, released: 0, depth: 0)
        return paths
    }

    @Test func resourcesAreReleasedExactlyOnceOnEveryPath() {
        #expect(checkAllPaths(InstanceState.self, from: .PENDING, heldAtStart: false) > 10)
        #expect(checkAllPaths(InstanceState.self, from: .UNKNOWN, heldAtStart: true) > 3)
        #expect(checkAllPaths(TaskState.self, from: .PENDING, heldAtStart: false) > 5)
        #expect(checkAllPaths(TaskState.self, from: .UNKNOWN, heldAtStart: true) > 3)
    }

    @Test func historyKeepsReasonsAndTimes() throws {
        var l = Lifecycle(InstanceState.PENDING, at: 10)
        try l.transition(to: .PROVISIONING, at: 11)
        try l.transition(to: .STARTING, at: 12)
        try l.transition(to: .START_FAILED, reason: "image pull failed", at: 13)
        #expect(l.lastReason == "image pull failed")
        #expect(l.enteredAt == 13)
        #expect(l.history.map(\.state) == [.PENDING, .PROVISIONING, .STARTING, .START_FAILED])
    }

    @Test func randomWalksStayLegal() async {
        await propertyCheck(input: Gen.int(in: 0...1000).array(of: 1...30)) { choices in
            var l = Lifecycle(InstanceState.PENDING, at: 0)
            var holds = false
            for (i, c) in choices.enumerated() {
                let next = l.state.successors.sorted { $0.rawValue < $1.rawValue }
                guard !next.isEmpty else { break }
                let effect = try! l.transition(to: next[c % next.count], at: Double(i))
                if effect == .acquire { #expect(!holds); holds = true }
                if effect == .release { #expect(holds); holds = false }
                #expect(holds == l.state.holdsResources)
            }
            for (a, b) in zip(l.history, l.history.dropFirst()) { #expect(a.state.successors.contains(b.state)) }
        }
    }
}
