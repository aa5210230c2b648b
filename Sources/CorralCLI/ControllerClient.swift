import ArgumentParser
import AsyncHTTPClient
import CorralController
import CorralCore
import Foundation
import NIOCore
import NIOHTTP1

/// The client commands against a controller (Drove's API) instead of an
/// executor: which one `--url` names is asked once (`GET /apis/v1/ping`:
/// an executor answers `{"status":"ok"}`, a controller Drove's envelope).
struct ControllerClient {
    let client: ClientOptions

    /// Whether `--url` is a controller.
    static func detect(_ client: ClientOptions) async throws -> ControllerClient? {
        let (_, data) = try await client.call(.GET, "/ping")
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        let status = object["status"] as? String
        return status == "SUCCESS" || (status == "FAILED" && object["message"] != nil) ? ControllerClient(client: client) : nil
    }

    /// `data` of a SUCCESS answer; the controller's message (every problem) otherwise.
    func call(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> Any {
        let (code, data) = try await client.call(method, path, body: body)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw fail("HTTP \(code) from \(client.baseURL)")
        }
        guard object["status"] as? String == "SUCCESS" else {
            var message = object["message"] as? String ?? "HTTP \(code)"
            if let problems = object["data"] as? [String], problems.count > 1 {
                message = "\(problems.count) problems:\n" + problems.map { "  \($0)" }.joined(separator: "\n")
            }
            throw fail(message)
        }
        return object["data"] ?? NSNull()
    }

    func operation(_ op: [String: Any], tasks: Bool = false) async throws -> Any {
        try await call(.POST, tasks ? "/tasks/operations" : "/applications/operations", body: try JSONSerialization.data(withJSONObject: op))
    }

    func printJSON(_ value: Any) {
        if let d = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed]) {
            print(String(decoding: d, as: UTF8.self))
        }
    }

    // MARK: Commands

    func status() async throws {
        let summary = try await call(.GET, "/cluster")
        let executors = try await call(.GET, "/cluster/executors")
        if client.json { return printJSON(["cluster": summary, "executors": executors]) }
        guard let s = summary as? [String: Any], let list = executors as? [[String: Any]] else { throw fail("unexpected answer") }
        print("cluster: leader \(s["leader"] ?? "?"), \(s["numExecutors"] ?? 0) executors, \(s["freeCores"] ?? 0)/\(s["totalCores"] ?? 0) cores free,"
              + " \(s["numApplications"] ?? 0) apps (\(s["numActiveApplications"] ?? 0) active), \(s["numActiveTasks"] ?? 0) tasks running")
        var table = [["EXECUTOR", "HOST", "STATE", "FREE CORES", "USED CORES", "FREE MB", "TAGS"]]
        for e in list {
            table.append(["\(e["executorId"] ?? "")", "\(e["hostname"] ?? ""):\(e["port"] ?? "")", "\(e["state"] ?? "")", "\(e["freeCores"] ?? "")",
                          "\(e["usedCores"] ?? "")", "\(e["freeMemory"] ?? "")", ((e["tags"] as? [String]) ?? []).joined(separator: ",")])
        }
        print(formatTable(table))
    }

    func appsList() async throws {
        let data = try await call(.GET, "/applications")
        if client.json { return printJSON(data) }
        var table = [["APP", "STATE", "REQUIRED", "HEALTHY", "CPUS", "MEMORY MB", "OPERATION", "LAST OUTCOME"]]
        for (id, a) in ((data as? [String: [String: Any]]) ?? [:]).sorted(by: { $0.key < $1.key }) {
            table.append([id, "\(a["state"] ?? "")", "\(a["requiredInstances"] ?? "")", "\(a["healthyInstances"] ?? "")", "\(a["totalCPUs"] ?? "")",
                          "\(a["totalMemory"] ?? "")", "\(a["operation"] ?? "-")", "\(a["lastOutcome"] ?? "")"])
        }
        print(formatTable(table))
    }

    func deploy(spec: Any, instances: Int) async throws {
        let data = try await operation(["type": "CREATE", "spec": spec, "instances": instances])
        if client.json { return printJSON(data) }
        print("\((data as? [String: Any])?["appId"] ?? "?"): created, \(instances) instance\(instances == 1 ? "" : "s") to run")
    }

    func scale(_ appId: String, to n: Int) async throws {
        let data = try await operation(["type": "SCALE", "appId": appId, "requiredInstances": n])
        if client.json { return printJSON(data) }
        print("\(appId): scaling to \(n)")
    }

    /// Drove destroys only apps with no instances: suspend, wait, destroy.
    func destroy(_ appId: String) async throws {
        let summary = try await call(.GET, "/applications/\(appId)") as? [String: Any]
        if (summary?["requiredInstances"] as? Int ?? 0) > 0 || (summary?["healthyInstances"] as? Int ?? 0) > 0 {
            _ = try await operation(["type": "SUSPEND", "appId": appId])
            let end = ContinuousClock.now + .seconds(300)
            while ContinuousClock.now < end {
                let list = try await call(.GET, "/applications/\(appId)/instances") as? [Any] ?? []
                let s = try await call(.GET, "/applications/\(appId)") as? [String: Any]
                if list.isEmpty && s?["operation"] == nil { break }
                try await Task.sleep(for: .milliseconds(300))
            }
        }
        _ = try await operation(["type": "DESTROY", "appId": appId])
        print("\(appId): destroyed")
    }

    func instances(state: String?) async throws {
        let apps = (try await call(.GET, "/applications") as? [String: Any] ?? [:]).keys.sorted()
        var all: [[String: Any]] = []
        for app in apps { all += (try await call(.GET, "/applications/\(app)/instances") as? [[String: Any]]) ?? [] }
        if let state { all = all.filter { ($0["state"] as? String)?.caseInsensitiveCompare(state) == .orderedSame } }
        if client.json { return printJSON(all) }
        var table = [["ID", "APP", "STATE", "HOST", "CPUS", "PORTS"]]
        for i in all {
            let cores = ((i["resources"] as? [[String: Any]]) ?? []).compactMap { $0["cores"] as? [String: [Int]] }.flatMap { $0.values }.flatMap { $0 }
            let ports = ((i["localInfo"] as? [String: Any])?["ports"] as? [String: [String: Any]] ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value["hostPort"] ?? "")" }.joined(separator: ",")
            table.append(["\(i["instanceId"] ?? "")", "\(i["appId"] ?? "")", "\(i["state"] ?? "")",
                          "\((i["localInfo"] as? [String: Any])?["hostname"] ?? "")",
                          cores.isEmpty ? "-" : CPUSet(cores).listString, ports.isEmpty ? "-" : ports])
        }
        print(formatTable(table))
    }

    func instance(_ id: String) async throws {
        for app in (try await call(.GET, "/applications") as? [String: Any] ?? [:]).keys.sorted() {
            if let found = try? await call(.GET, "/applications/\(app)/instances/\(id)") { return printJSON(found) }
        }
        throw fail("no instance \(id) in any application")
    }

    /// Runs a Drove TaskSpec; with `wait`, exits with the task's exit code.
    func runTask(spec: [String: Any], wait: Bool) async throws {
        guard let source = spec["sourceAppName"] as? String, let taskId = spec["taskId"] as? String else {
            throw fail("a task spec for a controller needs sourceAppName and taskId")
        }
        _ = try await operation(["type": "CREATE", "spec": spec], tasks: true)
        if !client.json { FileHandle.standardError.write(Data("task \(source)/\(taskId): started\n".utf8)) }
        guard wait else { return }
        var last = ""
        var output = TaskOutputFollower.controller(client, source: source, taskId: taskId)
        while true {
            let t = try await call(.GET, "/tasks/\(source)/instances/\(taskId)") as? [String: Any] ?? [:]
            let state = t["state"] as? String ?? "?"
            if state != last, !client.json { FileHandle.standardError.write(Data("task \(source)/\(taskId): \(state)\n".utf8)) }
            last = state
            if !client.json { await output.poll() }
            if let result = t["taskResult"] as? [String: Any], state == "STOPPED" || state == "LOST" {
                if !client.json { await output.drain() }
                if client.json { printJSON(t) } else { print("task \(source)/\(taskId) \(result["status"] ?? "?") with exit code \(result["exitCode"] ?? "?")") }
                let code = Int32(result["exitCode"] as? Int ?? 1)
                if code != 0 { throw ExitCode(code == -1 ? 1 : code) }
                return
            }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    /// A task named `source/taskId`.
    static func taskName(_ id: String) throws -> (String, String) {
        let parts = id.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw fail("on a controller a task is named SOURCE_APP/TASK_ID, not \(id)") }
        return (parts[0], parts[1])
    }
}
