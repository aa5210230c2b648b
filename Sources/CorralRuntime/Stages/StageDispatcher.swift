import CorralCore
import CorralHost
import Foundation

/// One job for a stage, as the API shows it.
public struct StageJob: Sendable, Codable, Hashable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case queued = "QUEUED", running = "RUNNING", succeeded = "SUCCEEDED", failed = "FAILED"
        case cancelled = "CANCELLED", interrupted = "INTERRUPTED"
        public var terminal: Bool { ![.queued, .running].contains(self) }
    }

    public var id: String
    public var stage: String
    /// Arrival order: dispatch and fairness follow it.
    public var sequence: UInt64
    public var state: State
    public var task: Data
    public var output: Data?
    public var error: String?
    public var processor: String?
    public var deadlineSeconds: Double?
    public var submitted: Date
    public var started: Date?
    public var finished: Date?

    public init(id: String, stage: String, sequence: UInt64, state: State, task: Data, output: Data? = nil,
                error: String? = nil, processor: String? = nil, deadlineSeconds: Double? = nil, submitted: Date,
                started: Date? = nil, finished: Date? = nil) {
        self.id = id
        self.stage = stage
        self.sequence = sequence
        self.state = state
        self.task = task
        self.output = output
        self.error = error
        self.processor = processor
        self.deadlineSeconds = deadlineSeconds
        self.submitted = submitted
        self.started = started
        self.finished = finished
    }
}

/// Where jobs are kept across restarts (the executor's SQLite store).
public protocol StageJobStore: Sendable {
    func save(_ job: StageJob) async
}

/// Where one processor child is in its life, as `GET /stages` shows it.
public enum ProcessorSlotState: String, Sendable, Codable, CaseIterable {
    /// Spawned, waiting for its ready line.
    case starting
    /// Takes jobs.
    case ready
    /// Asked to stop (a missed deadline, or shutdown), waiting for its end.
    case exiting
    /// Died; waiting out its backoff before the next start.
    case restarting
    /// Died and is not restarted (auto_restart off).
    case exited
    /// Died too often in a row without completing a job: left stopped.
    case crashLooping = "crash-looping"
    /// The dispatcher shut down.
    case stopped
    /// Never started: no `bin` (damocles would run its built-in processor; Corral has none).
    case unstartable
}

/// What `GET /stages` shows.
public struct StagesSnapshot: Sendable, Codable {
    public struct Processor: Sendable, Codable {
        public var name: String
        public var state: ProcessorSlotState
        public var pid: Int32?
        public var cpuset: String?
        public var numaPreferred: Int?
        public var locks: [String]
        public var busy: Int
        public var concurrent: Int?
        public var restarts: Int
        public var lastError: String?
        public var confinement: String?
    }
    public struct Stage: Sendable, Codable {
        public var name: String
        public var limit: Int?
        public var running: Int
        public var queued: Int
        public var processors: [Processor]
        public var deadlineMisses: Int
        public var queueWaitSecondsSum: Double
        public var started: Int
    }
    public struct Lock: Sendable, Codable {
        public var name: String
        public var capacity: Int
        public var holders: [String]
        public var waiters: [String]
        public var waitSecondsSum: Double
        public var acquisitions: Int
    }
    public var stages: [Stage]
    public var locks: [Lock]
    public var fairness: String
    /// Placement warnings found when the executor started (e.g. cpusets shared with pinned instances).
    public var warnings: [String] = []
}

public struct StageError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unknownStage = "unknown_stage", notFound = "not_found", invalid = "invalid", finished = "finished"
        /// The stage is configured but none of its processors can run (no `bin`).
        case stageUnavailable = "stage_unavailable"
    }
    public var code: Code
    public var message: String
    public var description: String { message }
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// Answers arriving on processors' reader threads, handed to the dispatcher
/// in batches: one hop onto the actor per batch, not one task per answer.
final class AnswerInbox: @unchecked Sendable {
    // @unchecked: `items` and `scheduled` are guarded by `lock`.
    private let lock = NSLock()
    private var items: [(String, JobOutcome)] = []
    private var scheduled = false

    /// Adds an answer; true when the caller must schedule a drain.
    func push(_ id: String, _ outcome: JobOutcome) -> Bool {
        lock.withLock {
            items.append((id, outcome))
            if scheduled { return false }
            scheduled = true
            return true
        }
    }

    /// The answers so far; an empty batch ends the drain (the next push schedules another).
    func take() -> [(String, JobOutcome)] {
        lock.withLock {
            let batch = items
            items = []
            if batch.isEmpty { scheduled = false }
            return batch
        }
    }
}

/// Runs the pools of a processors config: per-stage queues, stage tokens,
/// staggered starts, processor slots and named locks, with these rules:
///
/// - A job takes its stage token, a processor slot and every lock that
///   processor lists in one step, or nothing (no hold-and-wait, so no deadlock
///   whatever order locks are listed in).
/// - Each stage is FIFO; a job goes to whichever of its stage's processors can
///   take it now (the least busy first), not always the first.
/// - Fairness across stages sharing a lock is FIFO by arrival: the oldest job
///   that waits only for locks reserves them, and younger jobs of any stage
///   cannot take a reserved lock. A waiting job therefore waits only for the
///   jobs holding its locks when it became the oldest waiter, never for later ones.
public actor StageDispatcher {
    public static let fairnessRule = "FIFO by arrival across each lock's waiters: the oldest job waiting only for locks reserves them"

    final class Slot {
        let entry: ProcessorEntry
        var child: ProcessorChild?
        var state = ProcessorSlotState.starting
        var busy = 0
        var restarts = 0
        var deathsInARow = 0
        var lastError: String?
        var generation = 0
        init(entry: ProcessorEntry) { self.entry = entry }
        var ready: Bool { state == .ready && child != nil }
        var hasRoom: Bool { entry.concurrent.map { busy < $0 } ?? true }
    }

    struct Running {
        var job: StageJob
        var slot: Int
        var requestID: UInt64?
        var generation: Int
        var locks: [String]
    }

    let config: ProcessorsConfig
    let logDir: String
    let cgroups: Cgroups
    let environment: [String: String]
    let store: (any StageJobStore)?
    var slots: [Slot] = []
    var queue: [StageJob] = []
    var running: [String: Running] = [:]
    var finished: [String: StageJob] = [:]
    var finishedOrder: [String] = []
    var waiters: [String: [CheckedContinuation<StageJob, Never>]] = [:]
    var locksHeld: [String: [String]] = [:]  // lock -> job ids
    var tokens: [String: Int] = [:]
    var lastStart: [String: ContinuousClock.Instant] = [:]
    var sequence: UInt64 = 0
    var lockWait: [String: (sum: Double, count: Int)] = [:]
    var queueWait: [String: (sum: Double, count: Int)] = [:]
    var deadlineMisses: [String: Int] = [:]
    var staggerTimer = false
    var stopped = false
    var warnings: [String] = []
    let keepFinished = 10_000
    let inbox = AnswerInbox()
    let scheduler: StageScheduler
    /// Six hex digits drawn once per start: with the sequence (which goes on
    /// from the stored jobs after a restart) job ids never repeat.
    let idSalt = String(UInt32.random(in: 0x10_0000...0xFF_FFFF), radix: 16)
    /// Job records to save, in the order they changed: one writer (the
    /// executor's stage service) takes them from ``records``, so a job's rows
    /// never land out of order.
    let saves: AsyncStream<StageJob>.Continuation?
    /// Every change of a job, in order, when the dispatcher has a store; ends after ``closeRecords()``.
    public nonisolated let records: AsyncStream<StageJob>?

    public init(config: ProcessorsConfig, logDir: String, cgroups: Cgroups, environment: [String: String],
                store: (any StageJobStore)?) {
        self.config = config
        self.logDir = logDir
        self.cgroups = cgroups
        self.environment = environment
        self.store = store
        scheduler = StageScheduler(rules: .init(concurrent: config.concurrent, staggered: config.staggered.mapValues(\.duration),
                                                lockCapacity: config.locks))
        if store != nil {
            let (stream, continuation) = AsyncStream<StageJob>.makeStream()
            saves = continuation
            records = stream
        } else {
            saves = nil
            records = nil
        }
        // Requests are written to the processors' stdin pipes: a processor that
        // died must give EPIPE, not kill the executor. (Children get the default back.)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Starts every processor (in parallel) and returns once each is ready or failed.
    public func start() async {
        slots = config.allEntries.map(Slot.init)
        for slot in slots where ProcessorChild.command(for: slot.entry) == nil {
            slot.state = .unstartable
            slot.lastError = Self.noBinMessage(slot.entry)
        }
        await withTaskGroup(of: Void.self) { g in
            for i in slots.indices where slots[i].state != .unstartable { g.addTask { await self.launch(i) } }
        }
    }

    /// Jobs found in the store from before a restart: queued ones run again,
    /// running ones are reported as interrupted (their processors died with the executor).
    public func restore(_ jobs: [StageJob]) async {
        for var j in jobs.sorted(by: { $0.sequence < $1.sequence }) {
            sequence = max(sequence, j.sequence)
            switch j.state {
            case .queued where config.stages[j.stage] != nil:
                queue.append(j)
            case .queued, .running:
                let ran = j.state == .running
                j.state = .interrupted
                j.error = ran
                    ? "interrupted: the executor stopped while the job ran on \(j.processor ?? "a processor")"
                    : "interrupted: stage \(j.stage) is no longer configured"
                j.finished = Date()
                remember(j)
                await store?.save(j)
            default:
                remember(j)
            }
        }
        // Queued jobs of a stage that cannot run (restored after ``start()``) fail with its reason.
        if !slots.isEmpty { failStarved() }
        pump()
    }

    /// The processors as configured (what the machine map draws).
    public var entries: [ProcessorEntry] { config.allEntries }

    /// Placement warnings to show with the pools (`GET /stages`).
    public func note(warnings: [String]) { self.warnings += warnings }

    /// Ends ``records`` (after ``shutdown()``: the last changes are in it).
    public nonisolated func closeRecords() { saves?.finish() }

    public func shutdown() {
        stopped = true
        for s in slots { s.child?.kill() }
    }

    static func noBinMessage(_ e: ProcessorEntry) -> String {
        "\(e.name) has no bin: damocles-worker would run its built-in \(e.stage) processor; Corral has none and needs a bin to start it"
    }

    private func launch(_ i: Int) async {
        let slot = slots[i]
        slot.generation += 1
        let generation = slot.generation
        slot.state = .starting
        let log = "\(logDir)/\(slot.entry.stage)-\(slot.entry.index).log"
        let child = ProcessorChild(entry: slot.entry, logPath: log, cgroups: cgroups) { [weak self] _, status in
            guard let self else { return }
            Task { await self.childExited(i, generation: generation, status: status) }
        }
        do {
            try await child.start(environment: environment)
            guard generation == slot.generation, !stopped else { child.kill(); return }
            slot.child = child
            slot.state = .ready
            pump()
        } catch {
            guard generation == slot.generation else { return }
            slot.lastError = error.message
            slot.child = nil
            died(i, reason: error.message)
        }
    }

    private func childExited(_ i: Int, generation: Int, status: Int32?) {
        let slot = slots[i]
        guard generation == slot.generation, slot.child != nil else { return }
        slot.child = nil
        let how = status.map { "exit status \(ExitWatcher.exitCode($0))" } ?? "ended"
        slot.lastError = "\(slot.entry.name) \(how)"
        // Its in-flight jobs were failed by the child itself; their slots and locks come back in `completed`.
        died(i, reason: slot.lastError!)
    }

    private func died(_ i: Int, reason: String) {
        let slot = slots[i]
        guard !stopped else { slot.state = .stopped; return }
        slot.deathsInARow += 1
        if !slot.entry.autoRestart {
            slot.state = .exited
            failStarved()
            return
        }
        if slot.deathsInARow >= config.restart.crashLoopLimit {
            slot.state = .crashLooping
            slot.lastError = "\(reason); \(slot.deathsInARow) failures in a row without a completed job, not restarted again"
            failStarved()
            return
        }
        // Exponential backoff with ±20% jitter.
        let base = config.restart.initialBackoff.seconds * pow(2, Double(slot.deathsInARow - 1))
        let delay = min(base, config.restart.maxBackoff.seconds) * Double.random(in: 0.8...1.2)
        slot.state = .restarting
        slot.restarts += 1
        Task {
            try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            await self.launch(i)
        }
    }

    /// Queued jobs of a stage none of whose processors will ever run again fail now.
    /// Fails the queued jobs of stages (all, or `only`) whose processors all exited for good.
    private func failStarved(only: String? = nil) {
        for stage in only.map({ [$0] }) ?? Array(Set(queue.map(\.stage))) {
            let pool = slots.filter { $0.entry.stage == stage }
            guard pool.allSatisfy({ [.crashLooping, .exited, .unstartable].contains($0.state) }) else { continue }
            for j in queue where j.stage == stage {
                finish(j, .failed, error: "no processor of stage \(stage) is running: "
                       + (pool.compactMap(\.lastError).first ?? "all exited"))
            }
            queue.removeAll { $0.stage == stage }
        }
    }

    // MARK: Jobs

    public func submit(stage: String, task: Data, deadline: Double?) async throws(StageError) -> StageJob {
        guard config.stages[stage] != nil else {
            throw StageError(.unknownStage, "no processors for stage \"\(stage)\"; configured: \(config.stageNames.joined(separator: ", "))")
        }
        let pool = slots.filter { $0.entry.stage == stage }
        if !pool.isEmpty, pool.allSatisfy({ $0.state == .unstartable }) {
            throw StageError(.stageUnavailable, "stage \(stage) is not running: " + (pool.first?.lastError ?? "no processor can start"))
        }
        sequence += 1
        let job = StageJob(id: "job-\(sequence)-\(idSalt)",
                           stage: stage, sequence: sequence, state: .queued, task: task,
                           deadlineSeconds: deadline ?? config.deadline[stage]?.seconds, submitted: Date())
        // Saved before it can run, so no later record of it is overwritten by this one;
        // queued by arrival even if another submit's save finished first.
        await store?.save(job)
        if queue.last.map({ $0.sequence < job.sequence }) ?? true {
            queue.append(job)
        } else {
            queue.insert(job, at: queue.firstIndex { $0.sequence > job.sequence } ?? queue.endIndex)
        }
        failStarved(only: stage)
        pump()
        return current(job.id) ?? job
    }

    public func job(_ id: String) -> StageJob? { current(id) }

    func current(_ id: String) -> StageJob? {
        running[id]?.job ?? finished[id] ?? queue.first { $0.id == id }
    }

    /// Waits until the job has ended.
    public func wait(_ id: String) async -> StageJob? {
        guard let j = current(id) else { return nil }
        if j.state.terminal { return j }
        return await withCheckedContinuation { c in waiters[id, default: []].append(c) }
    }

    /// Cancels a job. A queued job goes at once; a running one is marked
    /// cancelled and its answer dropped, but its slot and locks stay taken
    /// until the processor answers or its deadline passes (the protocol has no
    /// cancel, and killing the processor would fail its other jobs).
    public func cancel(_ id: String) async throws(StageError) -> StageJob {
        if let i = queue.firstIndex(where: { $0.id == id }) {
            let j = queue.remove(at: i)
            finish(j, .cancelled, error: "cancelled before it started")
            pump()
            return finished[id]!
        }
        if var r = running[id] {
            r.job.state = .cancelled
            r.job.error = "cancelled while running on \(r.job.processor ?? "?"); the processor's answer will be dropped"
            running[id] = r
            saves?.yield(r.job)
            return r.job
        }
        if let j = finished[id] { throw StageError(.finished, "job \(id) already ended: \(j.state.rawValue)") }
        throw StageError(.notFound, "no job \(id)")
    }

    // MARK: Dispatch

    private func pump() {
        // A processor found gone while dispatching changes what can run: look again.
        while pumpOnce() {}
    }

    /// One pass over the queue (the decisions are ``StageScheduler``'s); true
    /// when it should be run again because a chosen processor turned out gone.
    private func pumpOnce() -> Bool {
        guard !stopped else { return false }
        let now = ContinuousClock.now
        let books = StageScheduler.Books(tokens: tokens, held: locksHeld.mapValues(\.count), lastStart: lastStart)
        let views = slots.map { StageScheduler.Processor(stage: $0.entry.stage, locks: $0.entry.locks, ready: $0.ready,
                                                        busy: $0.busy, concurrent: $0.entry.concurrent) }
        let decision = scheduler.decide(queue: queue.map(\.stage), processors: views, books: books, now: now)
        var dispatched: Set<String> = []
        var again = false
        // One write per processor for everything it takes in this pass.
        var byProcessor: [Int: [StageJob]] = [:]
        var order: [Int] = []
        for start in decision.starts {
            if byProcessor[start.processor] == nil { order.append(start.processor) }
            byProcessor[start.processor, default: []].append(queue[start.job])
        }
        for i in order {
            guard dispatch(byProcessor[i]!, on: i, now: now) else {
                again = true
                break
            }
            for j in byProcessor[i]! { dispatched.insert(j.id) }
        }
        if !dispatched.isEmpty { queue.removeAll { dispatched.contains($0.id) } }
        if again { return true }
        if let at = decision.lookAgainAt, !staggerTimer {
            staggerTimer = true
            Task {
                try? await Task.sleep(until: at, clock: .continuous)
                await self.staggerElapsed()
            }
        }
        return false
    }

    private func staggerElapsed() {
        staggerTimer = false
        pump()
    }

    /// Sends the jobs to processor `i` (one write) and takes their tokens,
    /// slots and locks. False when the processor turned out to be gone (its
    /// exit is on the way to `childExited`): nothing is taken and the jobs stay queued.
    private func dispatch(_ jobs: [StageJob], on i: Int, now: ContinuousClock.Instant) -> Bool {
        let slot = slots[i]
        guard let child = slot.child else { return false }
        // The answers come through `completed`, on this actor, so after the bookkeeping below.
        let inbox = self.inbox
        let requests = jobs.map { queued in
            let id = queued.id
            return (task: queued.task, done: { @Sendable [weak self] (outcome: JobOutcome) in
                guard inbox.push(id, outcome), let self else { return }
                Task { await self.drainAnswers() }
            })
        }
        guard let requestIDs = child.send(requests) else {
            slot.state = .exiting
            return false
        }
        let started = Date()
        for (queued, requestID) in zip(jobs, requestIDs) {
            var job = queued
            job.state = .running
            job.started = started
            job.processor = slot.entry.name
            let waited = started.timeIntervalSince(job.submitted)
            queueWait[job.stage, default: (0, 0)].sum += waited
            queueWait[job.stage, default: (0, 0)].count += 1
            for l in slot.entry.locks {
                locksHeld[l, default: []].append(job.id)
                lockWait[l, default: (0, 0)].sum += waited
                lockWait[l, default: (0, 0)].count += 1
            }
            tokens[job.stage, default: 0] += 1
            lastStart[job.stage] = now
            slot.busy += 1
            let generation = slot.generation
            let id = job.id
            running[id] = Running(job: job, slot: i, requestID: requestID, generation: generation, locks: slot.entry.locks)
            saves?.yield(job)
            if let seconds = job.deadlineSeconds {
                Task {
                    try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                    await self.deadlinePassed(id, generation: generation)
                }
            }
        }
        return true
    }

    private func drainAnswers() {
        while true {
            let batch = inbox.take()
            if batch.isEmpty { break }
            for (id, outcome) in batch { completed(id, outcome) }
        }
        pump()
    }

    /// Books one answer; the caller pumps.
    private func completed(_ id: String, _ outcome: JobOutcome) {
        guard let r = running.removeValue(forKey: id) else { return }
        release(r)
        let slot = slots[r.slot]
        if r.job.state == .cancelled {
            finish(r.job, .cancelled, error: r.job.error)
        } else {
            switch outcome {
            case .output(let data):
                slot.deathsInARow = 0
                finish(r.job, .succeeded, output: data)
            case .failed(let message):
                // An answer with err_msg means the processor works.
                slot.deathsInARow = 0
                finish(r.job, .failed, error: message)
            case .lost(let message):
                finish(r.job, .failed, error: message)
            }
        }
    }

    private func deadlinePassed(_ id: String, generation: Int) {
        guard let r = running[id], r.generation == generation else { return }
        let slot = slots[r.slot]
        deadlineMisses[r.job.stage, default: 0] += 1
        running.removeValue(forKey: id)
        release(r)
        if let rid = r.requestID { slot.child?.abandon(rid) }
        finish(r.job, .failed, error: "deadline \(r.job.deadlineSeconds!)s missed on \(r.job.processor ?? "?"); "
               + "the processor is treated as hung and restarted")
        slot.lastError = "missed the deadline of job \(id); restarted"
        // Its other in-flight jobs fail through the child's exit.
        slot.child?.kill()
        pump()
    }

    private func release(_ r: Running) {
        let slot = slots[r.slot]
        slot.busy = max(0, slot.busy - 1)
        tokens[r.job.stage, default: 1] -= 1
        for l in r.locks { locksHeld[l]?.removeAll { $0 == r.job.id } }
    }

    private func finish(_ j: StageJob, _ state: StageJob.State, output: Data? = nil, error: String? = nil) {
        var job = j
        job.state = state
        job.output = output
        job.error = error
        job.finished = Date()
        remember(job)
        saves?.yield(job)
        for c in waiters.removeValue(forKey: job.id) ?? [] { c.resume(returning: job) }
    }

    private func remember(_ job: StageJob) {
        finished[job.id] = job
        finishedOrder.append(job.id)
        // Forget the oldest in batches: one shift per keepFinished/2 jobs, not one per job.
        if finishedOrder.count > keepFinished + keepFinished / 2 {
            let drop = finishedOrder.count - keepFinished
            for id in finishedOrder[..<drop] { finished.removeValue(forKey: id) }
            finishedOrder.removeFirst(drop)
        }
    }

    // MARK: Introspection

    public func snapshot() -> StagesSnapshot {
        let stages = config.stageNames.map { name in
            StagesSnapshot.Stage(
                name: name, limit: config.concurrent[name], running: tokens[name, default: 0],
                queued: queue.filter { $0.stage == name }.count,
                processors: slots.filter { $0.entry.stage == name }.map { s in
                    StagesSnapshot.Processor(name: s.entry.name, state: s.state, pid: s.child?.pid, cpuset: s.entry.cpuset?.listString,
                                             numaPreferred: s.entry.numaPreferred, locks: s.entry.locks, busy: s.busy,
                                             concurrent: s.entry.concurrent, restarts: s.restarts, lastError: s.lastError,
                                             confinement: s.child?.confinement)
                },
                deadlineMisses: deadlineMisses[name, default: 0], queueWaitSecondsSum: queueWait[name]?.sum ?? 0,
                started: queueWait[name]?.count ?? 0)
        }
        // Waiters of a lock: queued jobs whose stage's processors all need it.
        let locks = config.locks.keys.sorted().map { name in
            StagesSnapshot.Lock(
                name: name, capacity: config.locks[name]!, holders: locksHeld[name, default: []],
                waiters: queue.filter { j in
                    let pool = slots.filter { $0.entry.stage == j.stage }
                    return !pool.isEmpty && pool.allSatisfy { $0.entry.locks.contains(name) }
                }.map(\.id),
                waitSecondsSum: lockWait[name]?.sum ?? 0, acquisitions: lockWait[name]?.count ?? 0)
        }
        return StagesSnapshot(stages: stages, locks: locks, fairness: Self.fairnessRule, warnings: warnings)
    }
}
