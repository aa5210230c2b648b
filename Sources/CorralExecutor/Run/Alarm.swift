import Synchronization

/// A sleep that can be cut short: a job's control loop waits between polls
/// or attempts, and a stop signal wakes it at once. A ``ring()`` with no one
/// asleep is kept for the next ``sleep(for:)``, which then returns at once,
/// so a ring that comes between a check and the sleep is never lost.
final class Alarm: Sendable {
    private struct State {
        var sleeper: (id: Int, continuation: CheckedContinuation<Void, Never>)?
        var rung = false
        var lastID = 0
        /// The sleep whose time ran out before it was registered.
        var expired = 0
    }

    private let state = Mutex(State())

    /// Waits `d`, or until the alarm rings.
    func sleep(for d: Duration) async {
        let id = state.withLock { s in
            s.lastID += 1
            return s.lastID
        }
        // Its own timer wakes only this sleep, and is not kept as a ring.
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: d)) != nil else { return }
            self?.timeUp(id)
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s in
                if s.rung || s.expired == id {
                    s.rung = false
                    return true
                }
                s.sleeper = (id, c)
                return false
            }
            if now { c.resume() }
        }
        timer.cancel()
    }

    /// Wakes the sleeper (or the next one to sleep).
    func ring() {
        let sleeper = state.withLock { s in
            defer { s.sleeper = nil }
            if s.sleeper == nil { s.rung = true }
            return s.sleeper
        }
        sleeper?.continuation.resume()
    }

    private func timeUp(_ id: Int) {
        let sleeper = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let current = s.sleeper, current.id == id else {
                s.expired = id
                return nil
            }
            s.sleeper = nil
            return current.continuation
        }
        sleeper?.resume()
    }
}
