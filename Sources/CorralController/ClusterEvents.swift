import Foundation
import Synchronization

/// What happened in the cluster, as Drove's `/apis/v1/cluster/events` serves
/// it (`DroveEvent`: type, id, time in epoch milliseconds, metadata keyed by
/// Drove's data tags): kept in memory for `maxEventsStorageDuration`, served
/// newest first, and pushed to live subscribers (the streaming variant and
/// the web console) as they happen. Recording is synchronous, so events keep
/// the order in which the engine saw things happen.
public final class ClusterEvents: Sendable {
    /// Drove's `DroveEventType`.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case APP_STATE_CHANGE, INSTANCE_STATE_CHANGE, TASK_STATE_CHANGE
        case LOCAL_SERVICE_STATE_CHANGE, LOCAL_SERVICE_INSTANCE_STATE_CHANGE
        case EXECUTOR_ADDED, EXECUTOR_REMOVED, EXECUTOR_BLACKLIST_REQUESTED, EXECUTOR_BLACKLISTED, EXECUTOR_UN_BLACKLISTED
        case MAINTENANCE_MODE_SET, MAINTENANCE_MODE_REMOVED
        case LEADERSHIP_ACQUIRED, LEADERSHIP_LOST
    }

    public struct Event: Codable, Sendable, Equatable {
        public var type: Kind
        public var id: String
        /// Epoch milliseconds (Jackson's form of Drove's `Date`).
        public var time: Int64
        public var metadata: [String: JSONValue]
    }

    /// Drove's `DroveEventsList`.
    public struct Page: Codable, Sendable {
        public var events: [Event]
        public var lastSyncTime: Int64
    }

    /// Drove's `DroveEventsSummary`.
    public struct Summary: Codable, Sendable {
        public var eventsCount: [String: Int]
        public var lastSyncTime: Int64
    }

    struct Store {
        /// Oldest first; times never decrease (a clock step back is clamped).
        var events: [Event] = []
        var subscribers: [UUID: AsyncStream<Event>.Continuation] = [:]
    }

    let retentionMillis: Int64
    let capacity: Int
    private let store = Mutex(Store())

    /// `capacity` bounds memory whatever the rate; `retention` is Drove's `maxEventsStorageDuration`.
    public init(retention: Duration = .seconds(3600), capacity: Int = 100_000) {
        retentionMillis = retention.components.seconds * 1000
        self.capacity = max(capacity, 1)
    }

    public func record(_ kind: Kind, _ metadata: [String: JSONValue], at now: Int64 = ClusterEvents.now()) {
        store.withLock { s in
            let e = Event(type: kind, id: UUID().uuidString.lowercased(), time: max(now, s.events.last?.time ?? now), metadata: metadata)
            s.events.append(e)
            prune(&s, now: e.time)
            for c in s.subscribers.values { c.yield(e) }
        }
    }

    private func prune(_ s: inout Store, now: Int64) {
        let oldest = now - retentionMillis
        var drop = 0
        while drop < s.events.count, s.events[drop].time < oldest { drop += 1 }
        drop = max(drop, s.events.count - capacity)
        if drop > 0 { s.events.removeFirst(drop) }
    }

    /// Events after `lastSyncTime`, newest first, at most `size` (Drove's `latest`).
    public func latest(after lastSyncTime: Int64, size: Int) -> Page {
        store.withLock { s in
            prune(&s, now: Self.now())
            var out: [Event] = []
            for e in s.events.reversed() {
                guard e.time > lastSyncTime, out.count < size else { break }
                out.append(e)
            }
            return Page(events: out, lastSyncTime: s.events.last?.time ?? lastSyncTime)
        }
    }

    /// Counts by type of the events after `lastSyncTime`.
    public func summary(after lastSyncTime: Int64) -> Summary {
        store.withLock { s in
            var counts: [String: Int] = [:]
            for e in s.events where e.time > lastSyncTime { counts[e.type.rawValue, default: 0] += 1 }
            return Summary(eventsCount: counts, lastSyncTime: s.events.last?.time ?? lastSyncTime)
        }
    }

    /// Every event from now on, until the consumer stops; a slow consumer
    /// loses the oldest of what it has not read (at most 1,024 wait).
    public func subscribe() -> AsyncStream<Event> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        continuation.onTermination = { [weak self] _ in self?.store.withLock { _ = $0.subscribers.removeValue(forKey: id) } }
        store.withLock { $0.subscribers[id] = continuation }
        return stream
    }

    /// Epoch milliseconds now.
    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    public var subscriberCount: Int { store.withLock { $0.subscribers.count } }
}
