import Foundation

/// Polls `check` every `every` until it holds or `seconds` pass; whether it held.
/// Tests wait for states this way instead of sleeping a fixed time.
public func eventually(seconds: Double = 15, every: Duration = .milliseconds(20),
                       _ check: () async throws -> Bool) async rethrows -> Bool {
    let end = ContinuousClock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
    while ContinuousClock.now < end {
        if try await check() { return true }
        try? await Task.sleep(for: every)
    }
    return try await check()
}
