import Foundation
import Testing

/// `corral doctor` as people and automation run it: text with the worst
/// first, JSON, the exit status, on a prepared and an unprepared recorded
/// node and on this machine; `corral config check` pointing at it; the
/// executor logging the same checks once at its start and showing the
/// warnings on /healthcheck.
@Suite struct DoctorCommandTests {
    static func config(osCores: String, extra: String = "") throws -> String {
        try CLI.writeTemp("""
        clusterAuth:
          secrets: [{ nodeType: CONTROLLER, secret: doctor-secret }]
        resources:
          osCores: [\(osCores)]
          exposedMemPercentage: 90
        \(extra)
        """)
    }

    @Test func aPreparedNodeExitsZeroAndAnUnpreparedOneOneWithTheFixes() throws {
        let good = try CLI.run(["doctor", "--fsroot", CLI.fixture("epyc7642-2s48c"), "--config", try Self.config(osCores: "0, 48"), "--json"])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(good.stdout.utf8)) as? [String: Any])
        let summary = report["summary"] as? [String: Int] ?? [:]
        #expect(summary["fail"] == 0 && summary["warn"] == 0, "\(summary)")
        let findings = report["findings"] as? [[String: Any]] ?? []
        #expect(findings.count >= 17 && findings.allSatisfy { $0["why"] is String && $0["title"] is String })

        let bad = try CLI.run(["doctor", "--fsroot", CLI.fixture("gpu-2s8c2t"), "--config", try Self.config(osCores: "0, 16")])
        #expect(bad.status == 1, "a FAIL exits 1: \(bad.stdout)")
        let lines = bad.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains("FAIL") == true && lines.first?.contains("gpu-node-7") == true, "\(lines.first ?? "")")
        let firstCheck = try #require(lines.first { $0.hasPrefix("FAIL") || $0.hasPrefix("WARN") || $0.hasPrefix("OK") })
        #expect(firstCheck.hasPrefix("FAIL"), "the worst first: \(firstCheck)")
        #expect(bad.stdout.contains("fix: set CPUAffinity=0 16 in /etc/systemd/system.conf and reboot"), "\(bad.stdout)")
        #expect(bad.stdout.contains("fix: sysctl -w kernel.numa_balancing=0"))

        let broken = try CLI.run(["doctor", "--config", try CLI.writeTemp("resources:\n  osCores: [zero]\n")])
        #expect(broken.status == 2 && broken.stderr.contains("resources.osCores"), "\(broken.stderr)")
    }

    @Test func configCheckPointsAtDoctorOnAnUnpreparedNode() throws {
        let r = try CLI.run(["config", "check", try Self.config(osCores: "0, 16"), "--fsroot", CLI.fixture("gpu-2s8c2t")])
        #expect(r.status == 0, "the config itself is valid: \(r.stderr)")
        #expect(r.stdout.contains("node preparation:") && r.stdout.contains("os.pid1-affinity") && r.stdout.contains("corral doctor --config"), "\(r.stdout)")
    }

    @Test func thisMachineIsCheckedForReal() throws {
        let r = try CLI.run(["doctor", "--json"])
        #expect(r.status == 0 || r.status == 1, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let checks = Set((report["findings"] as? [[String: Any]] ?? []).compactMap { $0["check"] as? String })
        #expect(checks.isSuperset(of: ["os.pid1-affinity", "numa.balancing", "cgroups", "storage", "engine.socket"]), "\(checks.sorted())")
    }

    /// The executor runs the checks at its start: one summary line and one
    /// warning per check not OK, and /healthcheck lists them (still healthy).
    @Test func theExecutorChecksAtItsStartAndShowsTheWarningsOnHealthcheck() async throws {
        let config = try RecoveryTests.writeConfig("""
        options:
          dockerSocketPath: /nonexistent/docker.sock
        """)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-doctor-\(UUID().uuidString)").path
        let daemon = try RecoveryTests.Daemon(config: config, stateDir: dir)
        defer { daemon.kill9() }
        let log = (try? String(contentsOf: daemon.output, encoding: .utf8)) ?? ""
        #expect(log.contains("node preparation checked"), "\(log.prefix(2000))")
        #expect(log.contains("node preparation WARN: os.pid1-affinity"), "no osCores in this config: \(log.prefix(2000))")
        let listening = try #require(log.range(of: "corral executor listening:"))
        let adminLine = try #require(log[listening.upperBound...].range(of: "admin "))
        let admin = String(log[adminLine.upperBound...].prefix { $0 != "\n" && $0 != "," && $0 != " " })
        let health = try ControllerTests.curl(["http://\(admin)/healthcheck"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(health.utf8)) as? [String: Any], "\(health)")
        let prep = json["preparation"] as? [[String: Any]] ?? []
        #expect(prep.contains { $0["check"] as? String == "os.pid1-affinity" && $0["status"] as? String == "WARN" }, "\(health.prefix(1500))")
        #expect(json["healthy"] as? Bool == true, "warnings do not make it unhealthy")
    }
}
