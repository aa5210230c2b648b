import ArgumentParser
import CorralCore
import CorralHost
import Foundation

struct MapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Draw the machine: packages, NUMA nodes, L3 groups, cores and threads, GPUs, coloured by owner.",
        discussion: """
        corral map --out map.svg [--fsroot DIR] [--config EXECUTOR_YAML] [--processors FILE]
        corral map --url URL [--secret SECRET] --out map.html

        Owners: OS-reserved cores (the executor YAML's osCores), each processor pool (cpusets and \
        CUDA_VISIBLE_DEVICES of a processors config), each running instance (with --url: a live \
        executor draws itself, as GET /apis/v1/executor/map.svg), free, and CPUs not offered. \
        --out ending in .html writes a page holding the SVG.
        """
    )

    @OptionGroup var machine: MachineOptions

    @OptionGroup var executor: ExecutorConfigOption

    @Option(help: ArgumentHelp("A processors config whose pools to draw.", valueName: "FILE"))
    var processors: String?

    @Option(help: ArgumentHelp("Draw this live executor instead (its API URL).", valueName: "URL"))
    var url: String?

    @Option(help: ArgumentHelp("The CONTROLLER secret for --url (env CORRAL_SECRET; default: the one `corral up` made).", valueName: "SECRET"))
    var secret: String?

    @Option(help: ArgumentHelp("Where to write the picture: FILE.svg or FILE.html.", valueName: "FILE"))
    var out: String

    func validate() throws {
        guard out.hasSuffix(".svg") || out.hasSuffix(".html") else {
            throw ValidationError("--out \(out): the name must end in .svg or .html")
        }
        if url != nil && (processors != nil || executor.config != nil || machine.fsroot != "/") {
            throw ValidationError("--url draws a live executor: --fsroot, --config and --processors do not apply")
        }
    }

    func run() async throws {
        let svg: String
        if let url {
            var args = ["--url", url]
            if let secret { args += ["--secret", secret] }
            let client = try ClientOptions.parse(args)
            svg = String(decoding: try client.expect(try await client.call(.GET, "/executor/map.svg"), [200]), as: UTF8.self)
        } else {
            let ctx = try MachineContext.load(machine, executor)
            if let e = ctx.issues.first(where: { $0.severity == .error }) { throw fail(e.description) }
            var pools: [ProcessorEntry] = []
            if let processors {
                let (c, issues) = ctx.check(path: processors)
                guard let c, !issues.contains(where: { $0.severity == .error }) else {
                    throw fail(ConfigError(file: processors, issues: issues).message)
                }
                pools = c.allEntries
            }
            let (cpu, gpu) = MachineMap.owners(topology: ctx.topology, offered: ctx.resources.offeredCPUs,
                                               osCores: ctx.resources.osCores, processors: pools, instances: [])
            let name = HostIdentity.hostname(configured: nil, root: FileSystemRoot(machine.fsroot))
            svg = MachineMap(topology: ctx.topology, title: name + (processors.map { " · \(($0 as NSString).lastPathComponent)" } ?? ""),
                             cpuOwners: cpu, gpuOwners: gpu).svg()
        }
        let text = out.hasSuffix(".html") ? MachineMap.page(svg: svg) : svg
        do {
            try text.write(toFile: out, atomically: true, encoding: .utf8)
        } catch {
            throw fail("cannot write \(out): \(error.localizedDescription)")
        }
        print("wrote \(out)")
    }
}
