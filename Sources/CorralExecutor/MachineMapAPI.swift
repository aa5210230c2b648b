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
        let entries = await stages?.entries ?? []
        let processors = entries.map { e in
            (name: e.name, cpus: e.cpuset ?? CPUSet(), gpus: Self.gpus(e.envs["CUDA_VISIBLE_DEVICES"]))
        }
        let instances = await executor.list().compactMap { i -> (id: String, cpus: CPUSet, gpus: [Int])? in
            guard let a = i.allocation, !["STOPPED", "LOST", "PENDING"].contains(i.state) else { return nil }
            return (i.instanceId, a.cpus, a.gpus)
        }
        let offered = r.offeredCPUs.union(processors.reduce(CPUSet()) { $0.union($1.cpus) })
        let (cpu, gpu) = MachineMap.owners(topology: r.topology, offered: offered, osCores: r.osCores,
                                           processors: processors, instances: instances)
        let summary = await executor.summary()
        return MachineMap(topology: r.topology, title: "\(summary.hostname) · executor \(summary.id)",
                          cpuOwners: cpu, gpuOwners: gpu).svg()
    }

    /// GPU indexes named in a CUDA_VISIBLE_DEVICES value.
    static func gpus(_ value: String?) -> [Int] {
        (value ?? "").split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }
}
