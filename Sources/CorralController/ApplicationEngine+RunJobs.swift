import CorralCore
import CorralExecutor
import Foundation

/// `corral run --cluster` jobs: an executor sends the job its socket took
/// (`POST /apis/v1/corral/run-jobs`, EXECUTOR secret); the leader places it
/// like a task of `corral-run` (its cores and `-m` memory booked on one
/// executor), records it, and has that executor start it (START_RUN_JOB).
/// It is then a task like any other: in `tasks list`, reported, killed.
extension ApplicationEngine {
    func placeRunJob(_ body: Data) async throws(OperationRefusal) -> RemoteRunJob.Placement {
        guard leading, loaded else { throw OperationRefusal(["this controller is not leading yet; try again"], status: 503) }
        guard !inMaintenance else { throw OperationRefusal([Self.maintenanceRefusal]) }
        guard let job = try? JSONDecoder().decode(RemoteRunJob.self, from: body) else {
            throw OperationRefusal(["the body is not a corral run job (RemoteRunJob JSON)"])
        }
        let r = job.request
        if let why = r.problem(forTheCluster: true) { throw OperationRefusal([why]) }
        guard let memory = r.memoryBytes else { throw OperationRefusal([RunRequest.clusterNeedsMemory]) }
        // What the task's record shows (its env sealed, as every task's).
        let specValue = JSONValue.object([
            "sourceAppName": .string(RunDesk.sourceAppName), "taskId": .string(job.taskId),
            "executable": .object(["type": .string("DOCKER"), "url": .string(r.image ?? "the node's container_image")]),
            "env": .object(r.env.mapValues { .string($0) }), "args": .array(r.command.map { .string($0) }),
        ])
        let spec = DroveTaskSpec(sourceAppName: RunDesk.sourceAppName, taskId: job.taskId,
                                 resources: AllocationRequest(cpus: r.cpus, memoryBytes: memory, gpus: r.gpus),
                                 placementPolicy: .any, json: specValue.data())
        _ = try await createTask(spec, specValue, runJob: job)
        guard let info = tasks[Self.taskKey(RunDesk.sourceAppName, job.taskId)]?.record.info, let e = executors[info.executorId] else {
            throw OperationRefusal(["the executor task \(job.taskId) was placed on has left the cluster"], status: 503)
        }
        logger.info("corral run job placed", metadata: ["taskId": "\(job.taskId)", "from": "\(job.origin)", "executor": "\(e.hostname):\(e.port)",
                                                        "uid": "\(job.caller.uid)"])
        return RemoteRunJob.Placement(taskId: job.taskId, instanceId: info.instanceId, hostname: e.hostname, port: e.port,
                                      transportType: e.transportType)
    }
}
