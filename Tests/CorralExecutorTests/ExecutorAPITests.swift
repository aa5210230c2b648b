import AsyncHTTPClient
import CorralCore
import CorralExecutor
import CorralHost
import CorralRuntime
import CorralTestSupport
import Foundation
import Logging
import ServiceLifecycle
import NIOCore
import NIOHTTP1
import Testing

/// The executor's API over real sockets, with the process engine and a real SQLite file.
@Suite(.serialized) struct ExecutorAPITests {
    static let secret = "test-secret-\(UUID().uuidString)"

    struct Running {
        var api: String
        var admin: String
        var task: Stopper
        var stateDir: String
    }

    /// Stops a running executor with a graceful shutdown of its ServiceGroup
    /// (cancelling the task instead raced NIO's connection sequences and
    /// could trap in NIOAsyncWriter's deinit).
    final class Stopper: @unchecked Sendable {
        let lock = NSLock()
        var group: ServiceGroup?
        var run: Task<Void, any Error>?

        func set(_ g: ServiceGroup) { lock.withLock { group = g } }

        func cancel() {
            let g = lock.withLock { group }
            Task { await g?.triggerGracefulShutdown() }
        }

        /// Waits for the executor to have stopped.
        var value: Void {
            get async throws { try await run?.value }
        }
    }

    static func start(stateDir: String? = nil, configure: (inout ExecutorConfig) -> Void = { _ in }) async throws -> Running {
        let dir = stateDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("corral-api-\(UUID().uuidString)").path
        var config = ExecutorConfig()
        config.server.applicationConnectors = [Connector(port: 0, bindHost: "127.0.0.1")]
        config.server.adminConnectors = [Connector(port: 0, bindHost: "127.0.0.1")]
        config.clusterAuth.secrets[.CONTROLLER] = Secret(secret)
        config.options.dockerSocketPath = "/nonexistent/docker.sock"
        configure(&config)
        let plan = try await ExecutorService.plan(config: config, stateDir: dir)
        let ready = AsyncStream<ExecutorService.Listening>.makeStream()
        let task = Stopper()
        task.run = Task {
            try await ExecutorService.run(plan, logger: Logger(label: "test"), onListening: { ready.continuation.yield($0) },
                                          onServiceGroup: { task.set($0) })
        }
        var it = ready.stream.makeAsyncIterator()
        let l = try #require(await it.next())
        return Running(api: "http://\(l.application[0])", admin: "http://\(l.admin[0])", task: task, stateDir: dir)
    }

    static func call(_ base: String, _ method: HTTPMethod, _ path: String, body: String? = nil,
                     secret: String? = ExecutorAPITests.secret) async throws -> (Int, [String: Any], String) {
        var req = HTTPClientRequest(url: base + path)
        req.method = method
        if let secret { req.headers.add(name: "Cluster-Authorization", value: secret) }
        if let body { req.body = .bytes(ByteBuffer(string: body)) }
        let res = try await HTTPClient.shared.execute(req, timeout: .seconds(10))
        let text = String(buffer: try await res.body.collect(upTo: 1 << 22))
        let obj = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return (Int(res.status.code), obj, text)
    }

    static func instance(_ id: String, cpus: Int = 1, command: String = "sleep 30") -> String {
        """
        {"appId": "api-app", "instanceId": "\(id)", "executable": {"type": "PROCESS", "command": ["/bin/sh", "-c", "\(command)"]},
         "resources": [{"type": "CPU", "count": \(cpus)}, {"type": "MEMORY", "sizeInMB": 32}],
         "env": {"API_TOKEN": "s3cr3t-env-value"}}
        """
    }

    @Test func everyAPIRequestNeedsTheControllerSecret() async throws {
        let r = try await Self.start()
        defer { r.task.cancel() }
        #expect(try await Self.call(r.api, .GET, "/apis/v1/ping", secret: nil).0 == 401)
        let wrong = try await Self.call(r.api, .GET, "/apis/v1/ping", secret: "nope")
        #expect(wrong.0 == 401)
        #expect((wrong.1["error"] as? [String: Any])?["code"] as? String == "unauthorized")
        #expect(!wrong.2.contains(Self.secret))
        #expect(try await Self.call(r.api, .GET, "/apis/v1/ping").0 == 200)
        // Admin endpoints need none.
        #expect(try await Self.call(r.admin, .GET, "/ping", secret: nil).0 == 200)
        let health = try await Self.call(r.admin, .GET, "/healthcheck", secret: nil)
        #expect(health.0 == 200)
        #expect(health.1["stateStoreWritable"] as? Bool == true)
    }

    @Test func constantTimeComparison() {
        #expect(ExecutorAPI.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!ExecutorAPI.constantTimeEqual(Array("abd".utf8), Array("abc".utf8)))
        #expect(!ExecutorAPI.constantTimeEqual(Array("ab".utf8), Array("abc".utf8)))
        #expect(!ExecutorAPI.constantTimeEqual([], []))
    }

    @Test func instancesStartListStopAndRefuseWhatDoesNotFit() async throws {
        let r = try await Self.start()
        defer { r.task.cancel() }
        let created = try await Self.call(r.api, .POST, "/apis/v1/instances", body: Self.instance("api-1"))
        #expect(created.0 == 201, "\(created.2)")
        let alloc = try #require(created.1["allocation"] as? [String: Any])
        #expect((alloc["cpus"] as? String)?.isEmpty == false)
        #expect(alloc["pinned"] as? Bool == true)
        #expect(!created.2.contains("s3cr3t-env-value"), "env values never come back")
        // Wait for HEALTHY.
        var state = ""
        for _ in 0..<100 {
            state = (try await Self.call(r.api, .GET, "/apis/v1/instances/api-1").1["state"] as? String) ?? ""
            if state == "HEALTHY" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(state == "HEALTHY")
        let list = try await Self.call(r.api, .GET, "/apis/v1/instances?state=HEALTHY")
        #expect(list.2.contains("api-1"))
        // More CPUs than the machine has: 409, saying what is free.
        let tooBig = try await Self.call(r.api, .POST, "/apis/v1/instances", body: Self.instance("api-2", cpus: 4096))
        #expect(tooBig.0 == 409)
        #expect((tooBig.1["error"] as? [String: Any])?["message"] as? String != nil)
        #expect(tooBig.2.contains("does not fit"))
        // A duplicate id is refused.
        #expect(try await Self.call(r.api, .POST, "/apis/v1/instances", body: Self.instance("api-1")).0 == 409)
        let stopped = try await Self.call(r.api, .POST, "/apis/v1/instances/api-1/stop")
        #expect(stopped.0 == 202)
        for _ in 0..<100 {
            state = (try await Self.call(r.api, .GET, "/apis/v1/instances/api-1").1["state"] as? String) ?? ""
            if state == "STOPPED" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(state == "STOPPED")
        #expect(try await Self.call(r.api, .GET, "/apis/v1/instances/nope").0 == 404)
    }

    @Test func badInputGetsFourHundredsAndChangesNothing() async throws {
        let r = try await Self.start()
        defer { r.task.cancel() }
        let before = try await Self.call(r.api, .GET, "/apis/v1/executor").1["freeCpus"] as? Int
        let malformed = try await Self.call(r.api, .POST, "/apis/v1/instances", body: "{\"appId\": ")
        #expect(malformed.0 == 422)
        let invalid = try await Self.call(r.api, .POST, "/apis/v1/instances",
                                          body: "{\"appId\": \"x\", \"colour\": 1, \"resources\": [{\"type\": \"CPU\", \"count\": 0}]}")
        #expect(invalid.0 == 422)
        let details = ((invalid.1["error"] as? [String: Any])?["details"] as? [[String: Any]]) ?? []
        let paths = Set(details.compactMap { $0["path"] as? String })
        #expect(paths.isSuperset(of: ["colour", "resources[0].count", "executable"]))
        let huge = String(repeating: "x", count: ExecutorAPI.maxBody + 10)
        #expect(try await Self.call(r.api, .POST, "/apis/v1/tasks", body: huge).0 == 413)
        #expect(try await Self.call(r.api, .GET, "/apis/v1/executor").1["freeCpus"] as? Int == before)
        #expect(try await Self.call(r.api, .GET, "/apis/v1/instances").2 == "[]")
    }

    @Test func tasksReportExitCodesAndRefuseDuplicates() async throws {
        let r = try await Self.start()
        defer { r.task.cancel() }
        let spec = """
        {"sourceAppName": "jobs", "taskId": "t-42", "executable": {"type": "PROCESS", "command": ["/bin/sh", "-c", "sleep 0.3; exit 42"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
        """
        #expect(try await Self.call(r.api, .POST, "/apis/v1/tasks", body: spec).0 == 201)
        #expect(try await Self.call(r.api, .POST, "/apis/v1/tasks", body: spec).0 == 409, "a second live task with the same id")
        var info: [String: Any] = [:]
        for _ in 0..<100 {
            info = try await Self.call(r.api, .GET, "/apis/v1/tasks/t-42").1
            if info["state"] as? String == "STOPPED" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(info["exitCode"] as? Int == 42)
        #expect((info["history"] as? [[String: Any]])?.compactMap({ $0["state"] as? String }).contains("RUN_COMPLETED") == true)
        // Once it has ended, the same taskId may run again; and it can be cancelled.
        let again = spec.replacingOccurrences(of: "sleep 0.3; exit 42", with: "sleep 30")
        #expect(try await Self.call(r.api, .POST, "/apis/v1/tasks", body: again).0 == 201)
        let cancelled = try await Self.call(r.api, .DELETE, "/apis/v1/tasks/t-42")
        #expect(cancelled.0 == 200)
        #expect(cancelled.1["lastError"] as? String == "cancelled")
    }

    @Test func metricsCountWhatHappened() async throws {
        let r = try await Self.start()
        defer { r.task.cancel() }
        _ = try await Self.call(r.api, .GET, "/apis/v1/ping", secret: "wrong")
        _ = try await Self.call(r.api, .GET, "/apis/v1/ping", secret: "wrong")
        let spec = """
        {"sourceAppName": "m", "taskId": "m-1", "executable": {"type": "PROCESS", "command": ["sh", "-c", "echo hello"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
        """
        #expect(try await Self.call(r.api, .POST, "/apis/v1/tasks", body: spec).0 == 201)
        for _ in 0..<100 {
            if try await Self.call(r.api, .GET, "/apis/v1/tasks/m-1").1["state"] as? String == "STOPPED" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(100))
        let m = try await Self.call(r.admin, .GET, "/metrics", secret: nil)
        #expect(m.0 == 200)
        let p = PrometheusText(m.2)
        #expect(p["corral_api_unauthorized_total"] == 2)
        #expect(p["corral_starts_total{kind=\"task\"}"] == 1)
        #expect(p["corral_workloads{kind=\"task\",state=\"STOPPED\"}"] == 1)
        #expect(p["corral_cpus{node=\"0\",use=\"allocated\"}"] == 0)
        #expect(p["corral_log_bytes_written_total"] == 6, "\"hello\\n\" went to the log file")
        #expect(p["corral_api_request_duration_seconds_count{method=\"GET\",status=\"4xx\"}"] == 2)
        #expect(p.types["corral_api_request_duration_seconds"] == "histogram")
        #expect(!m.2.contains(Self.secret))
    }

    @Test func logFilesCanBeListedReadDownloadedAndTailed() async throws {
        let r = try await Self.start()
        defer { r.task.cancel() }
        let spec = """
        {"sourceAppName": "logs", "taskId": "l-1", "executable": {"type": "PROCESS",
         "command": ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 3; echo late"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
        """
        #expect(try await Self.call(r.api, .POST, "/apis/v1/tasks", body: spec).0 == 201)
        // Wait until the first five lines are written (the task then sleeps 3 s before
        // "late": room for a loaded machine to ask for the tail before it comes).
        for _ in 0..<1000 {
            let chunk = try await Self.call(r.api, .GET, "/apis/v1/logs/l-1/read/output.log")
            if (chunk.1["data"] as? String)?.contains("line 5") == true { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        // Following the tail streams what comes later, and ends with the task.
        let follow = try await Self.call(r.api, .GET, "/apis/v1/logs/l-1/tail?lines=2&follow=true")
        #expect(follow.0 == 200)
        #expect(follow.2 == "line 4\nline 5\nlate\n", "\(follow.2)")
        let files = try await Self.call(r.api, .GET, "/apis/v1/logs/l-1/files")
        #expect(files.2.contains("\"name\":\"output.log\""))
        let read = try await Self.call(r.api, .GET, "/apis/v1/logs/l-1/read/output.log?offset=7&length=6")
        #expect(read.1["data"] as? String == "line 2")
        #expect(read.1["size"] as? Int == 40)
        let dl = try await Self.call(r.api, .GET, "/apis/v1/logs/l-1/download/output.log")
        #expect(dl.2 == "line 1\nline 2\nline 3\nline 4\nline 5\nlate\n")
        for bad in ["..%2F..%2Fstate.sqlite", "..", "output.log%2F..%2F..%2Fsecret", "passwd"] {
            let res = try await Self.call(r.api, .GET, "/apis/v1/logs/l-1/read/\(bad)")
            #expect(res.0 == 400 || res.0 == 404, "\(bad): \(res.0)")
            #expect(!res.2.contains("CONTROLLER"))
        }
        #expect(try await Self.call(r.api, .GET, "/apis/v1/logs/l-1/read/..").0 == 400)
        #expect(try await Self.call(r.api, .GET, "/apis/v1/logs/nope/files").0 == 404)
    }

    @Test func appsCanBeDeployedScaledAndDestroyed() async throws {
        let r = try await Self.start()
        defer { r.task.cancel() }
        let body = """
        {"spec": {"appId": "svc", "executable": {"type": "PROCESS", "command": ["sleep", "60"]},
                  "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}, "instances": 1}
        """
        let created = try await Self.call(r.api, .POST, "/apis/v1/apps", body: body)
        #expect(created.0 == 201, "\(created.2)")
        var running = 0
        for _ in 0..<100 {
            running = try await Self.call(r.api, .GET, "/apis/v1/apps/svc").1["healthy"] as? Int ?? 0
            if running == 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(running == 1)
        #expect(try await Self.call(r.api, .PUT, "/apis/v1/apps/svc/scale", body: "{\"instances\": 0}").0 == 200)
        #expect(try await Self.call(r.api, .PUT, "/apis/v1/apps/svc/scale", body: "{\"count\": 1}").0 == 422)
        #expect(try await Self.call(r.api, .POST, "/apis/v1/apps", body: "{\"instances\": 1}").0 == 422)
        // A spec that is not an object is one clear error, not a trap in the serializer (found by schemathesis).
        for spec in ["5", "\"x\"", "null", "[1]", "true"] {
            let res = try await Self.call(r.api, .POST, "/apis/v1/apps", body: "{\"spec\": \(spec), \"instances\": 1}")
            #expect(res.0 == 422, "spec \(spec): \(res.2)")
            #expect((res.1["error"] as? [String: Any])?["code"] as? String == "invalid_spec", "spec \(spec): \(res.2)")
        }
        #expect(try await Self.call(r.api, .GET, "/apis/v1/ping").0 == 200)
        #expect(try await Self.call(r.api, .DELETE, "/apis/v1/apps/svc").0 == 204)
        #expect(try await Self.call(r.api, .GET, "/apis/v1/apps/svc").0 == 404)
    }

    /// Every endpoint docs/api.md names is served: an unmatched route answers
    /// 404 with no JSON error body, a known one with a JSON body.
    @Test func theAPIDocumentMatchesTheRoutes() async throws {
        let doc = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/api.md"), encoding: .utf8)
        var endpoints = Set<String>()
        for method in ["GET", "POST", "PUT", "DELETE"] {
            var rest = Substring(doc)
            while let r = rest.range(of: "`\(method) /apis/v1/") {
                let path = rest[r.upperBound...].prefix { $0 != "`" && $0 != " " && $0 != "?" && $0 != "[" }
                endpoints.insert("\(method) /apis/v1/\(path)")
                rest = rest[r.upperBound...]
            }
        }
        #expect(endpoints.count >= 14, "\(endpoints.sorted())")
        let r = try await Self.start()
        defer { r.task.cancel() }
        for e in endpoints.sorted() {
            let parts = e.split(separator: " ")
            let path = parts[1].replacingOccurrences(of: "{id}", with: "nope").replacingOccurrences(of: "{taskId}", with: "nope")
                .replacingOccurrences(of: "{file}", with: "output.log")
            let res = try await Self.call(r.api, HTTPMethod(rawValue: String(parts[0])), path, body: parts[0] == "GET" ? nil : "{}")
            // An error body, or Drove's message reply (`status`) for the messages route.
            #expect(res.1["error"] != nil || res.1["status"] != nil || (200..<300).contains(res.0) || res.2.hasPrefix("["),
                    "\(e) is documented but not served (\(res.0))")
        }
    }

    /// Walks every route the application router serves without the secret,
    /// and with a wrong one: 401 everywhere, before any handler runs. Only the
    /// console's stylesheet and script are public (the page that asks for the
    /// secret must style); its page and stream answer 401 too.
    @Test func everyRouteRefusesAMissingOrWrongSecret() async throws {
        let r = try await Self.start()
        defer { r.task.cancel() }
        let dir = try TemporaryDirectory.make("corral-routes")
        let t = try TopologyReader(fsroot: "/").read()
        let (eff, _) = EffectiveResources.compute(topology: t, resources: ResourcesConfig(), hostname: "h")
        let ex = try Executor(config: ExecutorConfig(), resources: eff, hostname: "h", stateDir: dir, engines: [:])
        let apps = AppReconciler(executor: ex, store: nil)
        let router = ExecutorAPI.applicationRouter(executor: ex, secret: Secret("x"), metrics: Metrics(), environment: [:],
                                                   apps: apps)
        let routes = router.routes.map { ($0.method, $0.path.description) }
        #expect(routes.count >= 20, "\(routes)")
        for (method, path) in routes where !path.hasPrefix("/ui/assets/") && !path.hasPrefix("ui/assets/") {
            let console = !path.contains("apis/")
            let concrete = path.split(separator: "/").map { $0.hasPrefix("{") || $0.hasPrefix(":") ? "x" : String($0) }
                .joined(separator: "/")
            let url = "/" + concrete
            for secret in [nil, "wrong"] as [String?] {
                let res = try await Self.call(r.api, HTTPMethod(rawValue: method.rawValue), url,
                                              body: method == .get ? nil : "{}", secret: secret)
                #expect(res.0 == 401, "\(method) \(url) answered \(res.0) with secret \(secret ?? "none")")
                if !console { #expect((res.1["error"] as? [String: Any])?["code"] as? String == "unauthorized") }
            }
        }
    }

    /// A client that opens a connection and sends a request slowly, or nothing,
    /// is cut after the connector's idleTimeout.
    @Test func idleAndSlowClientsAreCut() async throws {
        let r = try await Self.start { c in
            c.server.applicationConnectors[0].idleTimeout = .seconds(1)
        }
        defer { r.task.cancel() }
        let hostPort = r.api.replacingOccurrences(of: "http://", with: "").split(separator: ":")
        let port = try #require(UInt16(hostPort[1]))
        for partial in ["", "GET /apis/v1/ping HTTP/1.1\r\nHost: x\r\n"] {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(connected == 0)
            if !partial.isEmpty { _ = partial.withCString { send(fd, $0, strlen($0), 0) } }
            let started = ContinuousClock.now
            var tv = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buf = [UInt8](repeating: 0, count: 1024)
            let n = recv(fd, &buf, buf.count, 0)
            let waited = ContinuousClock.now - started
            close(fd)
            #expect(n <= 0 || String(decoding: buf.prefix(max(n, 0)), as: UTF8.self).hasPrefix("HTTP/1.1 4"),
                    "the server closed or refused the idle connection")
            #expect(waited < .seconds(5), "cut after about a second, not kept for \(waited)")
        }
    }

    @Test func theRequestLogRecordsEveryCallWithoutTheSecret() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("corral-req-\(UUID().uuidString).log").path
        let r = try await Self.start { c in
            var f = FileAppender()
            f.currentLogFilename = path
            f.rotation.archive = false
            c.server.requestLog.appenders = [.file(f)]
        }
        defer { r.task.cancel() }
        _ = try await Self.call(r.api, .GET, "/apis/v1/ping")
        _ = try await Self.call(r.api, .GET, "/apis/v1/ping", secret: "wrong")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains("\"GET /apis/v1/ping HTTP/1.1\" 200 "))
        #expect(lines[0].hasPrefix("127.0.0.1 - - ["), "the peer's address comes first: \(lines[0])")
        #expect(lines[1].contains("\"GET /apis/v1/ping HTTP/1.1\" 401 "))
        #expect(!text.contains(Self.secret) && !text.contains("wrong"))
    }
}
