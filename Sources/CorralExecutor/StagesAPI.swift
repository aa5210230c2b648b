import CorralCore
import CorralRuntime
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The executor's SQLite store keeps stage jobs across restarts.
struct StoredJobs: StageJobStore {
    let store: StateStore
    func save(_ job: StageJob) async { try? store.saveJob(job) }
}

/// A stage job as the API shows it: the task and output as JSON, not bytes.
struct JobView: Encodable {
    var id: String
    var stage: String
    var state: String
    var processor: String?
    var error: String?
    var deadlineSeconds: Double?
    var submitted: Date
    var started: Date?
    var finished: Date?
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
        submitted = j.submitted
        started = j.started
        finished = j.finished
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
            let none = { @Sendable (_: Request, _: CorralRequestContext) async -> Response in
                ExecutorAPI.error(.notFound, "no_processors", "this executor has no stage processors (set processors.config in its YAML)")
            }
            api.get("stages", use: none)
            api.post("stages/{stage}/jobs", use: none)
            api.get("jobs/{id}", use: none)
            api.delete("jobs/{id}", use: none)
            return
        }
        api.get("stages") { _, _ in ExecutorAPI.json(await stages.snapshot()) }

        api.post("stages/{stage}/jobs") { request, context in
            let stage = context.parameters.get("stage") ?? ""
            let (read, refusal) = await ExecutorAPI.body(request)
            guard let data = read else { return refusal! }
            guard let obj = try? JSONSerialization.jsonObject(with: data), obj is [String: Any] else {
                return ExecutorAPI.error(.badRequest, "invalid_task", "the body must be the task: a JSON object")
            }
            var deadline: Double?
            if let d = request.uri.queryParameters.get("deadline") {
                guard let v = ConfigDuration(parsing: d), v.nanoseconds > 0 else {
                    return ExecutorAPI.error(.badRequest, "invalid_deadline", "deadline \"\(d)\" is not a positive duration (e.g. 90s, 20m)")
                }
                deadline = v.seconds
            }
            let wait = request.uri.queryParameters.get("wait") == "true"
            do throws(StageError) {
                let job = try await stages.submit(stage: stage, task: data, deadline: deadline)
                if wait, let done = await stages.wait(job.id) { return ExecutorAPI.json(JobView(done)) }
                return ExecutorAPI.json(JobView(job), status: .accepted)
            } catch {
                return ExecutorAPI.error(.notFound, error.code.rawValue, error.message)
            }
        }

        api.get("jobs/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            let job = request.uri.queryParameters.get("wait") == "true" ? await stages.wait(id) : await stages.job(id)
            guard let job else { return ExecutorAPI.error(.notFound, "not_found", "no job \(id)") }
            return ExecutorAPI.json(JobView(job))
        }

        api.delete("jobs/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            do throws(StageError) {
                return ExecutorAPI.json(JobView(try await stages.cancel(id)))
            } catch {
                return ExecutorAPI.error(error.code == .notFound ? .notFound : .conflict, error.code.rawValue, error.message)
            }
        }
    }
}
