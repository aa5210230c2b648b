import Foundation

/// The wait before each retry of a container that failed to start, as
/// exorun's `rand_backoff_ration` suggests (the formula of Google's
/// ExponentialBackOff, which fits its default 0.5 and range 0 <= r < 1):
///
///     interval_n = min(cap, initial * multiplier^n)
///     wait_n     = interval_n * u,  u uniform in [1 - r, 1 + r]
///
/// with n = 0 for the first retry, initial 0.5 s, multiplier 1.5, cap 60 s,
/// and retries stop once `container_start_timeout` has passed since the first
/// attempt (the next wait is cut to what is left). docs/run.md.
public struct StartBackoff: Sendable, Equatable {
    public var initial: Duration = .milliseconds(500)
    public var multiplier = 1.5
    public var cap: Duration = .seconds(60)
    public var ratio: Double
    public var timeout: Duration

    public init(ratio: Double, timeout: Duration) {
        self.ratio = ratio
        self.timeout = timeout
    }

    /// interval_n, before randomisation.
    public func interval(_ n: Int) -> Duration {
        let seconds = min(cap.seconds, initial.seconds * pow(multiplier, Double(max(0, n))))
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// The randomised wait for retry `n`, `u` in [0, 1) picking the point in [1 - r, 1 + r].
    public func wait(_ n: Int, u: Double) -> Duration {
        let factor = (1 - ratio) + 2 * ratio * min(max(u, 0), 1)
        return .milliseconds(Int64((interval(n).seconds * factor * 1000).rounded()))
    }

    /// The wait after retry `n` given `elapsed` since the first attempt, or nil: give up.
    public func next(_ n: Int, elapsed: Duration, u: Double) -> Duration? {
        guard elapsed < timeout else { return nil }
        return min(wait(n, u: u), timeout - elapsed)
    }
}
