import Foundation
import ServiceLifecycle

/// Where the supervisors' long-lived work runs (an instance's run loop, a
/// task's wait for its end, an adoption's resume, a stop): child tasks of one
/// discarding task group, inside the executor's ServiceGroup, instead of
/// unstructured `Task {}`s that nothing owns.
///
/// Work handed over before ``run()`` starts waits for it. On graceful
/// shutdown (or cancellation) the group is cancelled: supervisors stop
/// watching and return without touching their workloads (a cancelled wait
/// means nothing, see `Engine.waitForExit`), which keep running and are
/// adopted by the next start.
public final class WorkloadTasks: Service, Sendable {
    public typealias Work = @Sendable () async -> Void
    private let work: AsyncStream<Work>
    private let submitter: AsyncStream<Work>.Continuation

    public init() {
        (work, submitter) = AsyncStream<Work>.makeStream()
    }

    /// Runs `body` as a child of the group.
    public func submit(_ body: @escaping Work) {
        submitter.yield(body)
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await body in work.cancelOnGracefulShutdown() {
                group.addTask { await body() }
            }
            group.cancelAll()
        }
    }
}
