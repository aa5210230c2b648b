import CorralRuntime
import Foundation
import HTTPTypes
import Hummingbird

/// The executor's metrics, rendered in the Prometheus text format on the admin
/// port's `/metrics`. Counters and one latency histogram, kept in an actor.
public actor Metrics {
    /// Bytes written to instance log files, counted synchronously by the writers.
    public nonisolated let logBytes = Counter()

    /// A counter safe to bump from any thread without awaiting.
    public final class Counter: @unchecked Sendable {
        // @unchecked: `value` is only touched under `lock`.
        private let lock = NSLock()
        private var value: UInt64 = 0
        public func add(_ n: Int) { lock.lock(); value += UInt64(n); lock.unlock() }
        public var total: UInt64 { lock.lock(); defer { lock.unlock() }; return value }
    }

    private var counters: [String: Double] = [:]
    private var durationCount: [String: Int] = [:]
    private var durationSum: [String: Double] = [:]
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    private var bucketCounts: [String: [Int]] = [:]

    public init() {}

    /// `name{labels}` += by.
    public func increment(_ name: String, _ labels: [String: String] = [:], by: Double = 1) {
        counters[Self.key(name, labels), default: 0] += by
    }

    public func observeRequest(method: String, status: Int, seconds: Double) {
        let labels = "method=\"\(method)\",status=\"\(status / 100)xx\""
        durationCount[labels, default: 0] += 1
        durationSum[labels, default: 0] += seconds
        var counts = bucketCounts[labels] ?? Array(repeating: 0, count: Self.buckets.count)
        for (i, b) in Self.buckets.enumerated() where seconds <= b { counts[i] += 1 }
        bucketCounts[labels] = counts
    }

    static func key(_ name: String, _ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return name }
        let l = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escape($0.value))\"" }.joined(separator: ",")
        return "\(name){\(l)}"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    private var stages: StageDispatcher?
    public func setStages(_ d: StageDispatcher) { stages = d }

    /// Stage processor figures: queue wait per stage and per lock, busy slots, restarts, deadline misses.
    func renderStages() async -> String {
        guard let stages else { return "" }
        let s = await stages.snapshot()
        var out = "# HELP corral_stage_queue_wait_seconds Time jobs waited before a processor took them\n"
        out += "# TYPE corral_stage_queue_wait_seconds summary\n"
        for st in s.stages {
            out += "corral_stage_queue_wait_seconds_sum{stage=\"\(Self.escape(st.name))\"} \(Self.format(st.queueWaitSecondsSum))\n"
            out += "corral_stage_queue_wait_seconds_count{stage=\"\(Self.escape(st.name))\"} \(st.started)\n"
        }
        out += "# HELP corral_lock_wait_seconds Time jobs waited before taking a lock (with everything else they needed)\n"
        out += "# TYPE corral_lock_wait_seconds summary\n"
        for l in s.locks {
            out += "corral_lock_wait_seconds_sum{lock=\"\(Self.escape(l.name))\"} \(Self.format(l.waitSecondsSum))\n"
            out += "corral_lock_wait_seconds_count{lock=\"\(Self.escape(l.name))\"} \(l.acquisitions)\n"
        }
        out += "# TYPE corral_stage_queued_jobs gauge\n"
        for st in s.stages { out += "corral_stage_queued_jobs{stage=\"\(Self.escape(st.name))\"} \(st.queued)\n" }
        out += "# TYPE corral_stage_deadline_misses_total counter\n"
        for st in s.stages { out += "corral_stage_deadline_misses_total{stage=\"\(Self.escape(st.name))\"} \(st.deadlineMisses)\n" }
        out += "# TYPE corral_processor_busy_slots gauge\n"
        for p in s.stages.flatMap(\.processors) { out += "corral_processor_busy_slots{processor=\"\(Self.escape(p.name))\"} \(p.busy)\n" }
        out += "# TYPE corral_processor_restarts_total counter\n"
        for p in s.stages.flatMap(\.processors) { out += "corral_processor_restarts_total{processor=\"\(Self.escape(p.name))\"} \(p.restarts)\n" }
        return out
    }

    /// Renders the counters plus the gauges given by the executor.
    public func render(gauges: [(name: String, help: String, samples: [(labels: [String: String], value: Double)])]) async -> String {
        var out = await renderStages()
        for g in gauges {
            out += "# HELP \(g.name) \(g.help)\n# TYPE \(g.name) gauge\n"
            for s in g.samples { out += "\(Self.key(g.name, s.labels)) \(Self.format(s.value))\n" }
        }
        out += "# TYPE corral_log_bytes_written_total counter\ncorral_log_bytes_written_total \(logBytes.total)\n"
        var seen = Set<String>()
        for k in counters.keys.sorted() {
            let name = String(k.prefix(while: { $0 != "{" }))
            if seen.insert(name).inserted { out += "# TYPE \(name) counter\n" }
            out += "\(k) \(Self.format(counters[k]!))\n"
        }
        out += "# HELP corral_api_request_duration_seconds API request durations\n"
        out += "# TYPE corral_api_request_duration_seconds histogram\n"
        for labels in bucketCounts.keys.sorted() {
            let counts = bucketCounts[labels]!
            for (i, b) in Self.buckets.enumerated() {
                out += "corral_api_request_duration_seconds_bucket{\(labels),le=\"\(b)\"} \(counts[i])\n"
            }
            out += "corral_api_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(durationCount[labels]!)\n"
            out += "corral_api_request_duration_seconds_sum{\(labels)} \(durationSum[labels]!)\n"
            out += "corral_api_request_duration_seconds_count{\(labels)} \(durationCount[labels]!)\n"
        }
        return out
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}

/// Times every API request into the metrics.
struct RequestTiming<Context: RequestContext>: RouterMiddleware {
    let metrics: Metrics

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let d = ContinuousClock.now - start
        await metrics.observeRequest(method: request.method.rawValue, status: Int(response.status.code),
                                     seconds: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        return response
    }
}
