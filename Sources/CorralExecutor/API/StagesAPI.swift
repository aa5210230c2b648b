import CorralCore
import CorralRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The executor's SQLite store keeps stage jobs across restarts. A failed
/// write is logged and counted (`corral_state_write_failures_total`).
struct StoredJobs: StageJobStore {
    let store: StateStore
    let metrics: Metrics
    let logger: Logger

    func save(_ job: StageJob) async {
        do {
            try store.saveJob(job)
        } catch {
            metrics.increment(.stateWriteFailures)
            logger.error("state write failed: the database does not have this job change",
                         metadata: ["job": "\(job.id)", "state": "\(job.state.rawValue)", "error": "\(error.message)"])
        }
    }
}

/// A stage job as the API shows it: the task and output as JSON, not bytes.
public struct JobView: ResponseEncodable {
    /// What clients read back of a job without its task and output.
    public struct Head: Decodable, Sendable {
        public var id: String
        public var state: StageJob.State
    }

    var id: String
    var stage: String
    var state: String
    var processor: String?
    var error: String?
    var deadlineSeconds: Double?
    /// Seconds since the Unix epoch, as instances' times are.
    var submitted: Double
    var started: Double?
    var finished: Double?
    var queueSeconds: Double?
    var task: JSONValue
    var output: JSONValue?

    init(_ j: StageJob) {
        id = j.id
        stage = j.stage
        state = j.state.rawValue
        processor = j.processor
        error = j.error
        deadlineSeconds = j.deadlineSeconds
        submitted = j.submitted.timeIntervalSince1970
        started = j.started?.timeIntervalSince1970
        finished = j.finished?.timeIntervalSince1970
        queueSeconds = j.started.map { $0.timeIntervalSince(j.submitted) }
        task = JSONValue(j.task)
        output = j.output.map(JSONValue.init)
    }
}

/// Raw JSON passed through unchanged.
struct JSONValue: Encodable {
    let value: Any?
    init(_ data: Data) { value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) }
    init(any: Any?) { value = any }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case nil, is NSNull: try c.encodeNil()
        case let d as [String: Any]: try c.encode(d.mapValues { JSONValue(any: $0) })
        case let a as [Any]: try c.encode(a.map { JSONValue(any: $0) })
        case let s as String: try c.encode(s)
        case let n as NSNumber:
            if JSONTree.isBool(n) { try c.encode(n.boolValue) }
            else if let i = Int64(exactly: n) { try c.encode(i) }
            else { try c.encode(n.doubleValue) }
        default: try c.encodeNil()
        }
    }
}

enum StagesAPI {
    static func add(to api: RouterGroup<CorralRequestContext>, stages: StageDispatcher?) {
        guard let stages else {
            // Served anyway, so that clients learn why rather than get a bare 404.
            let none = { @Sendable (_: Request, _: CorralRequestContext) async throws -> Response in
                throw APIError(.notFound, "no_processors", "this executor has no stage processors (set processors.config in its YAML)")
            }
            api.get("stages", use: none)
            api.post("stages/{stage}/jobs", use: none)
            api.get("jobs/{id}", use: none)
            api.delete("jobs/{id}", use: none)
            return
        }
        api.get("stages") { _, _ in await stages.snapshot() }

        api.post("stages/{stage}/jobs") { request, context in
            let stage = context.parameters.get("stage") ?? ""
            let data = try await ExecutorAPI.body(request)
            guard let obj = try? JSONSerialization.jsonObject(with: data), obj is [String: Any] else {
                throw APIError(.badRequest, "invalid_task", "the body must be the task: a JSON object")
            }
            var deadline: Double?
            if let d = request.uri.queryParameters.get("deadline") {
                guard let v = ConfigDuration(parsing: d), v.nanoseconds > 0 else {
                    throw APIError(.badRequest, "invalid_deadline", "deadline \"\(d)\" is not a positive duration (e.g. 90s, 20m)")
                }
                deadline = v.seconds
            }
            let wait = try request.flag("wait")
            do throws(StageError) {
                let job = try await stages.submit(stage: stage, task: data, deadline: deadline)
                if wait, let done = await stages.wait(job.id) { return EditedResponse(status: .ok, response: JobView(done)) }
                return EditedResponse(status: .accepted, response: JobView(job))
            } catch {
                throw APIError(error)
            }
        }

        api.get("jobs/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            let job = try request.flag("wait") ? await stages.wait(id) : await stages.job(id)
            guard let job else { throw APIError(.notFound, "not_found", "no job \(id)") }
            return JobView(job)
        }

        api.delete("jobs/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            do throws(StageError) {
                return JobView(try await stages.cancel(id))
            } catch {
                throw APIError(error)
            }
        }
    }
}

extension StagesSnapshot: ResponseEncodable {}
