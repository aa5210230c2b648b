import Foundation
import Testing

@Suite struct CommandTests {
    let gpuRoot = CLI.fixture("gpu-2s8c2t")

    @Test func topologyJSONHasTheDocumentedShape() throws {
        let r = try CLI.run(["topology", "--json", "--fsroot", gpuRoot])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(r.json)
        let cpus = try #require(json["cpus"] as? [[String: Any]])
        #expect(cpus.count == 32)
        let cpu0 = cpus[0]
        #expect(cpu0["id"] as? Int == 0)
        #expect(cpu0["package"] as? Int == 0)
        #expect(cpu0["core"] as? Int == 0)
        #expect(cpu0["numaNode"] as? Int == 0)
        #expect(cpu0["l3"] as? Int == 0)
        #expect(cpu0["siblings"] as? String == "0,16")
        #expect(cpu0["online"] as? Bool == true)
        #expect(cpu0["allowed"] as? Bool == true)
        #expect(cpus[16]["allowed"] as? Bool == false)
        let nodes = try #require(json["numaNodes"] as? [[String: Any]])
        #expect(nodes.map { $0["cpus"] as? String } == ["0-7,16-23", "8-15,24-31"])
        #expect(nodes[0]["memoryBytes"] as? Int == 32 << 30)
        let gpus = try #require(json["gpus"] as? [[String: Any]])
        #expect(gpus.count == 3)
        #expect(gpus[0]["pciBus"] as? String == "0000:3b:00.0")
        #expect(gpus[0]["numaNode"] as? Int == 0)
        #expect(gpus[0]["model"] as? String == "NVIDIA GeForce RTX 3080")
        #expect(gpus[2]["numaNode"] is NSNull)
    }

    @Test func topologyTreeReadsLikeAMachine() throws {
        let r = try CLI.run(["topology", "--fsroot", gpuRoot])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Package 0"))
        #expect(r.stdout.contains("NUMA node 1  32 GiB  cpus 8-15,24-31"))
        #expect(r.stdout.contains("L3 group 0"))
        #expect(r.stdout.contains("Core 0: 0, 16 (not allowed)"))
        #expect(r.stdout.contains("GPU 2: NVIDIA A2  bus 0000:d8:00.0  NUMA node unknown"))
    }

    @Test func topologyOfThisMachine() throws {
        let r = try CLI.run(["topology", "--json"])
        #expect(r.status == 0)
        #expect(((r.json?["cpus"] as? [Any])?.count ?? 0) > 0)
    }

    static let config = """
    server:
      applicationConnectors: [{ type: http, port: 3000 }]
      adminConnectors: [{ type: http, port: 3001, bindHost: 127.0.0.1 }]
    clusterAuth:
      secrets:
        - nodeType: CONTROLLER
          secret: ${CTRL_SECRET}
    resources:
      osCores: [0, 16]
      exposedMemPercentage: 75
      enableNvidiaGpu: true
      tags: [gpu]
    options:
      cacheImages: true
    """

    @Test func configCheckPrintsWhatTheNodeOffers() throws {
        let file = try CLI.writeTemp(Self.config)
        let secret = "Zq8-very-secret-token"
        let r = try CLI.run(["config", "check", file, "--fsroot", gpuRoot, "--json"], env: ["CTRL_SECRET": secret])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(r.json)
        #expect(json["mode"] as? String == "pinned")
        let nodes = try #require(json["numaNodes"] as? [[String: Any]])
        // Node 0: 0-7,16-23 minus osCores 0,16 (16 is also outside the cpuset).
        #expect(nodes[0]["cpus"] as? String == "1-7,17-23")
        // CPU 31 is outside this process's affinity (status) but inside the cpuset: offered.
        #expect(nodes[1]["cpus"] as? String == "8-15,24-31")
        #expect(nodes[0]["memoryBytes"] as? Int == (32 << 30) * 3 / 4)
        #expect(json["totalCpus"] as? Int == 30)
        #expect(json["totalMemoryBytes"] as? Int == (64 << 30) * 3 / 4)
        #expect(json["tags"] as? [String] == ["gpu-node-7", "gpu"])
        #expect((json["gpus"] as? [Any])?.count == 3)
        #expect(json["secretsConfigured"] as? [String] == ["CONTROLLER"])
        #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret))
        let text = try CLI.run(["config", "check", file, "--fsroot", gpuRoot], env: ["CTRL_SECRET": secret])
        #expect(text.stdout.contains("NUMA node 0: 14 CPUs 1-7,17-23"))
        #expect(!text.stdout.contains(secret))
    }

    @Test func configCheckWithoutGPUsOffersNone() throws {
        let file = try CLI.writeTemp("resources:\n  osCores: [0]\n")
        let r = try CLI.run(["config", "check", file, "--fsroot", gpuRoot, "--json"])
        #expect((r.json?["gpus"] as? [Any])?.isEmpty == true)
    }

    @Test func configCheckOverProvisioned() throws {
        let file = try CLI.writeTemp("""
        resources:
          disableNUMAPinning: true
          overProvisioning: { enabled: true, cpuMultiplier: 4, memoryMultiplier: 2 }
        """)
        let r = try CLI.run(["config", "check", file, "--fsroot", gpuRoot, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.json?["mode"] as? String == "overprovisioned")
        #expect(r.json?["totalCpus"] as? Int == 31 * 4)
        #expect(r.json?["totalMemoryBytes"] as? Int == (64 << 30) * 2)
    }

    @Test func invalidConfigListsEveryErrorAndExitsOne() throws {
        let file = try CLI.writeTemp("""
        resources:
          osCores: [0, 99]
          exposedMemPercentage: 40
          numaPolicy: sometimes
        options:
          cacheFileCount: 0
        """)
        let r = try CLI.run(["config", "check", file, "--fsroot", gpuRoot])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(file): 3 errors"))
        #expect(r.stderr.contains("\(file):3:25: error: resources.exposedMemPercentage: 40 is out of range (allowed: an integer from 50 to 100)"))
        #expect(r.stderr.contains("resources.numaPolicy: \"sometimes\" is not one of the allowed values (allowed: require, prefer)"))
        #expect(r.stderr.contains("options.cacheFileCount"))
        // osCores naming a CPU the machine lacks is reported once the YAML itself is valid.
        let fixed = try CLI.writeTemp("resources:\n  osCores: [0, 99]\n")
        let r2 = try CLI.run(["config", "check", fixed, "--fsroot", gpuRoot, "--json"])
        #expect(r2.status == 1)
        let errors = try #require(r2.json?["errors"] as? [[String: Any]])
        #expect(errors.first?["path"] as? String == "resources.osCores")
        #expect((errors.first?["message"] as? String)?.contains("CPU 99 does not exist") == true)
    }

    @Test func allocateShowsWhereAWorkloadWouldLand() throws {
        let r = try CLI.run(["allocate", "--fsroot", gpuRoot, "--cpus", "4", "--memory", "2GiB", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(r.json)
        // CPU 16 is outside the cpuset, so core 0 offers only CPU 0 and its L3 group
        // (0-3,17-19) is the most used: whole cores 0 and 1 from it, then one thread.
        #expect(json["cpus"] as? String == "0-2,17")
        #expect(json["numaNodes"] as? [Int] == [0])
        #expect(json["memoryBytes"] as? Int == 2 << 30)
        #expect(json["gpus"] as? [Int] == [])
        let avail = try CLI.run(["allocate", "--fsroot", gpuRoot, "--cpus", "2", "--available", "8-15,24-31", "--json"])
        // Node 1's two L3 groups are equally free: the first serves, a whole core (8 and its thread 24).
        #expect(avail.json?["cpus"] as? String == "8,24")
        #expect(avail.json?["numaNodes"] as? [Int] == [1])
    }

    @Test func allocateRefusalExitsOneAndSaysWhy() throws {
        let r = try CLI.run(["allocate", "--fsroot", gpuRoot, "--cpus", "20"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("asked for 20 CPUs"))
        #expect(r.stderr.contains("the most any node can offer: 16 free CPUs (node 1)"), "\(r.stderr)")
        let prefer = try CLI.run(["allocate", "--fsroot", gpuRoot, "--cpus", "20", "--numa", "prefer", "--json"])
        #expect(prefer.status == 0)
        #expect(prefer.json?["numaNodes"] as? [Int] == [0, 1])
        let gpu = try CLI.run(["allocate", "--fsroot", gpuRoot, "--cpus", "1", "--gpus", "1"])
        #expect(gpu.status == 1)
        #expect(gpu.stderr.contains("offers no GPUs"))
        let bad = try CLI.run(["allocate", "--fsroot", gpuRoot, "--cpus", "1", "--memory", "lots"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("--memory: \"lots\" is not a size"))
    }
}

@Suite struct ExampleTests {
    @Test(arguments: ["executor-standalone.yml", "executor-docker.yml", "executor-podman.yml"])
    func exampleConfigsAreValid(name: String) throws {
        let path = CLI.packageRoot.appendingPathComponent("examples/\(name)").path
        let r = try CLI.run(["config", "check", path, "--fsroot", CLI.fixture("gpu-2s8c2t"), "--json"],
                            env: ["CORRAL_CONTROLLER_SECRET": "example-secret"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.json?["secretsConfigured"] as? [String] == ["CONTROLLER"])
        #expect(!r.stdout.contains("example-secret"))
    }

    @Test func theExecutorDryRunShowsWhatItWouldExpose() throws {
        let path = CLI.packageRoot.appendingPathComponent("examples/executor-standalone.yml").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-dry-\(UUID().uuidString)").path
        let r = try CLI.run(["executor", "--config", path, "--state-dir", dir, "--dry-run"],
                            env: ["CORRAL_CONTROLLER_SECRET": "example-secret"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("API   http://0.0.0.0:7700/apis/v1"))
        #expect(r.stderr.contains("admin http://127.0.0.1:7701/healthcheck"))
        #expect(!r.stderr.contains("example-secret"))
        let open = try CLI.run(["executor", "--config", try CLI.writeTemp("options: {}\n"), "--state-dir", dir, "--dry-run"])
        #expect(open.status == 1)
        #expect(open.stderr.contains("no CONTROLLER secret"))
    }
}

/// `corral plan`: the shipped case study reproduces exactly, passes the check, and reviews.
@Suite struct PlanCommandTests {
    static let examples = CLI.packageRoot.appendingPathComponent("examples/plan")

    @Test func theShippedCaseStudyIsWhatThePlannerWrites() throws {
        let epyc = CLI.fixture("epyc7642-2s48c")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).toml").path
        let r = try CLI.run(["plan", "--fsroot", epyc, "--workload", Self.examples.appendingPathComponent("sealing-epyc7642.toml").path,
                             "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let written = try String(contentsOfFile: out, encoding: .utf8)
        let shipped = try String(contentsOf: Self.examples.appendingPathComponent("sealing-epyc7642.processors.toml"), encoding: .utf8)
        #expect(written == shipped, "examples/plan/sealing-epyc7642.processors.toml is out of date: regenerate it (see examples/plan/README.md)")
        let words = try String(contentsOf: Self.examples.appendingPathComponent("sealing-epyc7642.plan.txt"), encoding: .utf8)
        #expect(r.stdout.split(separator: "\n").dropFirst() == words.split(separator: "\n").dropFirst(), "\(r.stdout)")
        let check = try CLI.run(["processors", "check", "--fsroot", epyc, out, "--state-dir", FileManager.default.temporaryDirectory.path + "/none-\(UUID().uuidString)"])
        #expect(check.status != 0 && check.stderr.contains("no state database"), "an explicit state dir must exist")
        let clean = try CLI.run(["processors", "check", "--fsroot", epyc, out])
        #expect(clean.status == 0 && clean.stdout.contains("valid, 4 processors") && !clean.stdout.contains("warning"), "\(clean.stdout)\(clean.stderr)")
        // Without --out: the config on stdout, the explanation as comments; it loads as it is.
        let piped = try CLI.run(["plan", "--fsroot", epyc, "--workload", Self.examples.appendingPathComponent("sealing-epyc7642.toml").path,
                                 "--strategy", "shared"])
        #expect(piped.status == 0 && piped.stdout.hasPrefix("# pc1: 30 at once") && piped.stdout.contains("gpu1 = 1"), "\(piped.stdout)")
        let reloaded = try CLI.writeTemp(piped.stdout, name: "shared.toml")
        #expect(try CLI.run(["processors", "check", "--fsroot", epyc, reloaded]).status == 0)
        let review = try CLI.run(["plan", "--fsroot", epyc, "--explain", out])
        #expect(review.status == 0 && review.stdout.contains("Conflicts: none found"), "\(review.stdout)")
        let bad = try CLI.run(["plan", "--fsroot", epyc, "--workload", out])
        #expect(bad.status != 0 && bad.stderr.contains("not a workload") && bad.stderr.contains("--explain"), "\(bad.stderr)")
        let both = try CLI.run(["plan", "--workload", out, "--explain", out])
        #expect(both.status != 0 && both.stderr.contains("either --workload"), "\(both.stderr)")
    }
}
