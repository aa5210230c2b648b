import ArgumentParser
import CorralExecutor
import CorralRuntime
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
            let job = try client.decode(JobView.Head.self, data)
            if client.json || wait {
                client.printRaw(data)
            } else {
                print("job \(job.id) queued for \(stage)")
            }
            if wait, job.state != .succeeded { throw ExitCode(1) }
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
        let snapshot = try client.decode(StagesSnapshot.self, data)
        for s in snapshot.stages {
            print("\(s.name): \(s.running) running (\(s.limit.map { String($0) } ?? "no limit")), \(s.queued) queued, "
                  + "\(s.deadlineMisses) deadline misses")
            for p in s.processors {
                print("  \(p.name)  \(p.state.rawValue)  busy \(p.busy)/\(p.concurrent.map { String($0) } ?? "-")  cpus \(p.cpuset ?? "any")"
                      + "  restarts \(p.restarts)" + (p.lastError.map { "  last error: \($0)" } ?? ""))
            }
        }
        for l in snapshot.locks {
            print("lock \(l.name) (\(l.capacity)): held by \(l.holders.isEmpty ? "nobody" : l.holders.joined(separator: ", ")), "
                  + "\(l.waiters.count) waiting")
        }
        for w in snapshot.warnings { print("warning: \(w)") }
    }
}
