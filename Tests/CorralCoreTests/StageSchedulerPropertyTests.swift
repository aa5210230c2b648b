import CorralCore
import PropertyBased
import Testing

/// The stage scheduler's rules over generated pools, locks, books and queues.
@Suite struct StageSchedulerPropertyTests {
    static let stages = ["pc1", "pc2", "c2"]
    static let lockNames = ["gpu0", "gpu1"]

    /// A world from plain numbers: processors (stage, locks, concurrency, busy,
    /// ready), lock capacities, stage limits, jobs held, and the queue.
    struct World: Sendable {
        var processors: [StageScheduler.Processor]
        var rules: StageScheduler.Rules
        var books: StageScheduler.Books
        var queue: [String]
    }

    static func world(_ p: [Int], _ q: [Int], _ knobs: [Int]) -> World {
        var processors: [StageScheduler.Processor] = []
        for (i, n) in p.enumerated() {
            let stage = stages[n % 3]
            var locks: [String] = []
            if n & 4 != 0 { locks.append(lockNames[0]) }
            if n & 8 != 0 { locks.append(lockNames[1]) }
            let concurrent: Int? = n & 16 != 0 ? 1 + (n >> 5) % 3 : nil
            let busy = concurrent.map { (i + n) % ($0 + 1) } ?? (n >> 7) % 3
            processors.append(.init(stage: stage, locks: locks, ready: n % 11 != 0, busy: min(busy, concurrent ?? busy),
                                    concurrent: concurrent))
        }
        var rules = StageScheduler.Rules()
        var books = StageScheduler.Books()
        for (i, l) in lockNames.enumerated() {
            let cap = 1 + knobs[i] % 2
            rules.lockCapacity[l] = cap
            // Held by running jobs: free, partly or fully taken (never above capacity in a valid world).
            books.held[l] = (knobs[i] / 2) % (cap + 1)
        }
        for (i, s) in stages.enumerated() {
            if knobs[2 + i] % 3 == 0 { rules.concurrent[s] = 1 + knobs[2 + i] % 4 }
            books.tokens[s] = processors.filter { $0.stage == s }.map(\.busy).reduce(0, +)
        }
        return World(processors: processors, rules: rules, books: books, queue: q.map { stages[$0 % 3] })
    }

    /// The world and the scheduler's decision on it.
    static func decided(_ p: [Int], _ q: [Int], _ k: [Int]) -> (World, StageScheduler.Decision) {
        let w = world(p, q, k)
        return (w, StageScheduler(rules: w.rules).decide(queue: w.queue, processors: w.processors, books: w.books,
                                                        now: ContinuousClock.now))
    }

    static let input = (Gen.int(in: 0...1023).array(of: 1...8), Gen.int(in: 0...99).array(of: 0...20),
                        Gen.int(in: 0...99).array(of: 5))

    @Test func startsRespectEveryLimitAndTakeEachJobOnce() async {
        await propertyCheck(count: 500, input: Self.input.0, Self.input.1, Self.input.2) { p, q, k in
            Self.startsRespectEveryLimitAndTakeEachJobOnceCheck(p, q, k)
        }
    }

    static func startsRespectEveryLimitAndTakeEachJobOnceCheck(_ p: [Int], _ q: [Int], _ k: [Int]) {
        let (w, d) = Self.decided(p, q, k)
        #expect(Set(d.starts.map(\.job)).count == d.starts.count, "a job started twice")
        var busy = w.processors.map(\.busy)
        var tokens = w.books.tokens
        var held = w.books.held
        for s in d.starts {
            let proc = w.processors[s.processor]
            #expect(proc.stage == w.queue[s.job], "a job went to another stage's processor")
            #expect(proc.ready)
            busy[s.processor] += 1
            tokens[proc.stage, default: 0] += 1
            for l in proc.locks { held[l, default: 0] += 1 }
        }
        for (i, proc) in w.processors.enumerated() {
            if let c = proc.concurrent, d.starts.contains(where: { $0.processor == i }) { #expect(busy[i] <= c) }
        }
        for (stage, limit) in w.rules.concurrent where d.starts.contains(where: { w.queue[$0.job] == stage }) {
            #expect(tokens[stage, default: 0] <= limit, "stage \(stage) above its limit")
        }
        for (l, cap) in w.rules.lockCapacity where d.starts.contains(where: { w.processors[$0.processor].locks.contains(l) }) {
            #expect(held[l, default: 0] <= cap, "lock \(l) above its capacity")
        }
    }

    @Test func eachStageStartsInArrivalOrder() async {
        await propertyCheck(count: 500, input: Self.input.0, Self.input.1, Self.input.2) { p, q, k in
            Self.eachStageStartsInArrivalOrderCheck(p, q, k)
        }
    }

    static func eachStageStartsInArrivalOrderCheck(_ p: [Int], _ q: [Int], _ k: [Int]) {
        let (w, d) = Self.decided(p, q, k)
        let started = Set(d.starts.map(\.job))
        // Within a stage, a job never starts while an older one of that stage stays queued.
        for s in d.starts {
            let olderSameStage = w.queue.indices.filter { $0 < s.job && w.queue[$0] == w.queue[s.job] }
            #expect(olderSameStage.allSatisfy(started.contains), "job \(s.job) overtook an older job of \(w.queue[s.job])")
        }
    }

    @Test func anOlderJobWaitingForALockIsNotOvertakenOnIt() async {
        await propertyCheck(count: 500, input: Self.input.0, Self.input.1, Self.input.2) { p, q, k in
            Self.anOlderJobWaitingForALockIsNotOvertakenOnItCheck(p, q, k)
        }
    }

    static func anOlderJobWaitingForALockIsNotOvertakenOnItCheck(_ p: [Int], _ q: [Int], _ k: [Int]) {
        let (w, d) = Self.decided(p, q, k)
        let started = Set(d.starts.map(\.job))
        var busy = w.processors.map(\.busy)
        for st in d.starts { busy[st.processor] += 1 }
        for l in Self.lockNames where w.rules.lockCapacity[l] == 1 {
            // J: the oldest job of its stage left queued, its stage without a limit, every processor
            // of its stage needing l, and one of them ready with room even after this pass. It did not
            // start, so it waits for a lock and has reserved l: no younger job may take l.
            let waiting = w.queue.indices.filter { j in
                let stage = w.queue[j]
                let pool = w.processors.indices.filter { w.processors[$0].stage == stage }
                let firstLeft = !w.queue.indices.contains { $0 < j && w.queue[$0] == stage && !started.contains($0) }
                return !started.contains(j) && firstLeft && w.rules.concurrent[stage] == nil && !pool.isEmpty
                    && pool.allSatisfy { w.processors[$0].locks.contains(l) }
                    && pool.contains { i in w.processors[i].ready && (w.processors[i].concurrent.map { busy[i] < $0 } ?? true) }
            }
            guard let oldest = waiting.min() else { continue }
            for st in d.starts where st.job > oldest {
                #expect(!w.processors[st.processor].locks.contains(l), "a younger job took \(l) while job \(oldest) waited for it")
            }
        }
    }

    /// c2 needs both GPU locks and waits for gpu1; it reserves gpu0 as well,
    /// so the younger pc2 job may not take gpu0 ahead of it (Scheme B's starvation).
    @Test func aReservedLockIsNotTakenByAYoungerJob() {
        let rules = StageScheduler.Rules(lockCapacity: ["gpu0": 1, "gpu1": 1])
        let procs = [StageScheduler.Processor(stage: "c2", locks: ["gpu0", "gpu1"]),
                     StageScheduler.Processor(stage: "pc2", locks: ["gpu0"])]
        let s = StageScheduler(rules: rules)
        let waiting = s.decide(queue: ["c2", "pc2"], processors: procs, books: .init(held: ["gpu1": 1]), now: .now)
        #expect(waiting.starts.isEmpty, "pc2 overtook c2 on gpu0")
        let free = s.decide(queue: ["c2", "pc2"], processors: procs, books: .init(), now: .now)
        #expect(free.starts == [.init(job: 0, processor: 0)])
        let alone = s.decide(queue: ["pc2"], processors: procs, books: .init(held: ["gpu1": 1]), now: .now)
        #expect(alone.starts == [.init(job: 0, processor: 1)], "with nobody older waiting, pc2 takes gpu0")
    }

    @Test func aStaggeredStageWaitsItsGapAndSaysWhen() {
        let t0 = ContinuousClock.now
        let rules = StageScheduler.Rules(staggered: ["pc1": .seconds(30)])
        let procs = [StageScheduler.Processor(stage: "pc1", busy: 1)]
        let books = StageScheduler.Books(tokens: ["pc1": 1], lastStart: ["pc1": t0])
        let d = StageScheduler(rules: rules).decide(queue: ["pc1", "pc1"], processors: procs, books: books, now: t0 + .seconds(10))
        #expect(d.starts.isEmpty)
        #expect(d.lookAgainAt == t0 + .seconds(30))
        let later = StageScheduler(rules: rules).decide(queue: ["pc1", "pc1"], processors: procs, books: books, now: t0 + .seconds(31))
        #expect(later.starts == [.init(job: 0, processor: 0)], "one start per gap")
        let idle = StageScheduler(rules: rules).decide(queue: ["pc1"], processors: [.init(stage: "pc1")],
                                                       books: .init(lastStart: ["pc1": t0]), now: t0)
        #expect(idle.starts.count == 1, "with nothing running the next starts at once")
    }
}
