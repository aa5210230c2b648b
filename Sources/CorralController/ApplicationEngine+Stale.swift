import CorralCore
import Foundation

extension ApplicationEngine {
    /// Drove's stale data cleaner, run by the leader every `staleCheckInterval`:
    /// an app left in MONITORING (no instances, no operation) and not updated
    /// for `staleAppAge` is destroyed; old instances beyond
    /// `maxStaleInstancesCount` or older than `staleInstanceAge` are
    /// forgotten; finished tasks older than `staleTaskAge` are deleted.
    func cleanStale(now: Int64 = nowMillis()) async {
        guard leading, loaded else { return }
        func cutoff(_ age: ConfigDuration) -> Int64 { now - Int64(clamping: age.nanoseconds / 1_000_000) }
        let appCutoff = cutoff(options.staleAppAge), instanceCutoff = cutoff(options.staleInstanceAge), taskCutoff = cutoff(options.staleTaskAge)

        for (appId, app) in apps.sorted(by: { $0.key < $1.key })
        where app.record.corral.state == .MONITORING && app.record.corral.operation == nil && app.driver == nil
            && app.record.updated < appCutoff && activeInstances(appId).isEmpty {
            let body = Data(#"{"type": "DESTROY", "appId": "\#(appId)"}"#.utf8)
            do throws(OperationRefusal) {
                _ = try await accept(body)
                logger.notice("destroying a stale application", metadata: ["appId": "\(appId)", "idleSince": "\(app.record.updated)"])
            } catch {
                logger.warning("cannot destroy a stale application", metadata: ["appId": "\(appId)", "reason": "\(error.problems.joined(separator: "; "))"])
            }
        }

        let keep = max(options.maxStaleInstancesCount, 1)
        for (appId, list) in old {
            let kept = Array(list.filter { $0.updated >= instanceCutoff }.prefix(keep))
            if kept.count != list.count { old[appId] = kept }
        }

        guard let fence = await leadership.fence() else { return }
        for (key, t) in tasks where (TaskState(rawValue: t.record.info.state)?.isTerminal ?? false) && t.record.info.updated < taskCutoff {
            do throws(ClusterStore.StoreError) {
                try await store.remove(task: t.record.info.sourceAppName, t.record.info.taskId, fence: fence)
                tasks[key] = nil
            } catch {
                logger.warning("cannot delete a stale task", metadata: ["task": "\(key)", "reason": "\(error.message)"])
            }
        }
    }
}
