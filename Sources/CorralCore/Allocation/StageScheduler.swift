/// The stage dispatcher's decisions with no I/O: which queued jobs start now,
/// on which processor, and when to look again. The dispatcher (an actor in
/// CorralRuntime) keeps the books and carries the decisions out; this type
/// only decides, so the rules can be tested on their own:
///
/// - A job takes its stage token, a processor slot and every lock that
///   processor lists in one step, or nothing (no hold-and-wait).
/// - Each stage is FIFO; a job goes to the least busy of its stage's
///   processors that can take it now.
/// - A stage at its `concurrent` limit, or inside its `staggered` gap while
///   jobs of it run, starts nothing; the earliest end of a gap is reported.
/// - Fairness across stages sharing a lock is FIFO by arrival: the oldest job
///   that waits only for locks reserves them (those of the processor needing
///   the fewest held ones), and no younger job of any stage may take a
///   reserved lock.
public struct StageScheduler: Sendable {
    public struct Rules: Sendable {
        /// Stage -> most jobs at once.
        public var concurrent: [String: Int]
        /// Stage -> least time between two starts while jobs of it run.
        public var staggered: [String: Duration]
        /// Lock -> how many may hold it at once.
        public var lockCapacity: [String: Int]

        public init(concurrent: [String: Int] = [:], staggered: [String: Duration] = [:], lockCapacity: [String: Int] = [:]) {
            self.concurrent = concurrent
            self.staggered = staggered
            self.lockCapacity = lockCapacity
        }
    }

    /// One processor as the scheduler sees it.
    public struct Processor: Sendable, Hashable {
        public var stage: String
        public var locks: [String]
        /// Started and answering.
        public var ready: Bool
        /// Jobs it runs now.
        public var busy: Int
        /// At most this many at once (nil: no limit).
        public var concurrent: Int?

        public init(stage: String, locks: [String] = [], ready: Bool = true, busy: Int = 0, concurrent: Int? = nil) {
            self.stage = stage
            self.locks = locks
            self.ready = ready
            self.busy = busy
            self.concurrent = concurrent
        }

        public var hasRoom: Bool { concurrent.map { busy < $0 } ?? true }
    }

    /// What is taken now: jobs running per stage, holders per lock, last start per stage.
    public struct Books: Sendable {
        public var tokens: [String: Int]
        public var held: [String: Int]
        public var lastStart: [String: ContinuousClock.Instant]

        public init(tokens: [String: Int] = [:], held: [String: Int] = [:], lastStart: [String: ContinuousClock.Instant] = [:]) {
            self.tokens = tokens
            self.held = held
            self.lastStart = lastStart
        }
    }

    public struct Start: Sendable, Hashable {
        /// Index into the queue given.
        public var job: Int
        /// Index into the processors given.
        public var processor: Int

        public init(job: Int, processor: Int) {
            self.job = job
            self.processor = processor
        }
    }

    public struct Decision: Sendable {
        /// In queue order; carry them out in this order.
        public var starts: [Start] = []
        /// The earliest moment a staggered stage may start its next job.
        public var lookAgainAt: ContinuousClock.Instant?
    }

    public var rules: Rules

    public init(rules: Rules) { self.rules = rules }

    /// One pass over `queue` (the stages of the queued jobs, oldest first).
    /// The books and processors are updated as if every start were carried out.
    public func decide(queue: [String], processors: [Processor], books: Books, now: ContinuousClock.Instant) -> Decision {
        var processors = processors
        var books = books
        var decision = Decision()
        var reserved: [String: Int] = [:]
        var blockedStages: Set<String> = []
        func capacity(_ l: String) -> Int { rules.lockCapacity[l] ?? Int.max }
        func held(_ l: String) -> Int { books.held[l, default: 0] }
        for (index, stage) in queue.enumerated() {
            if blockedStages.contains(stage) { continue }
            let running = books.tokens[stage, default: 0]
            if let limit = rules.concurrent[stage], running >= limit {
                blockedStages.insert(stage)
                continue
            }
            if let gap = rules.staggered[stage], let last = books.lastStart[stage], now < last + gap, running > 0 {
                blockedStages.insert(stage)
                decision.lookAgainAt = min(decision.lookAgainAt ?? last + gap, last + gap)
                continue
            }
            let candidates = processors.indices.filter { processors[$0].stage == stage && processors[$0].ready && processors[$0].hasRoom }
            guard !candidates.isEmpty else {
                blockedStages.insert(stage)
                continue
            }
            // Free for this job: not held, and not reserved by an older waiting job.
            let free = candidates.filter { i in processors[i].locks.allSatisfy { held($0) + reserved[$0, default: 0] < capacity($0) } }
            if let i = free.min(by: { processors[$0].busy < processors[$1].busy }) {
                decision.starts.append(Start(job: index, processor: i))
                processors[i].busy += 1
                books.tokens[stage, default: 0] += 1
                books.lastStart[stage] = now
                for l in processors[i].locks { books.held[l, default: 0] += 1 }
            } else {
                // Waiting for locks only: reserve those of the processor that
                // needs the fewest held ones, so younger jobs cannot overtake.
                func blocking(_ i: Int) -> Int { processors[i].locks.filter { held($0) >= capacity($0) }.count }
                let best = candidates.min { blocking($0) < blocking($1) }!
                for l in processors[best].locks { reserved[l, default: 0] += 1 }
                blockedStages.insert(stage)
            }
        }
        return decision
    }
}
