import CorralCore
@testable import CorralExecutor
import Foundation
import PropertyBased
import Testing

/// A `corral run --cluster` job as it travels executor -> leader -> executor:
/// JSON both ways gives back exactly what was sent (the caller above all).
@Suite struct RemoteRunJobTests {
    @Test func aJobSurvivesTheTripAsJSON() async {
        let word = Gen.letterOrNumber.string(of: 0...8)
        let env = zip(Gen.letterOrNumber.string(of: 1...6), word).dictionary(ofAtMost: 0...5)
        let ids = Gen.int(in: 0...70_000)
        let input = zip(word.array(of: 1...4), env, zip(ids, ids, ids.array(of: 0...4)), Gen.int(in: 1...64), Gen.bool)
        await propertyCheck(count: 200, input: input) { command, env, who, cpus, tty in
            let (uid, gid, groups) = who
            let request = RunRequest(command: command, cpus: cpus, memory: "2", image: tty ? nil : "img:1", env: env, tty: tty)
            let caller = PeerCredentials(pid: 42, uid: UInt32(uid), gid: UInt32(gid), groups: groups.map(UInt32.init), cwd: tty ? "/home/u" : nil)
            let job = RemoteRunJob(request: request, caller: caller, taskId: "run-1", origin: "h1")
            guard let data = try? JSONEncoder().encode(job), let back = try? JSONDecoder().decode(RemoteRunJob.self, from: data) else {
                Issue.record("the job does not survive JSON")
                return
            }
            #expect(back.request == request && back.caller == caller && back.taskId == "run-1" && back.origin == "h1")
        }
    }

    /// The relay reads often at first and settles at its slowest rate: it
    /// never polls faster than the first interval or slower than the cap.
    @Test func thePollSlowsDownToItsCap() {
        var interval = RemoteRunControl.firstPoll
        var seen: [Duration] = []
        for _ in 0..<60 {
            seen.append(interval)
            interval = RemoteRunControl.poll(after: interval)
        }
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 <= $1 }, "never faster again")
        #expect(seen.first == .milliseconds(20) && seen.last == RemoteRunControl.slowestPoll)
        // Within the first half second a short job is looked at about ten times.
        var t = Duration.zero
        #expect(seen.prefix { t += $0; return t <= .milliseconds(500) }.count >= 8)
    }
}
