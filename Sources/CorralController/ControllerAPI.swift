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
        public var logger: Logger
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
            let leader = await c.leadership.leader.map { "\($0.hostname):\($0.port)" } ?? ""
            let s = executors.map(DroveAPI.ExecutorSummary.init)
            let free = s.reduce(0) { $0 + $1.freeCores }, used = s.reduce(0) { $0 + $1.usedCores }
            let freeMem = s.reduce(0) { $0 + $1.freeMemory }, usedMem = s.reduce(0) { $0 + $1.usedMemory }
            return ok(DroveAPI.ClusterSummary(leader: leader, state: "NORMAL", numExecutors: executors.count,
                                              numApplications: counts.all, numActiveApplications: counts.active,
                                              numActiveTasks: await engine.activeTasks.count,
                                              numLocalServices: 0, numActiveLocalServices: 0, freeCores: free, usedCores: used,
                                              totalCores: free + used, freeMemory: freeMem, usedMemory: usedMem, totalMemory: freeMem + usedMem))
        }
        api.get("cluster/executors") { _, _ in ok(await roster.executors.map(DroveAPI.ExecutorSummary.init)) }
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
        api.post("messages") { request, _ in
            guard let data = await body(request) else { return failed(.contentTooLarge, "the body is larger than \(maxBody) bytes") }
            return await Messages.handle(data, engine: engine)
        }
        return router
    }

    /// The caller checks (cluster secret for messages, users for the rest)
    /// and the leader check, before any route.
    struct Gate: RouterMiddleware {
        typealias Context = CorralRequestContext
        let c: ControllerAPI.Context

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            let path = request.uri.path
            guard path.hasPrefix("/apis/") else { return try await next(request, context) }
            let isPing = path == "/apis/v1/ping"
            if path == "/apis/v1/messages" {
                let given = Array((request.headers[HTTPField.Name("Cluster-Authorization")!] ?? "").utf8)
                guard let secret = c.executorSecret, ExecutorAPI.constantTimeEqual(given, Array(secret.value.utf8)) else {
                    return ControllerAPI.failed(.unauthorized, "a cluster node's Cluster-Authorization is required")
                }
            } else if c.users.enabled && !isPing {
                let role = await c.users.role(authorization: request.headers[.authorization])
                let isRead = request.method == .get
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
                return Response(status: .temporaryRedirect, headers: h)
            }
            return try await next(request, context)
        }
    }
}
