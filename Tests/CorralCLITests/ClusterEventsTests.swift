import CorralController
import Foundation
import PropertyBased
import Testing

/// The controller's event store: what `/cluster/events` serves and what the stream pushes.
@Suite struct ClusterEventsTests {
    /// Any run of recordings (clock steps back included) and any query:
    /// times never decrease, memory stays within capacity, and `latest`
    /// gives exactly the newest kept events after `lastSyncTime`, newest
    /// first, at most `size` of them; `summary` counts the same events.
    @Test func latestIsTheNewestKeptEventsAfterTheSyncTimeNewestFirst() async {
        let steps = Gen.int(in: -50...200).array(of: 0...60)
        await propertyCheck(count: 400, input: steps, Gen.int(in: 0...6000), Gen.int(in: 0...70)) { deltas, since, size in
            let events = ClusterEvents(retention: .seconds(3600), capacity: 32)
            // Near the wall clock: reads prune against it too.
            var now: Int64 = ClusterEvents.now() - 20_000
            var recorded: [Int64] = []
            for (i, d) in deltas.enumerated() {
                now += Int64(d)
                let kind = ClusterEvents.Kind.allCases[i % ClusterEvents.Kind.allCases.count]
                events.record(kind, ["N": .number(Double(i))], at: now)
                recorded.append(max(now, recorded.last ?? now))
            }
            let kept = Array(recorded.suffix(32))
            let page = events.latest(after: Int64(since), size: size)
            let times = page.events.map(\.time)
            #expect(times == times.sorted(by: >), "newest first")
            let expected = Array(kept.filter { $0 > Int64(since) }.reversed().prefix(size))
            #expect(times == expected)
            #expect(page.lastSyncTime == (kept.last ?? Int64(since)))
            let all = events.latest(after: 0, size: 1000).events
            #expect(all.count == kept.count && all.count <= 32)
            // Each event's metadata is what was recorded with it, in order.
            let numbers = all.reversed().compactMap { e -> Int? in
                if case .number(let n)? = e.metadata["N"] { return Int(n) } else { return nil }
            }
            #expect(numbers == Array((max(0, deltas.count - 32)..<deltas.count)))
            let summary = events.summary(after: Int64(since))
            #expect(summary.eventsCount.values.reduce(0, +) == kept.filter { $0 > Int64(since) }.count)
        }
    }

    @Test func oldEventsAreForgottenAfterTheRetention() {
        let events = ClusterEvents(retention: .seconds(60))
        events.record(.EXECUTOR_ADDED, [:], at: 1_000)
        events.record(.EXECUTOR_REMOVED, [:], at: 30_000)
        events.record(.LEADERSHIP_ACQUIRED, [:], at: 62_000)
        let kinds = events.latest(after: 0, size: 10).events.map(\.type)
        // Pruned against the wall clock on reads too: recorded at 1970 + a minute, all are gone by now.
        #expect(kinds.isEmpty)
        let fresh = ClusterEvents(retention: .seconds(60))
        let now = ClusterEvents.now()
        fresh.record(.EXECUTOR_ADDED, [:], at: now - 120_000)
        fresh.record(.EXECUTOR_REMOVED, [:], at: now)
        #expect(fresh.latest(after: 0, size: 10).events.map(\.type) == [.EXECUTOR_REMOVED])
    }

    /// Subscribers get every event in order as it happens, and are dropped
    /// when their reader stops (as the stream's handler does when its client goes).
    @Test func subscribersGetEventsInOrderAndAreDroppedWhenTheyStop() async {
        let events = ClusterEvents()
        let got = Received()
        let reader = Task {
            for await e in events.subscribe() { await got.add(e.type) }
        }
        // Generous bounds: the whole suite runs in parallel on two cores, and
        // the reader's task may wait long for a thread.
        let start = ContinuousClock.now + .seconds(60)
        while events.subscriberCount == 0, ContinuousClock.now < start { try? await Task.sleep(for: .milliseconds(5)) }
        events.record(.MAINTENANCE_MODE_SET, [:])
        events.record(.EXECUTOR_BLACKLISTED, [:])
        events.record(.MAINTENANCE_MODE_REMOVED, [:])
        #expect(events.subscriberCount == 1, "the reader subscribed")
        let end = ContinuousClock.now + .seconds(60)
        while await got.kinds.count < 3, ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(5)) }
        #expect(await got.kinds == [.MAINTENANCE_MODE_SET, .EXECUTOR_BLACKLISTED, .MAINTENANCE_MODE_REMOVED])
        reader.cancel()
        while events.subscriberCount > 0, ContinuousClock.now < end + .seconds(5) { try? await Task.sleep(for: .milliseconds(5)) }
        #expect(events.subscriberCount == 0)
    }

    actor Received {
        var kinds: [ClusterEvents.Kind] = []
        func add(_ k: ClusterEvents.Kind) { kinds.append(k) }
    }
}
