@testable import CorralExecutor
import Foundation
import Testing

/// The sleep of a job's control loop: its own time ends it, a ring cuts it
/// short, a ring with no one asleep is kept for the next sleep, and the
/// timer of a sleep that was cut short does not cut the next one.
@Suite struct AlarmTests {
    @Test func aSleepEndsAtItsTimeOrAtARing() async throws {
        let alarm = Alarm()
        let clock = ContinuousClock()
        #expect(await clock.measure { await alarm.sleep(for: .milliseconds(100)) } >= .milliseconds(100))

        let woken = Task { await clock.measure { await alarm.sleep(for: .seconds(30)) } }
        try await Task.sleep(for: .milliseconds(50))
        alarm.ring()
        #expect(await woken.value < .seconds(30), "a ring ends the sleep")

        // A ring while no one sleeps: the next sleep returns at once, only the next.
        alarm.ring()
        #expect(await clock.measure { await alarm.sleep(for: .seconds(30)) } < .seconds(30))
        #expect(await clock.measure { await alarm.sleep(for: .milliseconds(200)) } >= .milliseconds(200), "a ring is kept once")
    }

    @Test func aCutShortSleepsTimerDoesNotEndTheNext() async throws {
        let alarm = Alarm()
        let clock = ContinuousClock()
        // Rings cut each short sleep; the following long sleep must last.
        for _ in 0..<20 {
            let t = Task { await alarm.sleep(for: .milliseconds(30)) }
            alarm.ring()
            await t.value
        }
        try await Task.sleep(for: .milliseconds(100))
        let d = await clock.measure { await alarm.sleep(for: .milliseconds(300)) }
        #expect(d >= .milliseconds(300), "slept \(d)")
    }
}
