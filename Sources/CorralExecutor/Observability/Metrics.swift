import CoreMetrics
import CorralCore
import CorralRuntime
import Foundation
import Prometheus

/// Every metric the executor exports, named once. Dashboards depend on these
/// names and their labels; change neither lightly.
public enum MetricName: String, Sendable, CaseIterable {
    // Counters, bumped where things happen.
    case starts = "corral_starts_total"
    case failures = "corral_failures_total"
    case checkFailures = "corral_check_failures_total"
    case unauthorized = "corral_api_unauthorized_total"
    case logBytes = "corral_log_bytes_written_total"
    case logWriteFailures = "corral_log_write_failures_total"
    case stateWriteFailures = "corral_state_write_failures_total"
    // The API request timer (a histogram in seconds).
    case requestDuration = "corral_api_request_duration_seconds"
    // Gauges, set from the executor's books when /metrics is scraped.
    case workloads = "corral_workloads"
    case cpus = "corral_cpus"
    case memory = "corral_memory_bytes"
    case stageQueueWaitSum = "corral_stage_queue_wait_seconds_sum"
    case stageQueueWaitCount = "corral_stage_queue_wait_seconds_count"
    case lockWaitSum = "corral_lock_wait_seconds_sum"
    case lockWaitCount = "corral_lock_wait_seconds_count"
    case stageQueued = "corral_stage_queued_jobs"
    case stageDeadlineMisses = "corral_stage_deadline_misses_total"
    case processorBusy = "corral_processor_busy_slots"
    case processorRestarts = "corral_processor_restarts_total"
    // The cluster membership.
    case clusterConnected = "corral_cluster_connected"
    case clusterNodeWrites = "corral_cluster_node_writes_total"
    case clusterReports = "corral_cluster_reports_total"

    var help: String {
        switch self {
        case .workloads: "Workloads by kind and state"
        case .cpus: "Offered CPUs per NUMA node, free and allocated"
        case .memory: "Offered memory per NUMA node, free and allocated"
        case .stageQueueWaitSum: "Seconds jobs waited before a processor took them, summed per stage"
        case .stageQueueWaitCount: "Jobs a processor took, per stage"
        case .lockWaitSum: "Seconds jobs waited before taking a lock (with everything else they needed), summed"
        case .lockWaitCount: "Lock acquisitions"
        case .stageQueued: "Jobs waiting per stage"
        case .stageDeadlineMisses: "Jobs whose processor missed their deadline, per stage"
        case .processorBusy: "Busy slots per processor"
        case .processorRestarts: "Restarts per processor"
        case .clusterConnected: "1 while the ZooKeeper session is connected, 0 during an outage"
        default: ""
        }
    }
}

/// The executor's metrics: swift-metrics counters and timers backed by a
/// swift-prometheus registry of its own, rendered in the Prometheus text
/// format on the admin port's `/metrics`. Counters are synchronous (an
/// atomic add where the event happens), so nothing is fire-and-forget.
public final class Metrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    /// Bytes written to instance log files, counted synchronously by the writers.
    public let logBytes: CoreMetrics.Counter

    static let requestBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5),
    ]

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[MetricName.requestDuration.rawValue] = Self.requestBuckets
        self.factory = factory
        logBytes = CoreMetrics.Counter(label: MetricName.logBytes.rawValue, dimensions: [], factory: factory)
    }

    /// `name{labels}` += by. Labels in the order given (they are rendered so).
    public func increment(_ name: MetricName, _ labels: [(String, String)] = [], by amount: Int64 = 1) {
        CoreMetrics.Counter(label: name.rawValue, dimensions: labels, factory: factory).increment(by: amount)
    }

    public func observeRequest(method: String, status: Int, duration: Duration) {
        CoreMetrics.Timer(label: MetricName.requestDuration.rawValue,
                          dimensions: [("method", method), ("status", "\(status / 100)xx")], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// Sets a gauge (created on first use, with its help text).
    public func set(_ name: MetricName, _ labels: [(String, String)], _ value: Double) {
        registry.makeGauge(name: name.rawValue, labels: labels, help: name.help).set(value)
    }

    /// Sets the stage processor gauges from a dispatcher snapshot.
    public func record(_ s: StagesSnapshot) {
        for st in s.stages {
            let l = [("stage", st.name)]
            set(.stageQueueWaitSum, l, st.queueWaitSecondsSum)
            set(.stageQueueWaitCount, l, Double(st.started))
            set(.stageQueued, l, Double(st.queued))
            set(.stageDeadlineMisses, l, Double(st.deadlineMisses))
            for p in st.processors {
                set(.processorBusy, [("processor", p.name)], Double(p.busy))
                set(.processorRestarts, [("processor", p.name)], Double(p.restarts))
            }
        }
        for lock in s.locks {
            set(.lockWaitSum, [("lock", lock.name)], lock.waitSecondsSum)
            set(.lockWaitCount, [("lock", lock.name)], Double(lock.acquisitions))
        }
    }

    /// The Prometheus text exposition of everything registered.
    public func render() -> String { registry.emitToString() }
}

extension Duration {
    var nanoseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}
