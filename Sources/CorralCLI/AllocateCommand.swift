import ArgumentParser
import CorralCore
import CorralHost
import Foundation

struct AllocateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allocate",
        abstract: "Dry run: where would a workload of this size land on this node?",
        discussion: """
        Nothing is reserved. CPUs listed in --available are treated as the free ones \
        (default: everything the config offers). Exit status 1 when it does not fit.
        """
    )

    @OptionGroup var machine: MachineOptions

    @Option(help: ArgumentHelp("Executor config (default: built-in defaults).", valueName: "FILE"))
    var config: String?

    @Option(help: "CPUs (hardware threads) to ask for.")
    var cpus: Int

    @Option(help: ArgumentHelp("Memory to ask for: 512MiB, 4GiB, 8GB (Dropwizard units).", valueName: "SIZE"))
    var memory: String = "0"

    @Option(help: "Whole GPUs to ask for.")
    var gpus: Int = 0

    @Option(help: ArgumentHelp("NUMA policy for this request (default: the config's).", valueName: "require|prefer"))
    var numa: NUMAPolicy?

    @Option(help: ArgumentHelp("Treat only these CPUs as free (kernel list syntax).", valueName: "CPULIST"))
    var available: String?

    @Flag(help: "Print JSON.")
    var json = false

    struct Placement: Encodable {
        var cpus: String
        var cpuCount: Int
        var requestedCpus: Int
        var numaNodes: [Int]
        var memoryBytes: UInt64
        var memoryByNode: [String: UInt64]
        var gpus: [Int]
        var pinned: Bool
    }

    func run() throws {
        let root = FileSystemRoot(machine.fsroot)
        guard let memoryBytes = DataSize(parsing: memory)?.bytes else {
            throw fail("--memory: \"\(memory)\" is not a size (allowed: \(DataSize.allowedUnitsText))")
        }
        var cfg = ExecutorConfig()
        if let config {
            do {
                cfg = try ConfigFile.loadExecutor(path: config).config
            } catch {
                throw fail(error.message)
            }
        }
        let topology: Topology
        do {
            topology = try TopologyReader(root: root).read()
        } catch {
            throw fail(error.message)
        }
        let hostname = HostIdentity.hostname(configured: cfg.options.hostname, root: root)
        let (eff, issues) = EffectiveResources.compute(topology: topology, resources: cfg.resources, hostname: hostname,
                                                       file: config ?? "defaults")
        if let e = issues.first(where: { $0.severity == .error }) { throw fail(e.description) }
        var allocator = Allocator(resources: eff)
        if let available {
            let free: CPUSet
            do {
                free = try CPUSet(list: available)
            } catch {
                throw fail("--available: \(error.description)")
            }
            if eff.mode == .pinned {
                let busy = eff.offeredCPUs.subtracting(free)
                if !busy.isEmpty {
                    try allocator.adopt(Allocation(id: "unavailable", cpus: busy, cpuCount: busy.count,
                                                   requestedCPUs: busy.count, numaNodes: [], memoryBytes: 0,
                                                   memoryByNode: [:], gpus: [], pinned: true))
                }
            }
        }
        let a: Allocation
        do {
            a = try allocator.placement(for: AllocationRequest(cpus: cpus, memoryBytes: memoryBytes, gpus: gpus, numaPolicy: numa))
        } catch {
            throw fail(error.message)
        }
        if json {
            try printJSON(Placement(cpus: a.cpus.listString, cpuCount: a.cpuCount, requestedCpus: a.requestedCPUs,
                                    numaNodes: a.numaNodes, memoryBytes: a.memoryBytes,
                                    memoryByNode: Dictionary(uniqueKeysWithValues: a.memoryByNode.map { (String($0.key), $0.value) }),
                                    gpus: a.gpus, pinned: a.pinned))
        } else if a.pinned {
            var line = "CPUs \(a.cpus.listString) (\(a.cpuCount)) on NUMA node\(a.numaNodes.count == 1 ? "" : "s") "
            line += a.numaNodes.map(String.init).joined(separator: ",")
            line += ", \(DataSize.human(a.memoryBytes)) memory"
            if !a.gpus.isEmpty { line += ", GPUs \(a.gpus.map(String.init).joined(separator: ","))" }
            if a.roundedUpBy > 0 { line += " (rounded up by \(a.roundedUpBy) CPU\(a.roundedUpBy == 1 ? "" : "s") to whole cores)" }
            print(line)
        } else {
            print("\(a.cpuCount) CPUs counted, not pinned (\(eff.mode.rawValue)), \(DataSize.human(a.memoryBytes)) memory"
                  + (a.gpus.isEmpty ? "" : ", GPUs \(a.gpus.map(String.init).joined(separator: ","))"))
        }
    }
}

extension NUMAPolicy: ExpressibleByArgument {}
