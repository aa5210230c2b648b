import Foundation

/// A one-shot event tasks can wait for with a time limit. A waiter registers
/// before its timer starts, so opening and timing out can never both miss it
/// (a task group racing a waiter against a sleep can: the sleep wins before
/// the waiter has parked, and the waiter then parks for good).
public final class Latch: @unchecked Sendable {
    // @unchecked: all state is guarded by `lock`.
    private let lock = NSLock()
    private var opened = false
    private var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
    private var nextToken: UInt64 = 0

    public init() {}

    public var isOpen: Bool { lock.withLock { opened } }

    /// Opens the latch: every waiter, now and later, returns true.
    public func open() {
        let parked = lock.withLock { () -> [CheckedContinuation<Bool, Never>] in
            opened = true
            defer { waiters = [:] }
            return Array(waiters.values)
        }
        for c in parked { c.resume(returning: true) }
    }

    /// True once the latch is open; false when `timeout` passed first.
    public func wait(timeout: Duration) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let token: UInt64? = lock.withLock {
                if opened { return nil }
                nextToken += 1
                waiters[nextToken] = c
                return nextToken
            }
            guard let token else { return c.resume(returning: true) }
            Task {
                try? await Task.sleep(for: timeout)
                if let c = self.lock.withLock({ self.waiters.removeValue(forKey: token) }) { c.resume(returning: false) }
            }
        }
    }
}
