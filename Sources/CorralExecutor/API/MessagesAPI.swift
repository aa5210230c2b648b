import CorralCore
import CorralRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST /apis/v1/messages`: Drove's controller → executor messages, with
/// Drove's envelope and replies. The route is behind the API's
/// authentication, which takes only the CONTROLLER secret: an executor's
/// secret does not open it (Drove accepts either). A START naming exact
/// cores and memory gets those or fails; one naming none is placed by this
/// executor's allocator.
public enum MessagesAPI {
    static func add(to api: RouterGroup<CorralRequestContext>, executor: Executor, environment: [String: String], logger: Logger) {
        api.post("messages") { request, _ in
            let data = try await ExecutorAPI.body(request)
            let sender = request.headers[HTTPField.Name("NodeId")!] ?? "unknown"
            let (status, reply) = await handle(data, executor: executor, environment: environment)
            logger.info("controller message", metadata: ["from": "\(sender)", "status": "\(reply.status.rawValue)",
                                                         "message": "\(reply.message ?? "")"])
            return EditedResponse(status: status, response: reply)
        }
    }

    static func handle(_ data: Data, executor: Executor, environment: [String: String]) async -> (HTTPResponse.Status, DroveMessage.Response) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return (.badRequest, reply(nil, .REJECTED, "the body is not a JSON object (a Drove message: {\"type\", \"header\", ...})"))
        }
        if let problem = envelopeProblem(object) { return (.badRequest, reply(nil, .REJECTED, problem)) }
        let header = (object["header"] as? [String: Any]).flatMap { h -> DroveMessage.Header? in
            guard let id = h["id"] as? String else { return nil }
            return DroveMessage.Header(id: id, senderType: (h["senderType"] as? String).flatMap(DroveMessage.SenderType.init),
                                       direction: (h["direction"] as? String).flatMap(DroveMessage.Direction.init),
                                       replyToId: h["replyToId"] as? String, messageTime: (h["messageTime"] as? NSNumber)?.int64Value)
        }
        guard let header else { return (.badRequest, reply(nil, .REJECTED, "header.id is missing")) }
        guard let typeName = object["type"] as? String,
              let type = DroveMessage.ExecutorMessageType(rawValue: typeName.uppercased()) else {
            return (.badRequest, reply(header, .REJECTED, "type \"\(object["type"].map { "\($0)" } ?? "")\" is not an executor message; allowed: "
                                       + DroveMessage.ExecutorMessageType.allCases.map(\.rawValue).joined(separator: ", ")))
        }
        let pinned = await executor.resources.mode == .pinned
        switch type {
        case .START_INSTANCE, .START_LOCAL_SERVICE_INSTANCE:
            guard let spec = object["spec"] as? [String: Any] else { return (.badRequest, reply(header, .REJECTED, "spec is missing")) }
            let translated: DroveSpecTranslator.Translated
            let parsed: InstanceSpec
            do {
                translated = type == .START_INSTANCE
                    ? try DroveSpecTranslator.application(spec, pinned: pinned)
                    : try DroveSpecTranslator.localService(spec, pinned: pinned)
                parsed = try InstanceSpec.parse(json: translated.spec, environment: environment)
            } catch let e as SpecError {
                return (.ok, reply(header, .REJECTED, e.message))
            } catch {
                return (.ok, reply(header, .REJECTED, "\(error)"))
            }
            // Messages are retried when an answer is slow: a START for an
            // instance that is starting or runs here is the same one again.
            if let id = parsed.instanceId, await executor.isLive(id) { return (.ok, reply(header, .ACCEPTED, "\(id) is already started here")) }
            do throws(ExecutorError) {
                _ = try await executor.startInstance(parsed, exact: translated.exact)
                return (.ok, reply(header, .ACCEPTED, nil))
            } catch {
                return (.ok, reply(header, .FAILED, error.message))
            }
        case .START_TASK:
            guard let spec = object["spec"] as? [String: Any] else { return (.badRequest, reply(header, .REJECTED, "spec is missing")) }
            let translated: DroveSpecTranslator.Translated
            let parsed: TaskSpec
            do {
                translated = try DroveSpecTranslator.task(spec, pinned: pinned)
                parsed = try TaskSpec.parse(json: translated.spec, environment: environment)
            } catch let e as SpecError {
                return (.ok, reply(header, .REJECTED, e.message))
            } catch {
                return (.ok, reply(header, .REJECTED, "\(error)"))
            }
            if let id = translated.instanceId, await executor.isLive(id) { return (.ok, reply(header, .ACCEPTED, "\(id) is already started here")) }
            do throws(ExecutorError) {
                _ = try await executor.startTask(parsed, instanceId: translated.instanceId, exact: translated.exact)
                return (.ok, reply(header, .ACCEPTED, nil))
            } catch {
                return (.ok, reply(header, .FAILED, error.message))
            }
        case .STOP_INSTANCE, .STOP_TASK, .STOP_LOCAL_SERVICE_INSTANCE:
            guard let id = object["instanceId"] as? String else { return (.badRequest, reply(header, .REJECTED, "instanceId is missing")) }
            guard let info = await executor.get(id), !info.state.isTerminal else {
                return (.ok, reply(header, .FAILED, "no running \(type == .STOP_TASK ? "task" : "instance") \(id)"))
            }
            do throws(ExecutorError) {
                if info.kind == .task {
                    _ = try await executor.cancelTask(info.taskId ?? id)
                } else {
                    _ = try await executor.stopInstance(id)
                }
                return (.ok, reply(header, .ACCEPTED, nil))
            } catch {
                return (.ok, reply(header, .FAILED, error.message))
            }
        case .START_RUN_JOB:
            return await startRunJob(object, header: header, executor: executor, pinned: pinned)
        case .BLACKLIST_REQUESTED:
            await executor.setClusterState(.BLACKLIST_REQUESTED)
            return (.ok, reply(header, .ACCEPTED, nil))
        case .BLACKLIST:
            await executor.setClusterState(.BLACKLISTED)
            return (.ok, reply(header, .ACCEPTED, nil))
        case .UNBLACKLIST:
            await executor.setClusterState(.ACTIVE)
            return (.ok, reply(header, .ACCEPTED, nil))
        }
    }

    /// A field of the envelope with the wrong type, named (nil when all are right).
    static func envelopeProblem(_ object: [String: Any]) -> String? {
        func isString(_ v: Any?) -> Bool { v == nil || v is String }
        func isObject(_ v: Any?) -> Bool { v == nil || v is [String: Any] }
        func isInteger(_ v: Any?) -> Bool {
            guard let v else { return true }
            // Foundation reads true/false as a boolean NSNumber (objCType "c").
            guard let n = v as? NSNumber, String(cString: n.objCType) != "c" else { return false }
            return n.doubleValue == n.doubleValue.rounded()
        }
        if !isString(object["type"]) { return "type must be a string" }
        guard let header = object["header"] as? [String: Any] else { return "header must be an object with an id" }
        guard header["id"] is String else { return "header.id must be a string" }
        for key in ["senderType", "direction", "replyToId"] where !isString(header[key]) { return "header.\(key) must be a string" }
        if !isInteger(header["messageTime"]) { return "header.messageTime must be epoch milliseconds (an integer)" }
        for key in ["spec", "address"] where !isObject(object[key]) { return "\(key) must be an object" }
        if !isString(object["instanceId"]) { return "instanceId must be a string" }
        return nil
    }

    /// Drove answers with the request's header; so does Corral.
    static func reply(_ header: DroveMessage.Header?, _ status: DroveMessage.DeliveryStatus, _ message: String?) -> DroveMessage.Response {
        DroveMessage.Response(header: header ?? DroveMessage.Header(id: "", senderType: nil, direction: nil, replyToId: nil, messageTime: nil),
                              status: status, message: message)
    }

    /// A `corral run --cluster` job the leader placed here: checked against
    /// this node's run configuration like a local request (the caller as the
    /// executor that read it from its socket vouches for it), then started
    /// as a task on exactly the resources the leader booked.
    static func startRunJob(_ object: [String: Any], header: DroveMessage.Header, executor: Executor,
                            pinned: Bool) async -> (HTTPResponse.Status, DroveMessage.Response) {
        guard let raw = object["job"], let data = try? JSONSerialization.data(withJSONObject: raw),
              let job = try? JSONDecoder().decode(RemoteRunJob.self, from: data) else {
            return (.badRequest, reply(header, .REJECTED, "job: missing, or not a corral run job"))
        }
        guard let instanceId = object["instanceId"] as? String, !instanceId.isEmpty else {
            return (.badRequest, reply(header, .REJECTED, "instanceId is missing"))
        }
        if await executor.isLive(instanceId) { return (.ok, reply(header, .ACCEPTED, "\(instanceId) is already started here")) }
        guard let desk = await executor.runDesk else {
            return (.ok, reply(header, .FAILED, "corral run is not served on \(await executor.hostname) (its options.runSocketPath is empty)"))
        }
        var resources: [String: Any] = ["resources": object["resources"] ?? []]
        let exact: Allocation?
        do throws(DroveSpecTranslator.Failure) { exact = try DroveSpecTranslator.resources(&resources, id: instanceId, pinned: pinned) } catch {
            return (.ok, reply(header, .REJECTED, error.description))
        }
        var spec: TaskSpec
        switch await desk.prepare(job.request, caller: job.caller, taskId: job.taskId) {
        case .failure(let f): return (.ok, reply(header, .FAILED, f.message))
        case .success(let prepared): spec = prepared.spec
        }
        spec.job?.origin = job.origin
        do throws(ExecutorError) {
            _ = try await executor.startTask(spec, instanceId: instanceId, exact: exact)
            return (.ok, reply(header, .ACCEPTED, nil))
        } catch {
            return (.ok, reply(header, .FAILED, error.message))
        }
    }

}

extension DroveMessage.Response: ResponseEncodable {}
