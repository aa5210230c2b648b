import CorralCore
import PropertyBased
import Testing

/// The request checks the client, the executor and the leader share: a
/// request passes exactly when each of its parts is allowed, and a refusal
/// names the part.
@Suite struct RunRequestTests {
    @Test func aRequestPassesExactlyWhenEachPartIsAllowed() async {
        let words = Gen.int(in: 0...3).map { ["", "true", "a\0b", "./job.sh"][$0] }.array(of: 0...3)
        let memory = Gen.int(in: 0...4).map { ([nil, "2", "512M", "0", "lots"] as [String?])[$0] }
        let input = zip(words, Gen.int(in: -1...3), Gen.int(in: -1...2), memory, Gen.bool)
        await propertyCheck(count: 300, input: input) { command, cpus, gpus, memory, cluster in
            let r = RunRequest(command: command, cpus: cpus, memory: memory, gpus: gpus)
            let memoryOK = memory.map { if case .success = RunMemory.parse($0) { true } else { false } } ?? !cluster
            let allowed = !(command.first ?? "").isEmpty && !command.contains { $0.contains("\0") } && cpus >= 1 && gpus >= 0 && memoryOK
            let why = r.problem(forTheCluster: cluster)
            #expect((why == nil) == allowed, "\(command) -c \(cpus) --gpus \(gpus) -m \(memory ?? "-") cluster \(cluster): \(why ?? "passed")")
            if cpus < 1, !(command.first ?? "").isEmpty, !command.contains(where: { $0.contains("\0") }) {
                #expect(why?.contains("-c \(cpus)") == true)
            }
            if allowed { #expect(r.memoryBytes == memory.flatMap { try? RunMemory.parse($0).get() }) }
        }
        #expect(RunRequest(command: ["true"], cpus: 1).problem(forTheCluster: true) == RunRequest.clusterNeedsMemory)
    }
}
