import CorralCore
import CorralHost
import CorralRuntime
import Foundation
import HTTPTypes
import Logging
import Hummingbird
import NIOCore

/// The executor's HTTP API (application port) and admin endpoints (admin port).
/// Documented in docs/api.md. Handlers return `ResponseEncodable` values
/// (encoded by the context's encoder; an encoding failure is a 500) and throw
/// ``APIError`` for every refusal.
public enum ExecutorAPI {
    public static let maxBody = 1 << 20

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// The body, or a 413 when it is larger than ``maxBody``.
    static func body(_ request: Request) async throws(APIError) -> Data {
        do {
            return Data(buffer: try await request.body.collect(upTo: maxBody))
        } catch {
            throw APIError(.contentTooLarge, "body_too_large", "the request body is larger than \(maxBody) bytes")
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
                                         requestLog: [AppenderConfig] = [], cluster: (any ClusterLink)? = nil,
                                         logger: Logger = Logger(label: "corral.api")) -> Router<CorralRequestContext> {
        let router = Router(context: CorralRequestContext.self)
        router.add(middleware: RequestTiming(metrics: metrics))
        if !requestLog.isEmpty { router.add(middleware: RequestLog(appenders: requestLog)) }
        let api = router.group("apis/v1").add(middleware: Auth(secret: Array(secret.value.utf8), metrics: metrics))

        api.get("ping") { _, _ in ["status": "ok"] }
        api.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: OpenAPIDocument.json)))
        }

        LogFilesAPI.add(to: api, executor: executor)
        if let apps { addApps(to: api, apps: apps, environment: environment) }
        StagesAPI.add(to: api, stages: stages)
        MachineMapAPI.add(to: api, executor: executor, stages: stages)

        api.get("executor") { _, _ in
            var summary = await executor.summary()
            summary.cluster = await cluster?.status()
            return summary
        }
        MessagesAPI.add(to: api, executor: executor, environment: environment, logger: logger)
        NodeConsole.add(to: router, .init(executor: executor, stages: stages, cluster: cluster, secret: Array(secret.value.utf8)))

        api.post("instances") { request, _ in
            let data = try await body(request)
            let spec: InstanceSpec
            do throws(SpecError) { spec = try InstanceSpec.parse(json: data, environment: environment) } catch { throw APIError(error) }
            do throws(ExecutorError) {
                return EditedResponse(status: .created, response: try await executor.startInstance(spec))
            } catch {
                throw APIError(error)
            }
        }

        api.get("instances") { request, _ in
            await executor.list(kind: .application, state: try stateFilter(request))
        }

        api.get("instances/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let info = await executor.get(id), info.kind == .application else {
                throw APIError(.notFound, "not_found", "no instance \(id)")
            }
            return info
        }

        api.post("instances/{id}/stop") { _, context in
            let id = context.parameters.get("id") ?? ""
            do throws(ExecutorError) {
                return EditedResponse(status: .accepted, response: try await executor.stopInstance(id))
            } catch {
                throw APIError(error)
            }
        }

        api.post("tasks") { request, _ in
            let data = try await body(request)
            let spec: TaskSpec
            do throws(SpecError) { spec = try TaskSpec.parse(json: data, environment: environment) } catch { throw APIError(error) }
            do throws(ExecutorError) {
                return EditedResponse(status: .created, response: try await executor.startTask(spec))
            } catch {
                throw APIError(error)
            }
        }

        api.get("tasks/{taskId}") { _, context in
            let id = context.parameters.get("taskId") ?? ""
            guard let info = await executor.task(id) else { throw APIError(.notFound, "not_found", "no task \(id)") }
            return info
        }

        api.delete("tasks/{taskId}") { _, context in
            let id = context.parameters.get("taskId") ?? ""
            do throws(ExecutorError) {
                return try await executor.cancelTask(id)
            } catch {
                throw APIError(error)
            }
        }
        return router
    }

    /// `?state=NAME`: one of the instance states, or a 400 listing them.
    static func stateFilter(_ request: Request) throws(APIError) -> WorkloadState? {
        guard let name = request.uri.queryParameters.get("state") else { return nil }
        guard let state = WorkloadState(name: name, kind: .application) else {
            throw APIError(.badRequest, "invalid_state", "state \"\(name)\" is not an instance state; allowed: "
                           + WorkloadState.names(of: .application).joined(separator: ", "))
        }
        return state
    }

    /// `POST /apps`: `{"spec": <instance spec>, "instances": N}`.
    struct Deployment: Decodable {
        var instances: Int
    }

    /// `PUT /apps/{id}/scale`: `{"instances": N}`.
    struct Scale: Decodable {
        var instances: Int
    }

    /// Standalone apps.
    static func addApps(to api: RouterGroup<CorralRequestContext>, apps: AppReconciler, environment: [String: String]) {
        api.post("apps") { request, _ in
            let data = try await body(request)
            // The spec's bytes as sent, handed to the spec reader (which names every
            // problem in it); re-serialising a parsed value trapped on a spec that
            // was not an object (Foundation's fatalError, found by schemathesis).
            let bytes = Array(data)
            guard let members = JSONScan.topLevelMembers(bytes), let specRange = members["spec"],
                  Set(members.keys).isSubset(of: ["spec", "instances"]),
                  let count = (try? JSONDecoder().decode(Deployment.self, from: data))?.instances else {
                throw APIError(.unprocessableContent, "invalid_app", "the body must be {\"spec\": <instance spec>, \"instances\": N}")
            }
            let specData = Data(bytes[specRange])
            let spec: InstanceSpec
            do throws(SpecError) { spec = try InstanceSpec.parse(json: specData, environment: environment) } catch { throw APIError(error) }
            do throws(ExecutorError) {
                return EditedResponse(status: .created, response: try await apps.deploy(spec, instances: count))
            } catch {
                throw APIError(error)
            }
        }
        api.get("apps") { _, _ in await apps.list() }
        api.get("apps/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let s = await apps.get(id) else { throw APIError(.notFound, "not_found", "no app \(id)") }
            return s
        }
        api.put("apps/{id}/scale") { request, context in
            let data = try await body(request)
            guard let count = (try? JSONDecoder().decode(Scale.self, from: data))?.instances else {
                throw APIError(.unprocessableContent, "invalid_scale", "the body must be {\"instances\": N}")
            }
            do throws(ExecutorError) {
                return try await apps.scale(context.parameters.get("id") ?? "", instances: count)
            } catch {
                throw APIError(error)
            }
        }
        api.delete("apps/{id}") { _, context in
            do throws(ExecutorError) {
                try await apps.destroy(context.parameters.get("id") ?? "")
                return Response(status: .noContent)
            } catch {
                throw APIError(error)
            }
        }
    }

    public struct Health: Codable, Sendable, ResponseEncodable {
        public var healthy: Bool
        public var engines: [String: Bool]
        public var stateStoreWritable: Bool
        public var logDiskFreeBytes: UInt64?
        /// State writes that failed since the executor started.
        public var stateWriteFailures: Int
        /// Cluster membership (shown, not counted against health: a
        /// ZooKeeper outage leaves the executor serving what it runs).
        public var cluster: ClusterStatus?
        /// The node preparation checks (`corral doctor`) that were not OK at
        /// the start: warnings, not counted against health.
        public var preparation: [DoctorFinding] = []
    }

    public static func adminRouter(executor: Executor, metrics: Metrics, logPath: String,
                                   stages: StageDispatcher? = nil, cluster: (any ClusterLink)? = nil,
                                   preparation: [DoctorFinding] = []) -> Router<CorralRequestContext> {
        let router = Router(context: CorralRequestContext.self)
        router.get("ping") { _, _ in "pong\n" }
        router.get("metrics") { _, _ in
            await executor.recordGauges(into: metrics)
            if let stages { metrics.record(await stages.snapshot()) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("healthcheck") { _, _ in
            let summary = await executor.summary()
            let writable = await executor.storeWritable
            let free = (try? FileManager.default.attributesOfFileSystem(forPath: FileSystemRoot().nearestExisting(logPath)))?[.systemFreeSize] as? UInt64
            let healthy = writable && summary.engines.values.contains(true) && (free ?? 1) > 64 << 20
            return EditedResponse(status: healthy ? .ok : .serviceUnavailable,
                                  response: Health(healthy: healthy, engines: summary.engines, stateStoreWritable: writable,
                                                   logDiskFreeBytes: free, stateWriteFailures: await executor.stateWriteFailures,
                                                   cluster: await cluster?.status(), preparation: preparation))
        }
        return router
    }
}

extension InstanceInfo: ResponseEncodable {}
extension AppReconciler.Status: ResponseEncodable {}
extension Executor.Summary: ResponseEncodable {}
