import CorralExecutor
import CorralRuntime
import CorralTestSupport
import Foundation
import Testing

/// The metrics registry on its own: names, labels, types and values as Prometheus reads them.
@Suite struct MetricsTests {
    @Test func countersAreSynchronousAndLabelledInOrder() {
        let m = Metrics()
        m.increment(.starts, [("kind", "task")])
        m.increment(.starts, [("kind", "task")])
        m.increment(.failures, [("kind", "application"), ("state", "LOST")], by: 3)
        m.logBytes.increment(by: 100)
        let p = PrometheusText(m.render())
        #expect(p["corral_starts_total{kind=\"task\"}"] == 2)
        #expect(p["corral_failures_total{kind=\"application\",state=\"LOST\"}"] == 3)
        #expect(p["corral_log_bytes_written_total"] == 100)
        #expect(p.types["corral_starts_total"] == "counter")
    }

    @Test func gaugesCarryTheirHelpAndCanGoBackToZero() {
        let m = Metrics()
        m.set(.workloads, [("kind", "task"), ("state", "RUNNING")], 4)
        m.set(.workloads, [("kind", "task"), ("state", "RUNNING")], 0)
        let text = m.render()
        #expect(PrometheusText(text)["corral_workloads{kind=\"task\",state=\"RUNNING\"}"] == 0)
        #expect(text.contains("# HELP corral_workloads Workloads by kind and state"))
        #expect(PrometheusText(text).types["corral_workloads"] == "gauge")
    }

    @Test func requestDurationsAreAHistogramInSeconds() {
        let m = Metrics()
        m.observeRequest(method: "GET", status: 200, duration: .milliseconds(3))
        m.observeRequest(method: "GET", status: 204, duration: .milliseconds(300))
        m.observeRequest(method: "POST", status: 409, duration: .milliseconds(1))
        let p = PrometheusText(m.render())
        #expect(p.types["corral_api_request_duration_seconds"] == "histogram")
        #expect(p["corral_api_request_duration_seconds_count{method=\"GET\",status=\"2xx\"}"] == 2)
        #expect(p["corral_api_request_duration_seconds_bucket{method=\"GET\",status=\"2xx\",le=\"0.005\"}"] == 1)
        #expect(p["corral_api_request_duration_seconds_bucket{method=\"GET\",status=\"2xx\",le=\"0.5\"}"] == 2)
        let sum = p["corral_api_request_duration_seconds_sum{method=\"GET\",status=\"2xx\"}"] ?? 0
        #expect(abs(sum - 0.303) < 0.001)
        #expect(p["corral_api_request_duration_seconds_count{method=\"POST\",status=\"4xx\"}"] == 1)
    }

    @Test func stageFiguresComeFromTheDispatcherSnapshot() {
        let m = Metrics()
        let snap = try! JSONDecoder().decode(StagesSnapshot.self, from: Data("""
        {"stages": [{"name": "pc1", "limit": 2, "running": 1, "queued": 5, "deadlineMisses": 1,
                     "queueWaitSecondsSum": 12.5, "started": 4,
                     "processors": [{"name": "pc1-0", "state": "ready", "locks": [], "busy": 1, "restarts": 2}]}],
         "locks": [{"name": "gpu0", "capacity": 1, "holders": [], "waiters": [], "waitSecondsSum": 3, "acquisitions": 6}],
         "fairness": "fifo", "warnings": []}
        """.utf8))
        m.record(snap)
        let p = PrometheusText(m.render())
        #expect(p["corral_stage_queued_jobs{stage=\"pc1\"}"] == 5)
        #expect(p["corral_stage_queue_wait_seconds_sum{stage=\"pc1\"}"] == 12.5)
        #expect(p["corral_stage_queue_wait_seconds_count{stage=\"pc1\"}"] == 4)
        #expect(p["corral_processor_busy_slots{processor=\"pc1-0\"}"] == 1)
        #expect(p["corral_processor_restarts_total{processor=\"pc1-0\"}"] == 2)
        #expect(p["corral_lock_wait_seconds_count{lock=\"gpu0\"}"] == 6)
    }

    @Test func everyMetricNameIsPrometheusLegal() {
        for n in MetricName.allCases {
            #expect(n.rawValue.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }, "\(n.rawValue)")
            #expect(n.rawValue.hasPrefix("corral_"))
        }
    }
}
