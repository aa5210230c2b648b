import ArgumentParser
import Foundation
import HTTPTypes

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobs", abstract: "Jobs for stage processors.",
                                                    subcommands: [Submit.self, Show.self, Cancel.self])

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a job for a stage. With --wait, print its output and exit 1 if it failed.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The stage (pc1, pc2, c2, ...).") var stage: String
        @Argument(help: ArgumentHelp("The task (a JSON object).", valueName: "PAYLOAD.json")) var payload: String
        @Flag(help: "Wait for the result.") var wait = false
        @Option(help: ArgumentHelp("Fail the job if it is not answered within this (e.g. 20m).", valueName: "DURATION"))
        var deadline: String?

        func run() async throws {
            guard let body = FileManager.default.contents(atPath: payload) else { throw fail("cannot read \(payload)") }
            var query: [String] = []
            if wait { query.append("wait=true") }
            if let deadline { query.append("deadline=\(deadline)") }
            let path = "/stages/\(stage)/jobs" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            let data = try client.expect(try await client.call(.POST, path, body: body), [200, 202])
            let job = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            if client.json || wait {
                client.printRaw(data)
            } else {
                print("job \(job["id"] ?? "?") queued for \(stage)")
            }
            if wait, job["state"] as? String != "SUCCEEDED" { throw ExitCode(1) }
        }
    }

    struct Show: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Argument var id: String
        @Flag(help: "Wait until the job has ended.") var wait = false
        func run() async throws {
            client.printRaw(try client.expect(try await client.call(.GET, "/jobs/\(id)" + (wait ? "?wait=true" : "")), [200]))
        }
    }

    struct Cancel: AsyncParsableCommand {
        @OptionGroup var client: ClientOptions
        @Argument var id: String
        func run() async throws {
            client.printRaw(try client.expect(try await client.call(.DELETE, "/jobs/\(id)"), [200]))
        }
    }
}

struct StagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages", abstract: "Stage pools: processors, busy slots, queues, lock holders and waiters.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let data = try client.expect(try await client.call(.GET, "/stages"), [200])
        if client.json { return client.printRaw(data) }
        guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw fail("unexpected answer") }
        for s in obj["stages"] as? [[String: Any]] ?? [] {
            let limit = (s["limit"] as? Int).map { String($0) } ?? "no limit"
            print("\(s["name"] ?? "?"): \(s["running"] ?? 0) running (\(limit)), \(s["queued"] ?? 0) queued, "
                  + "\(s["deadlineMisses"] ?? 0) deadline misses")
            for p in s["processors"] as? [[String: Any]] ?? [] {
                let conc = (p["concurrent"] as? Int).map { String($0) } ?? "-"
                print("  \(p["name"] ?? "?")  \(p["state"] ?? "?")  busy \(p["busy"] ?? 0)/\(conc)  cpus \(p["cpuset"] ?? "any")"
                      + "  restarts \(p["restarts"] ?? 0)" + ((p["lastError"] as? String).map { "  last error: \($0)" } ?? ""))
            }
        }
        for l in obj["locks"] as? [[String: Any]] ?? [] {
            let holders = (l["holders"] as? [String]) ?? [], waiters = (l["waiters"] as? [String]) ?? []
            print("lock \(l["name"] ?? "?") (\(l["capacity"] ?? 1)): held by \(holders.isEmpty ? "nobody" : holders.joined(separator: ", ")), "
                  + "\(waiters.count) waiting")
        }
        for w in obj["warnings"] as? [String] ?? [] { print("warning: \(w)") }
    }
}
