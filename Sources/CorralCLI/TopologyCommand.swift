import ArgumentParser
import CorralCore
import CorralHost

struct TopologyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Show this machine's packages, NUMA nodes, L3 groups, cores, threads and GPUs."
    )

    @OptionGroup var machine: MachineOptions

    @Flag(help: "Print JSON instead of a tree.")
    var json = false

    func run() throws {
        let topo: Topology
        do {
            topo = try TopologyReader(fsroot: machine.fsroot).read()
        } catch {
            throw fail(error.message)
        }
        if json {
            try printJSON(TopologyReport(topo))
        } else {
            print(TopologyTree.render(topo), terminator: "")
        }
    }
}
