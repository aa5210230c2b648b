import ArgumentParser
import AsyncHTTPClient
import CorralCore
import CorralExecutor
import CorralRuntime
import Foundation
import NIOCore
import NIOHTTP1

/// How client commands reach an executor.
struct ClientOptions: ParsableArguments {
    @Option(help: ArgumentHelp("An executor's or a controller's API (env CORRAL_URL).", valueName: "URL"))
    var url: String?

    @Option(help: ArgumentHelp("A controller's user (env CORRAL_USER), for userAuth.", valueName: "USER:PASSWORD"))
    var user: String?

    @Option(help: ArgumentHelp("The CONTROLLER secret (env CORRAL_SECRET; default: the one `corral up` made).", valueName: "SECRET"))
    var secret: String?

    @Flag(help: "Print JSON.") var json = false

    var baseURL: String {
        (url ?? ProcessInfo.processInfo.environment["CORRAL_URL"] ?? Defaults.url).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    var resolvedSecret: String {
        secret ?? ProcessInfo.processInfo.environment["CORRAL_SECRET"]
            ?? ((try? Defaults.secret(in: Defaults.userStateDir, create: false)) ?? nil) ?? ""
    }

    /// Calls the API; returns the status and body, or fails with the executor's message.
    func call(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> (Int, Data) {
        var req = HTTPClientRequest(url: baseURL + "/apis/v1" + path)
        req.method = method
        req.headers.add(name: "Cluster-Authorization", value: resolvedSecret)
        if let user = user ?? ProcessInfo.processInfo.environment["CORRAL_USER"] {
            req.headers.add(name: "Authorization", value: "Basic " + Data(user.utf8).base64EncodedString())
        }
        if let body {
            req.headers.add(name: "Content-Type", value: "application/json")
            req.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let res = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
            let data = Data(buffer: try await res.body.collect(upTo: 16 << 20))
            return (Int(res.status.code), data)
        } catch {
            throw fail("cannot reach the executor at \(baseURL): \(error)")
        }
    }

    /// The body on success; the executor's error message (with every detail) otherwise.
    func expect(_ result: (Int, Data), _ ok: Set<Int>) throws -> Data {
        if ok.contains(result.0) { return result.1 }
        if let body = try? JSONDecoder().decode(APIError.Body.self, from: result.1) {
            var msg = body.error.message
            for d in body.error.details ?? [] where d.severity == .error {
                msg += "\n  \(d.path.isEmpty ? "" : "\(d.path): ")\(d.message)" + (d.allowed.map { " (allowed: \($0))" } ?? "")
            }
            throw fail(msg)
        }
        throw fail("HTTP \(result.0) from \(baseURL)")
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: data) } catch { throw fail("unexpected answer: \(error)") }
    }

    func printRaw(_ data: Data) {
        if let obj = try? JSONSerialization.jsonObject(with: data),
           let pretty = try? JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]) {
            print(String(decoding: pretty, as: UTF8.self))
        } else {
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

func table(_ infos: [InstanceInfo]) -> String {
    var rows = [["ID", "APP", "STATE", "CPUS", "MEMORY", "ENGINE", "PORTS"]]
    for i in infos {
        let cpus = i.allocation.map { $0.pinned ? $0.cpus.listString : "\($0.cpuCount)" } ?? "-"
        let mem = i.allocation.map { DataSize.human($0.memoryBytes) } ?? "-"
        let ports = i.ports.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        rows.append([i.instanceId, i.appId, i.state.name, cpus, mem, i.engine.rawValue, ports.isEmpty ? "-" : ports])
    }
    return formatTable(rows)
}

/// Rows (the first one the header) as columns padded to their widest cell.
func formatTable(_ rows: [[String]]) -> String {
    let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
    return rows.map { r in r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
        .joined(separator: "  ").trimmingCharacters(in: .whitespaces) }.joined(separator: "\n")
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the executor: resources, engines, instances.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        if let controller = try await ControllerClient.detect(client) { return try await controller.status() }
        let data = try client.expect(try await client.call(.GET, "/executor"), [200])
        if client.json { return client.printRaw(data) }
        let s = try client.decode(Executor.Summary.self, data)
        print("executor \(s.id) on \(s.hostname): \(s.mode), \(s.freeCpus)/\(s.totalCpus) CPUs free")
        for n in s.numaNodes {
            print("  NUMA node \(n.id): free CPUs \(n.freeCpus.isEmpty ? "none" : n.freeCpus), free memory \(DataSize.human(n.freeMemoryBytes))")
        }
        print("  engines: " + s.engines.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value ? "up" : "DOWN")" }.joined(separator: ", "))
        let counts = s.instances
        print("  workloads: " + (counts.isEmpty ? "none" : counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))
        if s.executorState != "ACTIVE" { print("  executor state: \(s.executorState) (takes no new work)") }
        if let c = s.cluster {
            let session = c.connected ? "connected, session \(c.session ?? "?")" : "NOT connected (\(c.state))"
            print("  cluster: \(session); ZooKeeper \(c.connectionString), namespace \(c.namespace)")
            print("    node \(c.node) (executorId \(c.executorId)), \(c.nodeWrites) writes, last "
                  + (c.lastPublish.map { "\(Int(Date().timeIntervalSince1970 - $0)) s ago" } ?? "never"))
            print("    leader controller: \(c.leader ?? "none known"); reports sent \(c.reportsSent), failed \(c.reportsFailed)")
            if let since = c.outageSince { print("    ZooKeeper unreachable for \(Int(Date().timeIntervalSince1970 - since)) s; workloads keep running") }
        }
    }
}

struct InstancesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "instances", abstract: "Application instances.",
                                                    subcommands: [List.self, Show.self, Start.self, Stop.self, Logs.self])

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an instance's (or task's) output; -f follows it.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Instance id, or a task's taskId.") var id: String
        @Option(help: "Lines from the end.") var lines = 100
        @Flag(name: .shortAndLong, help: "Keep following until it ends.") var follow = false

        func run() async throws {
            var req = HTTPClientRequest(url: client.baseURL + "/apis/v1/logs/\(id)/tail?lines=\(lines)&follow=\(follow)")
            req.headers.add(name: "Cluster-Authorization", value: client.resolvedSecret)
            do {
                let res = try await HTTPClient.shared.execute(req, deadline: .distantFuture)
                guard res.status.code == 200 else {
                    _ = try client.expect((Int(res.status.code), Data(buffer: try await res.body.collect(upTo: 1 << 20))), [200])
                    return
                }
                for try await chunk in res.body { FileHandle.standardOutput.write(Data(buffer: chunk)) }
            } catch let e as ExitCode {
                throw e
            } catch {
                throw fail("cannot reach the executor at \(client.baseURL): \(error)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Option(help: "Only this state (e.g. HEALTHY).") var state: String?
        func run() async throws {
            if let controller = try await ControllerClient.detect(client) { return try await controller.instances(state: state) }
            let data = try client.expect(try await client.call(.GET, "/instances" + (state.map { "?state=\($0)" } ?? "")), [200])
            if client.json { return client.printRaw(data) }
            print(table(try client.decode([InstanceInfo].self, data)))
        }
    }

    struct Show: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Argument var id: String
        func run() async throws {
            if let controller = try await ControllerClient.detect(client) { return try await controller.instance(id) }
            client.printRaw(try client.expect(try await client.call(.GET, "/instances/\(id)"), [200]))
        }
    }

    struct Start: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Argument(help: ArgumentHelp("Instance spec (JSON).", valueName: "SPEC")) var spec: String
        func run() async throws {
            guard let body = FileManager.default.contents(atPath: spec) else { throw fail("cannot read \(spec)") }
            let data = try client.expect(try await client.call(.POST, "/instances", body: body), [201])
            if client.json { return client.printRaw(data) }
            let info = try client.decode(InstanceInfo.self, data)
            print("\(info.instanceId) \(info.state): CPUs \(info.allocation.map { $0.pinned ? $0.cpus.listString : "\($0.cpuCount)" } ?? "-")")
        }
    }

    struct Stop: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Argument var id: String
        func run() async throws {
            let data = try client.expect(try await client.call(.POST, "/instances/\(id)/stop"), [200, 202])
            if client.json { return client.printRaw(data) }
            print("\(id): stopping")
        }
    }
}

struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tasks", abstract: "One-shot tasks.",
                                                    subcommands: [Run.self, Show.self, Cancel.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a task. With --wait, follow it and exit with its exit code.")
        @OptionGroup var client: ClientOptions
        @Argument(help: ArgumentHelp("Task spec (JSON).", valueName: "SPEC")) var spec: String
        @Flag(help: "Wait for the end and exit with the task's exit code.") var wait = false

        func run() async throws {
            guard let body = FileManager.default.contents(atPath: spec) else { throw fail("cannot read \(spec)") }
            if let controller = try await ControllerClient.detect(client) {
                guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { throw fail("cannot read \(spec) as a JSON object") }
                return try await controller.runTask(spec: object, wait: wait)
            }
            let data = try client.expect(try await client.call(.POST, "/tasks", body: body), [201])
            var info = try client.decode(InstanceInfo.self, data)
            let taskId = info.taskId ?? ""
            if !client.json { FileHandle.standardError.write(Data("task \(taskId): \(info.state)\n".utf8)) }
            guard wait else { return client.json ? client.printRaw(data) : () }
            var last = info.state
            // Its output as it comes (not with --json, whose stdout is the result).
            var output = TaskOutputFollower.executor(client, source: info.appId, taskId: taskId)
            while !info.state.isTerminal {
                try await Task.sleep(for: .milliseconds(200))
                if !client.json { await output.poll() }
                info = try client.decode(InstanceInfo.self, try client.expect(try await client.call(.GET, "/tasks/\(taskId)"), [200]))
                if info.state != last, !client.json {
                    FileHandle.standardError.write(Data("task \(taskId): \(info.state)\n".utf8))
                    last = info.state
                }
            }
            if !client.json { await output.drain() }
            if client.json {
                client.printRaw(try JSONEncoder().encode(info))
            } else {
                print("task \(taskId) \(info.passed(through: .task(.RUN_COMPLETED)) ? "completed" : "failed")"
                      + (info.exitCode.map { " with exit code \($0)" } ?? "") + (info.lastError.map { ": \($0)" } ?? ""))
            }
            guard let code = info.exitCode else { throw ExitCode(info.passed(through: .task(.RUN_COMPLETED)) ? 0 : 1) }
            if code != 0 { throw ExitCode(code) }
        }
    }

    struct Show: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Argument(help: "The taskId (on a controller: SOURCE_APP/TASK_ID).") var taskId: String
        func run() async throws {
            if let controller = try await ControllerClient.detect(client) {
                let (source, id) = try ControllerClient.taskName(taskId)
                return controller.printJSON(try await controller.call(.GET, "/tasks/\(source)/instances/\(id)"))
            }
            client.printRaw(try client.expect(try await client.call(.GET, "/tasks/\(taskId)"), [200]))
        }
    }

    struct Cancel: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Argument(help: "The taskId (on a controller: SOURCE_APP/TASK_ID).") var taskId: String
        func run() async throws {
            if let controller = try await ControllerClient.detect(client) {
                let (source, id) = try ControllerClient.taskName(taskId)
                _ = try await controller.operation(["type": "KILL", "sourceAppName": source, "taskId": id], tasks: true)
                return print("task \(taskId): kill sent")
            }
            client.printRaw(try client.expect(try await client.call(.DELETE, "/tasks/\(taskId)"), [200]))
        }
    }
}

struct AppsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apps", abstract: "Apps kept at N instances (an executor's, or a controller's with Drove's specs).",
                                                    subcommands: [Deploy.self, Scale.self, Destroy.self, List.self])

    struct Deploy: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Argument(help: ArgumentHelp("Instance spec (JSON).", valueName: "SPEC")) var spec: String
        @Option(help: "How many instances to keep running.") var instances: Int

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: spec),
                  let object = try? JSONSerialization.jsonObject(with: data) else { throw fail("cannot read \(spec) as JSON") }
            if let controller = try await ControllerClient.detect(client) { return try await controller.deploy(spec: object, instances: instances) }
            let body = try JSONSerialization.data(withJSONObject: ["spec": object, "instances": instances])
            client.printRaw(try client.expect(try await client.call(.POST, "/apps", body: body), [201]))
        }
    }

    struct Scale: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Argument var appId: String
        @Option var instances: Int
        func run() async throws {
            if let controller = try await ControllerClient.detect(client) { return try await controller.scale(appId, to: instances) }
            let body = Data("{\"instances\": \(instances)}".utf8)
            client.printRaw(try client.expect(try await client.call(.PUT, "/apps/\(appId)/scale", body: body), [200]))
        }
    }

    struct Destroy: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Argument var appId: String
        func run() async throws {
            if let controller = try await ControllerClient.detect(client) { return try await controller.destroy(appId) }
            _ = try client.expect(try await client.call(.DELETE, "/apps/\(appId)"), [204])
            print("\(appId): destroyed; its instances are stopping")
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        func run() async throws {
            if let controller = try await ControllerClient.detect(client) { return try await controller.appsList() }
            let data = try client.expect(try await client.call(.GET, "/apps"), [200])
            if client.json { return client.printRaw(data) }
            print("APP  DESIRED  RUNNING  HEALTHY  FAILURES  NOTE")
            for a in try client.decode([AppReconciler.Status].self, data) {
                print("\(a.appId)  \(a.desired)  \(a.running)  \(a.healthy)  \(a.failures)  \(a.paused ?? "")")
            }
        }
    }
}
