import CorralRuntime
import ServiceLifecycle

/// The stage dispatcher's lifetime in the executor's ServiceGroup: one writer
/// saves job records in the order they changed; on graceful shutdown the
/// processors are stopped first, then every record left is written before
/// the service returns.
struct StageService: Service {
    let dispatcher: StageDispatcher
    let store: any StageJobStore

    func run() async throws {
        await withDiscardingTaskGroup { group in
            if let records = dispatcher.records {
                group.addTask { for await job in records { await store.save(job) } }
            }
            group.addTask {
                // Returns at graceful shutdown, or throws when cancelled: stop either way.
                try? await gracefulShutdown()
                await dispatcher.shutdown()
                dispatcher.closeRecords()
            }
        }
    }
}
