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

    /// Renders the counters plus the gauges given by the executor.
    public func render(gauges: [(name: String, help: String, samples: [(labels: [String: String], value: Double)])]) -> String {
        var out = ""
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
