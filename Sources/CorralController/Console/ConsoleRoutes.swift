import CorralConsole
import CorralCore
import CorralRuntime
import CorralExecutor
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web console, served by the controller: server-rendered pages (the
/// templates in ``ConsoleTemplates``) that update themselves from the
/// controller's event stream, with actions for users who may write. Docs:
/// docs/console.md.
enum Console {
    static func add(to router: Router<CorralRequestContext>, _ c: ControllerAPI.Context) {
        router.get("/") { request, _ in await page(request, c, "dashboard", "Cluster") { try await dashboard(c) } }
        router.get("ui/executors") { request, _ in await page(request, c, "executors", "Executors") { try await executors(c) } }
        router.get("ui/executors/:id") { request, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return await page(request, c, "executor", "Executor \(id)") { try await executor(c, id) }
        }
        router.get("ui/applications") { request, _ in await page(request, c, "applications", "Applications") { try await applications(c) } }
        router.get("ui/applications/:id") { request, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return await page(request, c, "application", "Application \(id)") { try await application(c, id) }
        }
        router.get("ui/applications/:id/instances/:iid") { request, ctx in
            let id = ctx.parameters.get("id") ?? "", iid = ctx.parameters.get("iid") ?? ""
            return await page(request, c, "instance", "Instance \(iid)") { try await instance(c, id, iid) }
        }
        router.get("ui/applications/:id/instances/:iid/tail") { _, ctx in
            await tail(c, ctx.parameters.get("id") ?? "", ctx.parameters.get("iid") ?? "")
        }
        router.get("ui/tasks") { request, _ in await page(request, c, "tasks", "Tasks") { try await tasks(c) } }
        router.get("ui/localservices") { request, _ in await page(request, c, "services", "Local services") { try await services(c) } }
        ConsoleRenderer.addAssets(to: router)
    }

    typealias NotFound = ConsoleRenderer.NotFound

    static func html(_ status: HTTPResponse.Status, _ text: String) -> Response { ConsoleRenderer.html(status, text) }

    static func escape(_ s: String) -> String { ConsoleRenderer.escape(s) }

    /// Renders `template` with what `build` gives, for a user who may write or not.
    static func page(_ request: Request, _ c: ControllerAPI.Context, _ template: String, _ title: String,
                     _ build: () async throws -> [String: Any]) async -> Response {
        await ConsoleTemplates.renderer.page(request, template: template, title: title, writer: await mayWrite(request, c), build)
    }

    static func mayWrite(_ request: Request, _ c: ControllerAPI.Context) async -> Bool {
        guard c.users.enabled else { return true }
        return await c.users.role(authorization: request.headers[.authorization])?.mayWrite ?? false
    }

    static func time(_ ms: Int64) -> String {
        Date(timeIntervalSince1970: Double(ms) / 1000).formatted(timeFormat) + " UTC"
    }

    /// Built once: every event row of every render uses it.
    static let timeFormat = Date.VerbatimFormatStyle(
        format: "\(year: .defaultDigits)-\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits)",
        timeZone: TimeZone(identifier: "UTC")!, calendar: Calendar(identifier: .gregorian))

    static func cores(_ resources: [DroveResources.Allocation]) -> String {
        var cpus = CPUSet()
        for r in resources { for ids in (r.cores ?? [:]).values { cpus.formUnion(CPUSet(ids)) } }
        return cpus.isEmpty ? "" : cpus.listString
    }

    static func memory(_ resources: [DroveResources.Allocation]) -> UInt64 {
        resources.reduce(0) { $0 + ($1.memoryInMB ?? [:]).values.reduce(0, +) }
    }

    // MARK: Pages

    static func dashboard(_ c: ControllerAPI.Context) async throws -> [String: Any] {
        let executors = await c.roster.executors.map(DroveAPI.ExecutorSummary.init)
        var byState: [String: Int] = [:]
        for e in executors { byState[e.state, default: 0] += 1 }
        let free = executors.reduce(0) { $0 + $1.freeCores }, used = executors.reduce(0) { $0 + $1.usedCores }
        let freeMem = executors.reduce(0) { $0 + $1.freeMemory }, usedMem = executors.reduce(0) { $0 + $1.usedMemory }
        let apps = await c.engine.applicationCount, services = await c.engine.serviceCount
        let state = await c.engine.clusterState.state
        let events = c.events.latest(after: 0, size: 15).events.map { e -> [String: Any] in
            let about = ["APP_ID", "SERVICE_ID", "TASK_ID", "INSTANCE_ID", "EXECUTOR_ID", "HOSTNAME", "CURRENT_STATE"]
                .compactMap { k -> String? in e.metadata[k].flatMap { v in if case .string(let s) = v { return s } else { return nil } } }
                .joined(separator: " · ")
            return ["time": time(e.time), "type": e.type.rawValue, "about": about]
        }
        return [
            "leader": await c.leadership.leader.map { "\($0.hostname):\($0.port)" } ?? "none",
            "state": state.rawValue, "maintenance": state == .MAINTENANCE,
            "executors": ["total": executors.count, "byState": byState.sorted { $0.key < $1.key }.map { ["name": $0.key, "count": $0.value] }],
            "cores": ["free": free, "used": used, "total": free + used],
            "memory": ["free": freeMem, "used": usedMem, "total": freeMem + usedMem],
            "apps": ["total": apps.all, "active": apps.active], "tasks": await c.engine.activeTasks.count,
            "services": ["total": services.all, "active": services.active], "events": events,
        ]
    }

    static func executorRow(_ d: ExecutorNodeData) -> [String: Any] {
        let nodes = d.state.layout.cores.keys.compactMap(Int.init).sorted().map { n -> [String: Any] in
            let k = String(n)
            return ["id": n, "freeCores": d.state.cpus.freeCores[k]?.count ?? 0, "usedCores": d.state.cpus.usedCores[k]?.count ?? 0,
                    "freeMemory": d.state.memory.freeMemory[k] ?? 0, "usedMemory": d.state.memory.usedMemory[k] ?? 0]
        }
        let gpus = (d.corral?.gpus ?? [:]).sorted { $0.key < $1.key }.map { "node \($0.key): \($0.value.map(String.init).joined(separator: ","))" }
        return ["id": d.state.executorId, "host": d.hostname, "port": d.port, "state": d.executorState.rawValue,
                "tags": d.tags.joined(separator: ", "), "nodes": nodes, "gpus": gpus.isEmpty ? "none" : gpus.joined(separator: "; "),
                "blacklisted": d.executorState == .BLACKLISTED || d.executorState == .BLACKLIST_REQUESTED]
    }

    static func executors(_ c: ControllerAPI.Context) async throws -> [String: Any] {
        ["rows": await c.roster.executors.map(executorRow)]
    }

    static func executor(_ c: ControllerAPI.Context, _ id: String) async throws -> [String: Any] {
        guard let d = await c.roster.executor(id) else { throw NotFound(what: "executor \(id)") }
        var model = executorRow(d)
        var map = "<p>The executor did not send its map.</p>"
        if let response = try? await c.messenger.get("/apis/v1/executor/map.svg", executor: d, timeout: .seconds(5)), response.status.code == 200,
           let body = try? await response.body.collect(upTo: 8 << 20) {
            let svg = String(buffer: body)
            // Only the drawing itself is embedded (not an XML prolog).
            if let start = svg.range(of: "<svg") { map = String(svg[start.lowerBound...]) }
        }
        model["map"] = map
        model.merge(await stages(c, d)) { $1 }
        model["instances"] = d.instances.map { i -> [String: Any] in
            ["instanceId": i.instanceId, "appId": i.appId, "state": i.state, "cores": cores(i.resources)]
        }
        return model
    }

    /// The executor's stage processors, as its own API gives them.
    static func stages(_ c: ControllerAPI.Context, _ d: ExecutorNodeData) async -> [String: Any] {
        guard let r = try? await c.messenger.get("/apis/v1/stages", executor: d, timeout: .seconds(5)) else {
            return StagesView.model(nil, absent: "The executor did not answer for its stage processors.")
        }
        guard r.status.code == 200, let body = try? await r.body.collect(upTo: 4 << 20),
              let snapshot = try? JSONDecoder().decode(StagesSnapshot.self, from: Data(buffer: body)) else {
            return StagesView.model(nil, absent: "This executor has no stage processors.")
        }
        return StagesView.model(snapshot)
    }

    static func applications(_ c: ControllerAPI.Context) async throws -> [String: Any] {
        let rows = await c.engine.summaries().values.sorted { $0.id < $1.id }.map { s -> [String: Any] in
            ["id": s.id, "state": s.state, "expected": s.requiredInstances, "healthy": s.healthyInstances, "cpus": s.totalCPUs, "memory": s.totalMemory]
        }
        return ["rows": rows]
    }

    static func application(_ c: ControllerAPI.Context, _ id: String) async throws -> [String: Any] {
        guard let s = await c.engine.summary(id) else { throw NotFound(what: "application \(id)") }
        func row(_ i: DroveInstanceInfo) -> [String: Any] {
            ["instanceId": i.instanceId, "appId": i.appId, "executorId": i.executorId, "host": i.localInfo.hostname,
             "ports": i.localInfo.ports.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.hostPort)" }.joined(separator: ", "),
             "cores": cores(i.resources), "memory": memory(i.resources), "state": i.state, "error": i.errorMessage ?? ""]
        }
        let spec = await c.engine.spec(id).map { String(decoding: (try? JSONSerialization.data(withJSONObject: (try? JSONSerialization.jsonObject(with: $0.data())) ?? [:], options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data(), as: UTF8.self) } ?? ""
        var model: [String: Any] = ["id": id, "state": s.state, "expected": s.requiredInstances, "healthy": s.healthyInstances,
                                    "instances": (await c.engine.instanceList(id) ?? []).map(row), "old": (await c.engine.oldInstances(id) ?? []).map(row), "spec": spec]
        // Absent, not empty: mustache sections show for any present value.
        if let o = s.operation { model["operation"] = o }
        if let o = s.lastOutcome { model["lastOutcome"] = o }
        return model
    }

    static func instance(_ c: ControllerAPI.Context, _ app: String, _ iid: String) async throws -> [String: Any] {
        guard let i = await c.engine.instance(app, iid) else { throw NotFound(what: "instance \(iid) of \(app)") }
        var files: [[String: Any]] = []
        if let at = await c.engine.logLocation(.applications, app, iid),
           let r = try? await c.messenger.get("/apis/v1/logs/filestream/\(at.appId)/\(at.instanceId)/list", executor: at.executor, timeout: .seconds(5)),
           r.status.code == 200, let body = try? await r.body.collect(upTo: 1 << 20),
           let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] {
            files = ((object["files"] as? [String]) ?? []).sorted().map { ["name": $0, "appId": app, "instanceId": iid] }
        }
        var model: [String: Any] = ["instanceId": iid, "appId": app, "state": i.state, "executorId": i.executorId, "host": i.localInfo.hostname,
                                    "cores": cores(i.resources), "memory": memory(i.resources), "files": files]
        let ports = i.localInfo.ports.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.hostPort)" }.joined(separator: ", ")
        if !ports.isEmpty { model["ports"] = ports }
        if let e = i.errorMessage, !e.isEmpty { model["error"] = e }
        return model
    }

    /// The instance's output as its executor's tail gives it (the last 200
    /// lines, then followed until the instance ends), streamed through.
    static func tail(_ c: ControllerAPI.Context, _ app: String, _ iid: String) async -> Response {
        guard let at = await c.engine.logLocation(.applications, app, iid) else {
            return html(.notFound, "no instance \(escape(iid)) of \(escape(app)) on a live executor")
        }
        guard let upstream = try? await c.messenger.get("/apis/v1/logs/\(at.instanceId)/tail?lines=200&follow=true", executor: at.executor,
                                                       timeout: .hours(24)), upstream.status.code == 200 else {
            return html(.badGateway, "the executor did not give the output")
        }
        let body = upstream.body
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"], body: ResponseBody { writer in
            for try await chunk in body { try await writer.write(chunk) }
            try await writer.finish(nil)
        })
    }

    static func tasks(_ c: ControllerAPI.Context) async throws -> [String: Any] {
        ["rows": await c.engine.activeTasks.map { t -> [String: Any] in
            ["taskId": t.taskId, "source": t.sourceAppName, "host": t.hostname, "state": t.state]
        }]
    }

    static func services(_ c: ControllerAPI.Context) async throws -> [String: Any] {
        ["rows": await c.engine.serviceSummaries().values.sorted { $0.id < $1.id }.map { s -> [String: Any] in
            ["id": s.id, "state": s.state, "activationState": s.activationState, "instancesPerHost": s.instancesPerHost, "healthyInstances": s.healthyInstances]
        }]
    }
}
