import CorralTestSupport
import Foundation
import Logging
import Testing
import ZooKeeperClient

/// Runs `body` against real ZooKeeper servers; without the package it fails
/// under CI=true and is skipped (with the reason printed) elsewhere.
func withZooKeeper(size: Int = 1, _ body: (ZooKeeperEnsemble) async throws -> Void) async throws {
    if let reason = ZooKeeperEnsemble.unavailableReason {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("ZooKeeper is required under CI=true: \(reason)")
        } else {
            print("skipped: \(reason)")
        }
        return
    }
    let ensemble = try await ZooKeeperEnsemble.start(size: size)
    defer { ensemble.stopAll() }
    try await body(ensemble)
}

/// A started client on `connectionString`.
func client(_ connectionString: String, sessionTimeout: Duration = .seconds(6),
            requestTimeout: Duration = .seconds(10)) throws -> ZooKeeperClient {
    var logger = Logger(label: "zk-test")
    logger.logLevel = ProcessInfo.processInfo.environment["CORRAL_TEST_ZK_LOG"] == nil ? .warning : .debug
    let config = ZooKeeperClientConfiguration(connectionString: try ZooKeeperConnectionString(connectionString),
                                              sessionTimeout: sessionTimeout, requestTimeout: requestTimeout, logger: logger)
    let c = ZooKeeperClient(config)
    Task { await c.start() }
    return c
}

/// The first event of a one-shot watch, or nil when none came in `seconds`.
func firstEvent(_ watch: ZooKeeperWatch, seconds: Double = 10) async -> Result<ZooKeeperWatchEvent?, any Error> {
    await withTaskGroup(of: Result<ZooKeeperWatchEvent?, any Error>?.self) { group in
        group.addTask {
            do {
                for try await event in watch { return .success(event) }
                return .success(nil)
            } catch { return .failure(error) }
        }
        group.addTask {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first ?? .success(nil)
    }
}

/// Waits for a state matching `match` on a subscription.
func waitForState(_ client: ZooKeeperClient, seconds: Double = 30,
                  _ match: @escaping @Sendable (ZooKeeperSessionState) -> Bool) async -> ZooKeeperSessionState? {
    let updates = await client.stateUpdates()
    return await withTaskGroup(of: ZooKeeperSessionState?.self) { group in
        group.addTask {
            for await s in updates where match(s) { return s }
            return nil
        }
        group.addTask {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
