import CorralEngines
import Foundation

/// A log sink that keeps a workload's output in memory, for tests.
public final class CollectingSink: LogSink, @unchecked Sendable {
    // @unchecked: all state is guarded by `lock`.
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var finished = false

    public init() {}

    public func write(_ chunk: [UInt8]) { lock.withLock { bytes += chunk } }
    public func finish() { lock.withLock { finished = true } }
    public var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
    public var isFinished: Bool { lock.withLock { finished } }

    public func waitUntilFinished(timeout: Duration) async {
        let end = ContinuousClock.now.advanced(by: timeout)
        while !isFinished, ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Waits until the output contains `s` (or the time runs out).
    public func waitFor(_ s: String, seconds: Double = 15) async -> Bool {
        await eventually(seconds: seconds) { self.text.contains(s) }
    }
}
