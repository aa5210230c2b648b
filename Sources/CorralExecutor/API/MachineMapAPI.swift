import CorralCore
import CorralRuntime
import Foundation
import Hummingbird

/// `GET /apis/v1/executor/map.svg`: the node as it is now, every CPU and GPU
/// coloured by its owner (OS cores, processor pools, running instances, free).
enum MachineMapAPI {
    static func add(to api: RouterGroup<CorralRequestContext>, executor: Executor, stages: StageDispatcher?) {
        api.get("executor/map.svg") { _, _ in
            let svg = await render(executor: executor, stages: stages)
            var headers = HTTPFields()
            headers[.contentType] = "image/svg+xml; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: svg)))
        }
    }

    static func render(executor: Executor, stages: StageDispatcher?) async -> String {
        let r = executor.resources
        let instances = await executor.list().compactMap { i -> (id: String, cpus: CPUSet, gpus: [Int])? in
            guard let a = i.allocation, i.state.holdsResources else { return nil }
            return (i.instanceId, a.cpus, a.gpus)
        }
        // Pool CPUs are out of the offer; owners() draws them as their pools' anyway.
        let (cpu, gpu) = MachineMap.owners(topology: r.topology, offered: r.offeredCPUs, osCores: r.osCores,
                                           processors: await stages?.entries ?? [], instances: instances)
        return MachineMap(topology: r.topology, title: "\(executor.hostname) · executor \(executor.id)",
                          cpuOwners: cpu, gpuOwners: gpu).svg()
    }
}
