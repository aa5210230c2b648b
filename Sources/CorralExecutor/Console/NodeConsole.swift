import CorralConsole
import CorralCore
import CorralRuntime
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The one-node web console of a standalone executor (`corral up`), on its
/// API port: the node's cores and who holds them, its instances and tasks,
/// its stage processors with their pools, queues and lock holders, updated
/// live from the executor's own change stream. It shows; acting is the API's
/// and the CLI's. Its pages and stream need the CONTROLLER secret as the
/// password of HTTP Basic authentication (the browser asks; any user name).
/// Docs: docs/console.md.
enum NodeConsole {
    struct Context: Sendable {
        let executor: Executor
        let stages: StageDispatcher?
        let cluster: (any ClusterLink)?
        let secret: [UInt8]
    }

    /// How often the stream looks for stage activity (busy slots, queues,
    /// locks), which the workload changes do not carry; it sends only when
    /// something differs.
    static let stageLook: Duration = .milliseconds(500)

    static let renderer = ConsoleRenderer(
        templates: ["node": NodeConsoleTemplates.node], sections: [.init("Node", "/")], stream: "/ui/events")

    static func add(to router: Router<CorralRequestContext>, _ c: Context) {
        router.get("/") { request, _ in
            guard authorized(request, c) else { return challenge() }
            return await renderer.page(request, template: "node", title: "Node \(c.executor.hostname)", writer: false) { await node(c) }
        }
        router.get("ui/events") { request, _ in
            guard authorized(request, c) else { return challenge() }
            return events(c)
        }
        ConsoleRenderer.addAssets(to: router)
    }

    /// Basic authentication whose password is the CONTROLLER secret, compared in constant time.
    static func authorized(_ request: Request, _ c: Context) -> Bool {
        guard let given = BasicCredentials(authorization: request.headers[.authorization]) else { return false }
        return ExecutorAPI.constantTimeEqual(Array(given.password.utf8), c.secret)
    }

    static func challenge() -> Response {
        Response(status: .unauthorized,
                 headers: [.wwwAuthenticate: "Basic realm=\"Corral executor\", charset=\"UTF-8\"", .contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: "The console needs the executor's CONTROLLER secret as the password (any user name).\n")))
    }

    /// One unnamed event per change: a workload moved, the cluster state or
    /// membership changed, or the stage processors' activity differs from
    /// what was last sent. Nothing at rest but the keep-alive comment.
    static func events(_ c: Context) -> Response {
        let (live, feed) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let changes = Task {
            for await change in await c.executor.changes(coalescing: true) {
                switch change {
                case .workload(let i): feed.yield(ServerSentEvents.frame(data: "\(i.instanceId) \(i.state.name)"))
                case .clusterState(let s): feed.yield(ServerSentEvents.frame(data: "executor \(s.rawValue)"))
                case .metadata: feed.yield(ServerSentEvents.frame(data: "executor metadata"))
                }
            }
        }
        let looks = Task {
            var last = await lookAt(c)
            while !Task.isCancelled {
                try? await Task.sleep(for: stageLook)
                let now = await lookAt(c)
                if now != last { feed.yield(ServerSentEvents.frame(data: "activity")) }
                last = now
            }
        }
        feed.onTermination = { _ in changes.cancel(); looks.cancel() }
        return ServerSentEvents.response(live: live)
    }

    /// What the workload changes do not tell: the stages' activity and the cluster link.
    static func lookAt(_ c: Context) async -> String {
        var s = ""
        if let snap = await c.stages?.snapshot() {
            for st in snap.stages { s += "\(st.name):\(st.running)/\(st.queued)/\(st.processors.map { "\($0.state.rawValue)\($0.busy)" }.joined(separator: ","));" }
            for l in snap.locks { s += "\(l.name):\(l.holders.joined(separator: ","))|\(l.waiters.count);" }
        }
        if let st = await c.cluster?.status() { s += "zk:\(st.connected)\(st.leader ?? "")" }
        return s
    }

    static func node(_ c: Context) async -> [String: Any] {
        let e = c.executor
        let summary = await e.summary()
        let running = await e.list().filter { !$0.state.isTerminal }
        let instances = running.filter { $0.kind == .application }, tasks = running.filter { $0.kind == .task }
        func row(_ i: InstanceInfo) -> [String: Any] {
            var m: [String: Any] = ["instanceId": i.instanceId, "appId": i.appId, "state": i.state.name, "engine": i.engine.rawValue,
                                    "cores": i.allocation.map { $0.pinned ? $0.cpus.listString : "\($0.cpuCount) unpinned" } ?? "",
                                    "memory": (i.allocation?.memoryBytes ?? 0) >> 20,
                                    "ports": i.ports.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")]
            if let t = i.taskId { m["taskId"] = t }
            if let x = i.exitCode { m["exitCode"] = Int(x) }
            if let err = i.lastError, !err.isEmpty { m["error"] = err }
            return m
        }
        let used = summary.totalCpus - summary.freeCpus
        let freeMemory = summary.numaNodes.reduce(UInt64(0)) { $0 + $1.freeMemoryBytes }
        var model: [String: Any] = [
            "hostname": summary.hostname, "id": summary.id, "state": summary.executorState, "mode": summary.mode,
            "tags": summary.tags.joined(separator: ", "),
            "cores": ["used": used, "total": summary.totalCpus, "free": summary.freeCpus],
            "memory": ["used": (summary.totalMemoryBytes - min(freeMemory, summary.totalMemoryBytes)) >> 20, "total": summary.totalMemoryBytes >> 20],
            "nodes": summary.numaNodes.map { n -> [String: Any] in
                ["id": n.id, "cpus": n.cpus, "free": n.freeCpus.isEmpty ? "none" : n.freeCpus, "used": n.usedCpus,
                 "memory": n.memoryBytes >> 20, "freeMemory": n.freeMemoryBytes >> 20, "gpus": n.gpus.isEmpty ? "none" : n.gpus.map(String.init).joined(separator: ",")]
            },
            "instances": instances.map(row), "tasks": tasks.map(row), "instanceCount": instances.count, "taskCount": tasks.count,
            "map": await MachineMapAPI.render(executor: e, stages: c.stages),
        ]
        if let st = summary.cluster {
            model["cluster"] = ["connected": st.connected ? "connected" : "not connected", "namespace": st.namespace, "leader": st.leader ?? "none known"]
        } else {
            model["standalone"] = true
        }
        model.merge(StagesView.model(await c.stages?.snapshot(), absent: "This executor has no stage processors (processors.config in its YAML).")) { $1 }
        return model
    }
}
