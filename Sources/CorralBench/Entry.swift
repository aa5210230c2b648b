import CorralCore
import Foundation

/// `corral-bench <suite>`: benchmarks with their baselines measured in the
/// same run. Build in release: `swift run -c release corral-bench allocator`.
@main
struct Entry {
    static func main() async {
        let args = Array(CommandLine.arguments.dropFirst())
        switch args.first {
        case "allocator":
            AllocatorBenchmark.run(arguments: Array(args.dropFirst()))
        case "executor":
            await ExecutorBenchmark.run(arguments: Array(args.dropFirst()))
        case "logs":
            await LogBenchmark.run(arguments: Array(args.dropFirst()))
        case "stages":
            await StageBenchmark.run(arguments: Array(args.dropFirst()))
        case "echo-processor":
            StageBenchmark.echoProcessor(stage: args.count > 1 ? args[1] : "echo")
        case "zookeeper":
            await ZooKeeperBenchmark.run(arguments: Array(args.dropFirst()))
        case "cluster":
            await ClusterBenchmark.run(arguments: Array(args.dropFirst()))
        case "scheduler":
            SchedulerBenchmark.run(arguments: Array(args.dropFirst()))
        case "engines":
            await EngineBenchmark.run(arguments: Array(args.dropFirst()))
        default:
            FileHandle.standardError.write(Data("""
            usage: corral-bench allocator [--seconds S] [--streams N]
                   corral-bench engines [--runs N] [--socket PATH]
                   corral-bench executor [--instances N]
                   corral-bench logs [--mib N] [--runs R] [--max-file-mib M]
                   corral-bench stages [--jobs N] [--window W] [--handoffs H] [--runs R]
                   corral-bench zookeeper [--sequential N] [--pipelined N] [--window W]
                   corral-bench cluster [--instances N] [--rest-seconds S]
                   corral-bench scheduler [--executors N] [--placements P]

            allocator  reserve+release throughput and placement quality on a
                       2-socket, 4-NUMA-node, 256-CPU machine, against first-fit.
            engines    start latency: ProcessEngine against taskset, DockerEngine
                       against create+start sent straight to the engine API.
            executor   the real daemon: RSS idle and with N instances, API start
                       latency, recovery time after SIGKILL (needs .build/release/corral).
            logs       a workload's stdout into rotated, gzipped instance log files,
                       against the same stream read raw from the engine.
            stages     jobs/s through one echo processor with 64 outstanding against raw
                       round trips over the pipes; lock hand-off latency between stages.
            zookeeper  the ZooKeeper client against kazoo on the same server: getData,
                       setData (sequential and pipelined), create+delete pairs.
            cluster    a clustered executor with N instances changing state: its
                       ZooKeeper writes against Drove's rule (needs .build/release/corral).
            scheduler  the controller's placement on N simulated executors (recorded
                       topologies) against Drove's algorithm: placements/s and quality.

            """.utf8))
            exit(args.isEmpty ? 0 : 2)
        }
    }
}
