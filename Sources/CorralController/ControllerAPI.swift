import CorralConsole
import CorralCore
import CorralExecutor
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Drove's controller REST API (`ctl/resources/Apis.java`) under `/apis/v1`,
/// every answer in Drove's `{status, data, message}` envelope, so drove-cli
/// works unchanged. A follower redirects (307) every call to the leader;
/// `ping` answers 200 only on the leader. Documented in docs/controller.md.
public enum ControllerAPI {
    public static let maxBody = 4 << 20

    public struct Context: Sendable {
        public var engine: ApplicationEngine
        public var roster: ExecutorRoster
        public var leadership: Leadership
        public var users: UserAuthenticator
        public var options: ControllerOptions
        public var executorSecret: Secret?
        public var messenger: ExecutorMessenger
        public var events: ClusterEvents
        public var logger: Logger
        /// Node data of executors in RPC mode, kept from their snapshots.
        var snapshots: SnapshotRegistry? = nil
    }

    static func json<T: Encodable & Sendable>(_ status: HTTPResponse.Status, _ envelope: DroveAPI.Envelope<T>) -> Response {
        let data = (try? ControllerJSON.encoder.encode(envelope)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    static func ok<T: Encodable & Sendable>(_ data: T) -> Response { json(.ok, .success(data)) }

    static func failed(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(status, DroveAPI.Envelope<[String]>(status: "FAILED", data: nil, message: message))
    }

    static func failed(_ r: OperationRefusal) -> Response {
        json(HTTPResponse.Status(code: r.status), DroveAPI.Envelope(status: "FAILED", data: r.problems, message: r.message))
    }

    static func body(_ request: Request) async -> Data? {
        try? Data(buffer: await request.body.collect(upTo: maxBody))
    }

    public static func router(_ c: Context) -> Router<CorralRequestContext> {
        let router = Router(context: CorralRequestContext.self)
        router.add(middleware: Gate(c: c))
        let api = router.group("apis/v1")
        let engine = c.engine, roster = c.roster

        api.get("ping") { _, _ in
            await c.leadership.isLeader ? ok("pong") : failed(.badRequest, "This node is not the leader controller")
        }
        api.get("leader") { _, _ in
            guard let l = await c.leadership.leader else { return failed(.serviceUnavailable, "no leader controller is known") }
            return ok(l)
        }
        api.get("cluster") { _, _ in
            let executors = await roster.executors
            let counts = await engine.applicationCount
            let services = await engine.serviceCount
            let leader = await c.leadership.leader.map { "\($0.hostname):\($0.port)" } ?? ""
            let s = executors.map(DroveAPI.ExecutorSummary.init)
            let free = s.reduce(0) { $0 + $1.freeCores }, used = s.reduce(0) { $0 + $1.usedCores }
            let freeMem = s.reduce(0) { $0 + $1.freeMemory }, usedMem = s.reduce(0) { $0 + $1.usedMemory }
            return ok(DroveAPI.ClusterSummary(leader: leader, state: await engine.clusterState.state.rawValue, numExecutors: executors.count,
                                              numApplications: counts.all, numActiveApplications: counts.active,
                                              numActiveTasks: await engine.activeTasks.count,
                                              numLocalServices: services.all, numActiveLocalServices: services.active, freeCores: free, usedCores: used,
                                              totalCores: free + used, freeMemory: freeMem, usedMemory: usedMem, totalMemory: freeMem + usedMem))
        }
        api.get("cluster/executors") { _, _ in ok(await roster.executors.map(DroveAPI.ExecutorSummary.init)) }
        for (verb, on) in [("blacklist", true), ("unblacklist", false)] {
            @Sendable func handle(_ ids: [String]) async -> Response {
                if await engine.inMaintenance { return failed(.badRequest, ApplicationEngine.maintenanceRefusal) }
                guard !ids.isEmpty else { return failed(.badRequest, "id: name at least one executor (?id=EXECUTOR_ID, repeatable)") }
                let (done, failed) = await engine.setBlacklisted(ids, on)
                return ok(DroveAPI.BlacklistResult(successful: done, failed: failed, approxCompletionTimeMs: 0,
                                                   message: failed.isEmpty ? "done" : "not known or not reachable: \(failed.joined(separator: ", "))"))
            }
            api.post(RouterPath("cluster/executors/\(verb)")) { request, _ in
                await handle(request.uri.queryParameters.getAll("id").map { String($0) })
            }
            api.post(RouterPath("cluster/executors/:id/\(verb)")) { _, ctx in
                await handle([ctx.parameters.get("id") ?? ""])
            }
        }
        api.post("cluster/placement/simulate") { request, _ in
            guard let data = await body(request) else { return failed(.contentTooLarge, "the body is larger than \(maxBody) bytes") }
            do throws(OperationRefusal) {
                var result = try await engine.simulatePlacement(data)
                if request.uri.queryParameters.get("detail") != "true" { result.placements = [] }
                return ok(result)
            } catch {
                return json(HTTPResponse.Status(code: error.status), DroveAPI.Envelope(status: "FAILED", data: ["errors": error.problems], message: error.message))
            }
        }
        for (verb, on) in [("set", true), ("unset", false)] {
            api.post(RouterPath("cluster/maintenance/\(verb)")) { _, _ in
                do throws(OperationRefusal) { return ok(try await engine.setMaintenance(on)) } catch { return failed(error) }
            }
        }
        api.get("cluster/events") { request, _ in
            let (since, size) = try eventWindow(request)
            return ok(c.events.latest(after: since, size: size).events)
        }
        api.get("cluster/events/latest") { request, _ in
            let (since, size) = try eventWindow(request)
            return ok(c.events.latest(after: since, size: size))
        }
        api.get("cluster/events/summary") { request, _ in
            ok(c.events.summary(after: try eventWindow(request).since))
        }
        api.get("cluster/events/stream") { request, _ in
            try eventStream(request, c.events)
        }
        api.get("endpoints") { request, _ in
            ok(await engine.endpoints(apps: Set(request.uri.queryParameters.getAll("app").map { String($0) })))
        }
        api.get("endpoints/app/:name") { _, ctx in
            ok(await engine.endpoints(apps: [ctx.parameters.get("name") ?? ""]))
        }
        for family in ApplicationEngine.LogFamily.allCases {
            for action in ["list", "read/:file", "download/:file"] {
                api.get(RouterPath("logfiles/\(family.rawValue)/:domain/:id/\(action)")) { request, ctx in
                    await proxyLog(request, ctx, family: family, c)
                }
            }
        }
        api.get("cluster/executors/:id") { _, ctx in
            let id = ctx.parameters.get("id") ?? ""
            guard let d = await roster.executor(id) else { return failed(.notFound, "no executor \(id)") }
            return ok(d)
        }

        api.get("applications") { _, _ in ok(await engine.summaries()) }
        api.get("applications/:id") { _, ctx in
            let id = ctx.parameters.get("id") ?? ""
            guard let s = await engine.summary(id) else { return failed(.notFound, "no application \(id)") }
            return ok(s)
        }
        api.get("applications/:id/spec") { _, ctx in
            let id = ctx.parameters.get("id") ?? ""
            guard let s = await engine.spec(id) else { return failed(.notFound, "no application \(id)") }
            return ok(s)
        }
        api.get("applications/:id/instances") { _, ctx in
            let id = ctx.parameters.get("id") ?? ""
            guard let list = await engine.instanceList(id) else { return failed(.notFound, "no application \(id)") }
            return ok(list)
        }
        api.get("applications/:id/instances/old") { _, ctx in
            let id = ctx.parameters.get("id") ?? ""
            guard let list = await engine.oldInstances(id) else { return failed(.notFound, "no application \(id)") }
            return ok(list)
        }
        api.get("applications/:id/instances/:iid") { _, ctx in
            let id = ctx.parameters.get("id") ?? "", iid = ctx.parameters.get("iid") ?? ""
            guard let i = await engine.instance(id, iid) else { return failed(.notFound, "no instance \(iid) of \(id)") }
            return ok(i)
        }
        for path in ["applications/operations", "operations"] {
            api.post(RouterPath(path)) { request, _ in
                guard let data = await body(request) else { return failed(.contentTooLarge, "the body is larger than \(maxBody) bytes") }
                do throws(OperationRefusal) {
                    return ok(DroveAPI.AppIdData(appId: try await engine.accept(data)))
                } catch {
                    return failed(error)
                }
            }
            api.post(RouterPath(path + "/:appId/cancel")) { _, ctx in
                do throws(OperationRefusal) {
                    try await engine.cancel(ctx.parameters.get("appId") ?? "")
                    return ok(DroveAPI.MessageData(message: "cancellation requested"))
                } catch {
                    return failed(error)
                }
            }
        }
        api.get("localservices") { _, _ in ok(await engine.serviceSummaries()) }
        api.get("localservices/:id") { _, ctx in
            let id = ctx.parameters.get("id") ?? ""
            guard let s = await engine.serviceSummary(id) else { return failed(.notFound, "no local service \(id)") }
            return ok(s)
        }
        api.get("localservices/:id/spec") { _, ctx in
            let id = ctx.parameters.get("id") ?? ""
            guard let s = await engine.serviceSpec(id) else { return failed(.notFound, "no local service \(id)") }
            return ok(s)
        }
        api.get("localservices/:id/instances") { _, ctx in
            let id = ctx.parameters.get("id") ?? ""
            guard let list = await engine.serviceInstanceList(id) else { return failed(.notFound, "no local service \(id)") }
            return ok(list)
        }
        api.get("localservices/:id/instances/old") { _, ctx in
            let id = ctx.parameters.get("id") ?? ""
            guard let list = await engine.oldServiceInstanceList(id) else { return failed(.notFound, "no local service \(id)") }
            return ok(list)
        }
        api.get("localservices/:id/instances/:iid") { _, ctx in
            let id = ctx.parameters.get("id") ?? "", iid = ctx.parameters.get("iid") ?? ""
            guard let i = await engine.serviceInstance(id, iid) else { return failed(.notFound, "no instance \(iid) of local service \(id)") }
            return ok(i)
        }
        api.post("localservices/operations") { request, _ in
            guard let data = await body(request) else { return failed(.contentTooLarge, "the body is larger than \(maxBody) bytes") }
            do throws(OperationRefusal) {
                return ok(DroveAPI.ServiceIdData(serviceId: try await engine.acceptServiceOperation(data)))
            } catch {
                return failed(error)
            }
        }
        api.post("localservices/operations/:id/cancel") { _, ctx in
            do throws(OperationRefusal) {
                try await engine.cancelServiceOperation(ctx.parameters.get("id") ?? "")
                return ok(DroveAPI.MessageData(message: "cancellation requested"))
            } catch {
                return failed(error)
            }
        }
        api.get("tasks") { _, _ in ok(await engine.activeTasks.map(\.forAPI)) }
        api.post("tasks/operations") { request, _ in
            guard let data = await body(request) else { return failed(.contentTooLarge, "the body is larger than \(maxBody) bytes") }
            do throws(OperationRefusal) {
                return ok(DroveAPI.TaskIdData(taskId: try await engine.acceptTask(data)))
            } catch {
                return failed(error)
            }
        }
        api.get("tasks/:app/instances/:id") { _, ctx in
            let app = ctx.parameters.get("app") ?? "", id = ctx.parameters.get("id") ?? ""
            guard let t = await engine.task(app, id) else { return failed(.notFound, "no task \(id) of \(app)") }
            return ok(t.forAPI)
        }
        api.delete("tasks/:app/instances/:id") { _, ctx in
            do throws(OperationRefusal) {
                try await engine.deleteTask(ctx.parameters.get("app") ?? "", ctx.parameters.get("id") ?? "")
                return ok(["deleted": true])
            } catch {
                return failed(error)
            }
        }
        api.post("corral/run-jobs") { request, _ in
            guard let data = await body(request) else { return failed(.contentTooLarge, "the body is larger than \(maxBody) bytes") }
            do throws(OperationRefusal) {
                let placement = try await engine.placeRunJob(data)
                let json = (try? JSONEncoder().encode(placement)) ?? Data()
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: json)))
            } catch {
                return failed(error)
            }
        }
        api.post("messages") { request, _ in
            guard let data = await body(request) else { return failed(.contentTooLarge, "the body is larger than \(maxBody) bytes") }
            return await Messages.handle(data, engine: engine, snapshots: c.snapshots)
        }
        Console.add(to: router, c)
        return router
    }

    /// `lastSyncTime` (epoch ms, default 0) and `size` (default 1024) of an events call.
    static func eventWindow(_ request: Request) throws -> (since: Int64, size: Int) {
        let q = request.uri.queryParameters
        var since: Int64 = 0, size = 1024
        if let v = q.get("lastSyncTime") {
            guard let n = Int64(v), n >= 0 else { throw HTTPError(.badRequest, message: "lastSyncTime: \"\(v)\" is not a time (allowed: epoch milliseconds, 0 or more)") }
            since = n
        }
        if let v = q.get("size") {
            guard let n = Int(v), n >= 0 else { throw HTTPError(.badRequest, message: "size: \"\(v)\" is not a count (allowed: 0 or more)") }
            size = n
        }
        return (since, size)
    }

    /// The events as server-sent events (Corral's streaming variant of
    /// `/cluster/events`): those after `lastSyncTime` first (oldest first,
    /// only when it is given), then each as it happens; a comment every 15 s
    /// keeps idle proxies from closing the stream.
    static func eventStream(_ request: Request, _ events: ClusterEvents) throws -> Response {
        // A browser's EventSource sends the last id it saw when it reconnects: it gets what it missed.
        let resumed = request.headers[HTTPField.Name("Last-Event-ID")!].flatMap { Int64($0) }
        let given = request.uri.queryParameters.get("lastSyncTime") != nil || resumed != nil
        var (since, size) = try eventWindow(request)
        if let resumed { since = max(since, resumed) }
        let live = events.subscribe()
        let backlog = given ? Array(events.latest(after: since, size: size).events.reversed()) : []
        @Sendable func frame(_ e: ClusterEvents.Event) -> ByteBuffer {
            let data = (try? ControllerJSON.encoder.encode(e)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return ServerSentEvents.frame(id: String(e.time), event: e.type.rawValue, data: data)
        }
        // Subscribed before the backlog was read: what is in both is sent once.
        let sent = Set(backlog.map(\.id))
        return ServerSentEvents.response(first: backlog.map(frame), live: live.compactMap { sent.contains($0.id) ? nil : frame($0) })
    }

    /// Drove's `/apis/v1/logfiles/...`: passed to the workload's executor
    /// (its Drove filestream API) as the controller, answered as it answers.
    static func proxyLog(_ request: Request, _ ctx: CorralRequestContext, family: ApplicationEngine.LogFamily, _ c: Context) async -> Response {
        let domain = ctx.parameters.get("domain") ?? "", id = ctx.parameters.get("id") ?? ""
        guard let where_ = await c.engine.logLocation(family, domain, id) else {
            return failed(.notFound, "no \(family == .tasks ? "task" : "instance") \(id) of \(domain) on a live executor")
        }
        let tail = request.uri.path.components(separatedBy: "/\(id)/").last ?? "list"
        let query = request.uri.query.map { "?\($0)" } ?? ""
        let path = "/apis/v1/logs/filestream/\(where_.appId)/\(where_.instanceId)/\(tail)\(query)"
        do {
            let upstream = try await c.messenger.get(path, executor: where_.executor)
            var headers = HTTPFields()
            for name in ["Content-Type", "Content-Disposition"] {
                if let v = upstream.headers.first(name: name), let n = HTTPField.Name(name) { headers[n] = v }
            }
            let body = upstream.body
            return Response(status: .init(code: Int(upstream.status.code)), headers: headers, body: ResponseBody { writer in
                for try await chunk in body { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
        } catch {
            return failed(.badGateway, "executor \(where_.executor.hostname):\(where_.executor.port) did not answer: \(error)")
        }
    }

    /// The caller checks (cluster secret for messages, users for the rest)
    /// and the leader check, before any route.
    struct Gate: RouterMiddleware {
        typealias Context = CorralRequestContext
        let c: ControllerAPI.Context

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            let path = request.uri.path
            // The console's pages need what the API needs; its assets need nothing.
            let isPage = path == "/" || (path.hasPrefix("/ui/") && !path.hasPrefix("/ui/assets/"))
            guard path.hasPrefix("/apis/") || isPage else { return try await next(request, context) }
            let isPing = path == "/apis/v1/ping"
            if path == "/apis/v1/messages" || path == RemoteRunJob.controllerPath {
                let given = Array((request.headers[HTTPField.Name("Cluster-Authorization")!] ?? "").utf8)
                guard let secret = c.executorSecret, ExecutorAPI.constantTimeEqual(given, Array(secret.value.utf8)) else {
                    return ControllerAPI.failed(.unauthorized, "a cluster node's Cluster-Authorization is required")
                }
            } else if c.users.enabled && !isPing {
                let role = await c.users.role(authorization: request.headers[.authorization])
                // A placement simulation books nothing: reading is enough.
                let isRead = request.method == .get || path == "/apis/v1/cluster/placement/simulate"
                if role == nil && !(isRead && c.options.disableReadAuth) {
                    var h = HTTPFields()
                    h[.wwwAuthenticate] = "Basic realm=\"drove\""
                    h[.contentType] = "application/json"
                    let data = (try? ControllerJSON.encoder.encode(DroveAPI.Envelope<[String]>(status: "FAILED", data: nil, message: "credentials are required"))) ?? Data()
                    return Response(status: .unauthorized, headers: h, body: .init(byteBuffer: ByteBuffer(data: data)))
                }
                if let role, !isRead, !role.mayWrite {
                    return ControllerAPI.failed(.forbidden, "the \(role.rawValue) role may not change the cluster")
                }
            }
            if !isPing, !(await c.leadership.isLeader) {
                guard let leader = await c.leadership.leader else {
                    return ControllerAPI.failed(.serviceUnavailable, "no leader controller is known yet; try again")
                }
                var h = HTTPFields()
                h[.location] = leader.endpoint + request.uri.description
                // Drove sends browsers on with 303; API clients keep their method with 307.
                return Response(status: isPage ? .seeOther : .temporaryRedirect, headers: h)
            }
            return try await next(request, context)
        }
    }
}
