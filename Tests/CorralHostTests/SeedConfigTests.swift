import CorralCore
import CorralHost
import Foundation
import Testing

/// Both executor configs of the Drove seed load exactly as users wrote them.
@Suite struct SeedConfigTests {
    static let env = [
        "DROVE_TIMEZONE": "IST", "DROVE_LOG_LEVEL": "INFO", "ZK_CONNECTION_STRING": "192.168.3.10:2181,192.168.3.11:2181",
        "DROVE_CONTROLLER_SECRET": "controller-secret-value-1", "DROVE_EXECUTOR_SECRET": "executor-secret-value-2",
        "DROVE_DISABLE_NUMA_PINNING": "false", "DROVE_ENABLE_NVIDIA_GPU": "false",
    ]

    /// The YAML blocks of seeds/drove-executor-setup.md that are whole executor configs, written to temp files.
    static func seedFiles() throws -> [String]? {
        let md = SharedFixtures.sharedDir.appendingPathComponent("reference/seeds/drove-executor-setup.md")
        guard FileManager.default.fileExists(atPath: md.path) else {
            if SharedFixtures.isCI {
                Issue.record("CI=true but \(md.path) is missing")
            } else {
                print("skipped: \(md.path) not found")
            }
            return nil
        }
        let text = try String(contentsOf: md, encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.hasPrefix("```yaml") { current = []; continue }
            if current != nil, line.hasPrefix("```") {
                let block = current!.joined(separator: "\n")
                if block.hasPrefix("server:") { blocks.append(block) }
                current = nil
                continue
            }
            current?.append(line)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-seeds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return try blocks.enumerated().map { i, b in
            let url = dir.appendingPathComponent("seed\(i + 1).yml")
            try b.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
    }

    @Test func bothSeedConfigsLoadUnchanged() throws {
        guard let files = try Self.seedFiles() else { return }
        #expect(files.count == 2)
        let first = try ConfigFile.loadExecutor(path: files[0], environment: Self.env)
        let c = first.config
        #expect(c.server.applicationConnectors.map(\.port) == [3000])
        #expect(c.server.adminConnectors.map(\.port) == [3001])
        #expect(c.server.requestLog.appenders.count == 2)
        #expect(c.logging.loggers["com.phonepe.drove"] == .INFO)
        #expect(c.logging.appenders.count == 3)
        #expect(c.logging.appenders[0].common.timeZone.identifier == "Asia/Kolkata")
        #expect(c.logging.instanceLogs?.logPath == "/logs/applogs/")
        #expect(c.zookeeper?.connectionString == "192.168.3.10:2181,192.168.3.11:2181")
        #expect(c.clusterAuth.secrets[.CONTROLLER]?.value == "controller-secret-value-1")
        #expect(c.resources.osCores == [0, 1])
        #expect(c.resources.exposedMemPercentage == 60)
        #expect(c.options.maxOpenFiles == 10_000)
        #expect(c.options.logBufferSize.bytes == 5_000_000)
        #expect(c.options.cacheFileSize.bytes == 10_000_000)
        #expect(first.warnings.isEmpty)

        let second = try ConfigFile.loadExecutor(path: files[1], environment: [:])
        let d = second.config
        #expect(d.resources.overProvisioning.enabled)
        #expect(d.resources.overProvisioning.cpuMultiplier == 10)
        #expect(d.resources.disableNUMAPinning)
        #expect(d.options.cacheImages)
        #expect(d.logging.instanceLogs?.rotation.maxFileSize?.bytes == 1 << 30)
        #expect(d.logging.instanceLogs?.rotation.archivedFileCount == 0)
        #expect(d.logging.instanceLogs?.archivedLogFileSuffix == "%d-%i")
        // The repeated cacheImages: the last wins, with a warning naming it.
        #expect(second.warnings.count == 1)
        #expect(second.warnings.first?.path == "options.cacheImages")
    }

    @Test func firstSeedWithoutItsVariablesNamesEachOne() throws {
        guard let files = try Self.seedFiles() else { return }
        do {
            _ = try ConfigFile.loadExecutor(path: files[0], environment: [:])
            Issue.record("expected missing variables to be errors")
        } catch {
            let vars = Set(error.errors.compactMap { i -> String? in
                guard let r = i.message.range(of: "environment variable ") else { return nil }
                return String(i.message[r.upperBound...].prefix(while: { $0 != " " }))
            })
            #expect(vars == Set(Self.env.keys))
            #expect(error.errors.allSatisfy { $0.file == files[0] && $0.location != nil })
        }
    }

    @Test func effectiveResourcesOfTheSeedsOnARealDump() throws {
        guard let files = try Self.seedFiles(), let machines = try SharedFixtures.hwlocMachines() else { return }
        let m = try #require(machines.first { $0.name == "64amd64-4s2n4ca2co" })
        let topo = try TopologyReader(fsroot: m.root).read()
        let c = try ConfigFile.loadExecutor(path: files[0], environment: Self.env).config
        let (eff, issues) = EffectiveResources.compute(topology: topo, resources: c.resources, hostname: "n1")
        #expect(!issues.contains { $0.severity == .error })
        #expect(eff.mode == .pinned)
        #expect(eff.nodes.count == 8)
        #expect(eff.nodes[0].cpus == CPUSet(range: 2...7), "osCores 0,1 come out of node 0")
        #expect(eff.totalCPUs == 62)
        #expect(eff.nodes[0].memoryBytes == topo.node(0)!.memoryBytes * 60 / 100)
        let d = try ConfigFile.loadExecutor(path: files[1], environment: [:]).config
        let over = EffectiveResources.compute(topology: topo, resources: d.resources, hostname: "n1").resources
        #expect(over.mode == .overprovisioned)
        #expect(over.totalCPUs == 640)
    }

    @Test func unreadableFilesAreClearErrors() {
        #expect(throws: ConfigError.self) { try ConfigFile.loadExecutor(path: "/nonexistent/executor.yml") }
        do {
            _ = try ConfigFile.loadExecutor(path: "/tmp")
        } catch {
            #expect(error.message.contains("/tmp"))
        }
    }
}
