import CorralCore
import CorralRuntime
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The executor's HTTP API (application port) and admin endpoints (admin port).
/// Documented in docs/api.md.
public enum ExecutorAPI {
    public static let maxBody = 1 << 20
    static let authHeader = HTTPField.Name("Cluster-Authorization")!


    // MARK: JSON responses

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var details: [ConfigIssue]?
        }
        var error: Detail
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String,
                      details: [ConfigIssue]? = nil) -> Response {
        json(ErrorBody(error: .init(code: code, message: message, details: details)), status: status)
    }

    static func error(_ e: ExecutorError) -> Response {
        let status: HTTPResponse.Status = switch e.code {
        case .notFound: .notFound
        case .conflict, .doesNotFit: .conflict
        case .invalid: .unprocessableContent
        case .engineUnavailable, .stateUnavailable: .serviceUnavailable
        }
        return error(status, e.codeName, e.message)
    }

    /// The body, or the response refusing it.
    static func body(_ request: Request) async -> (Data?, Response?) {
        do {
            let buffer = try await request.body.collect(upTo: maxBody)
            return (Data(buffer: buffer), nil)
        } catch {
            return (nil, Self.error(.contentTooLarge, "body_too_large", "the request body is larger than \(maxBody) bytes"))
        }
    }

    // MARK: Auth

    /// Every `/apis/...` request must carry `Cluster-Authorization: <CONTROLLER secret>`.
    struct Auth<Context: RequestContext>: RouterMiddleware {
        let secret: [UInt8]
        let metrics: Metrics

        func handle(_ request: Request, context: Context,
                    next: (Request, Context) async throws -> Response) async throws -> Response {
            let given = Array((request.headers[ExecutorAPI.authHeader] ?? "").utf8)
            guard ExecutorAPI.constantTimeEqual(given, secret) else {
                await metrics.increment("corral_api_unauthorized_total")
                return ExecutorAPI.error(.unauthorized, "unauthorized",
                                         "missing or wrong Cluster-Authorization header")
            }
            return try await next(request, context)
        }
    }

    /// Compares without leaking where the first difference is.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0 && !b.isEmpty
    }

    // MARK: Routes

    public static func applicationRouter(executor: Executor, secret: Secret, metrics: Metrics,
                                         environment: [String: String], apps: AppReconciler? = nil,
                                         stages: StageDispatcher? = nil,
                                         requestLog: [AppenderConfig] = []) -> Router<CorralRequestContext> {
        let router = Router(context: CorralRequestContext.self)
        router.add(middleware: RequestTiming(metrics: metrics))
        if !requestLog.isEmpty { router.add(middleware: RequestLog(appenders: requestLog)) }
        let api = router.group("apis/v1").add(middleware: Auth(secret: Array(secret.value.utf8), metrics: metrics))

        api.get("ping") { _, _ in json(["status": "ok"]) }

        LogFilesAPI.add(to: api, executor: executor)
        if let apps { addApps(to: api, apps: apps, environment: environment) }
        StagesAPI.add(to: api, stages: stages)
        MachineMapAPI.add(to: api, executor: executor, stages: stages)

        api.get("executor") { _, _ in json(await executor.summary()) }

        api.post("instances") { request, _ in
            let (read, refusal) = await body(request)
            guard let data = read else { return refusal! }
            let spec: InstanceSpec
            do throws(SpecError) {
                spec = try InstanceSpec.parse(json: data, environment: environment)
            } catch {
                return Self.error(.unprocessableContent, error.codeName, error.message, details: error.issues)
            }
            do throws(ExecutorError) {
                return json(try await executor.startInstance(spec), status: .created)
            } catch {
                return Self.error(error)
            }
        }

        api.get("instances") { request, _ in
            let state = request.uri.queryParameters.get("state")
            return json(await executor.list(kind: .application, state: state))
        }

        api.get("instances/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let info = await executor.get(id), info.kind == .application else {
                return Self.error(.notFound, "not_found", "no instance \(id)")
            }
            return json(info)
        }

        api.post("instances/{id}/stop") { _, context in
            let id = context.parameters.get("id") ?? ""
            do throws(ExecutorError) {
                return json(try await executor.stopInstance(id), status: .accepted)
            } catch {
                return Self.error(error)
            }
        }

        api.post("tasks") { request, _ in
            let (read, refusal) = await body(request)
            guard let data = read else { return refusal! }
            let spec: TaskSpec
            do throws(SpecError) {
                spec = try TaskSpec.parse(json: data, environment: environment)
            } catch {
                return Self.error(.unprocessableContent, error.codeName, error.message, details: error.issues)
            }
            do throws(ExecutorError) {
                return json(try await executor.startTask(spec), status: .created)
            } catch {
                return Self.error(error)
            }
        }

        api.get("tasks/{taskId}") { _, context in
            let id = context.parameters.get("taskId") ?? ""
            guard let info = await executor.task(id) else { return Self.error(.notFound, "not_found", "no task \(id)") }
            return json(info)
        }

        api.delete("tasks/{taskId}") { _, context in
            let id = context.parameters.get("taskId") ?? ""
            do throws(ExecutorError) {
                return json(try await executor.cancelTask(id))
            } catch {
                return Self.error(error)
            }
        }
        return router
    }

    /// Standalone apps: `{"spec": <instance spec>, "instances": N}`.
    static func addApps(to api: RouterGroup<CorralRequestContext>, apps: AppReconciler, environment: [String: String]) {
        @Sendable func instancesField(_ data: Data) -> Int? {
            ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["instances"] as? Int
        }
        api.post("apps") { request, _ in
            let (read, refusal) = await body(request)
            guard let data = read else { return refusal! }
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                  let specObject = object["spec"], let count = object["instances"] as? Int,
                  Set(object.keys).isSubset(of: ["spec", "instances"]),
                  let specData = try? JSONSerialization.data(withJSONObject: specObject) else {
                return Self.error(.unprocessableContent, "invalid_app",
                                  "the body must be {\"spec\": <instance spec>, \"instances\": N}")
            }
            let spec: InstanceSpec
            do throws(SpecError) {
                spec = try InstanceSpec.parse(json: specData, environment: environment)
            } catch {
                return Self.error(.unprocessableContent, error.codeName, error.message, details: error.issues)
            }
            do throws(ExecutorError) {
                return json(try await apps.deploy(spec, instances: count), status: .created)
            } catch {
                return Self.error(error)
            }
        }
        api.get("apps") { _, _ in json(await apps.list()) }
        api.get("apps/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let s = await apps.get(id) else { return Self.error(.notFound, "not_found", "no app \(id)") }
            return json(s)
        }
        api.put("apps/{id}/scale") { request, context in
            let (read, refusal) = await body(request)
            guard let data = read else { return refusal! }
            guard let count = instancesField(data) else {
                return Self.error(.unprocessableContent, "invalid_scale", "the body must be {\"instances\": N}")
            }
            do throws(ExecutorError) {
                return json(try await apps.scale(context.parameters.get("id") ?? "", instances: count))
            } catch {
                return Self.error(error)
            }
        }
        api.delete("apps/{id}") { _, context in
            do throws(ExecutorError) {
                try await apps.destroy(context.parameters.get("id") ?? "")
                return Response(status: .noContent)
            } catch {
                return Self.error(error)
            }
        }
    }

    struct Health: Encodable {
        var healthy: Bool
        var engines: [String: Bool]
        var stateStoreWritable: Bool
        var logDiskFreeBytes: UInt64?
    }

    public static func adminRouter(executor: Executor, metrics: Metrics, logPath: String) -> Router<CorralRequestContext> {
        let router = Router(context: CorralRequestContext.self)
        router.get("ping") { _, _ in "pong\n" }
        router.get("metrics") { _, _ in
            let text = await metrics.render(gauges: await executor.gauges())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("healthcheck") { _, _ in
            let summary = await executor.summary()
            let writable = await executor.storeWritable
            let free = (try? FileManager.default.attributesOfFileSystem(forPath: existingParent(logPath)))?[.systemFreeSize] as? UInt64
            let healthy = writable && summary.engines.values.contains(true) && (free ?? 1) > 64 << 20
            return json(Health(healthy: healthy, engines: summary.engines, stateStoreWritable: writable, logDiskFreeBytes: free),
                        status: healthy ? .ok : .serviceUnavailable)
        }
        return router
    }

    static func existingParent(_ path: String) -> String {
        var p = path
        while !FileManager.default.fileExists(atPath: p), p != "/" { p = (p as NSString).deletingLastPathComponent }
        return p.isEmpty ? "/" : p
    }
}

/// The request context of both listeners: Hummingbird's core storage plus the
/// peer's address, which the request log writes.
public struct CorralRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
