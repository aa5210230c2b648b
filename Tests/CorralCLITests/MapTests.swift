import Foundation
import Testing

/// `corral map`: the SVG's structure, and the picture as Chromium renders it.
@Suite(.serialized) struct MapTests {
    static let epyc = CLI.fixture("epyc7642-2s48c")
    static let plan = CLI.packageRoot.appendingPathComponent("examples/plan/sealing-epyc7642.processors.toml").path
    static let analyser = CLI.packageRoot.appendingPathComponent("Tests/CorralCLITests/Tools/png-colours.py").path

    /// `data-owner` of every CPU rectangle, by CPU id.
    static func owners(_ svg: String, kind: String = "cpu") -> [Int: String] {
        var out: [Int: String] = [:]
        let pattern = try! NSRegularExpression(pattern: "class=\"\(kind)\" data-\(kind)=\"(\\d+)\" data-owner=\"([^\"]*)\"")
        for m in pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)) {
            let id = Int(svg[Range(m.range(at: 1), in: svg)!])!
            out[id] = String(svg[Range(m.range(at: 2), in: svg)!])
        }
        return out
    }

    /// Renders `html` with headless Chromium; the PNG's size and colour counts.
    static func render(_ html: String, width: Int, height: Int) throws -> (width: Int, height: Int, colours: [String: Int])? {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let chromium else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("CI=true but no chromium: scripts/test installs Debian's chromium package")
            }
            return nil
        }
        let png = FileManager.default.temporaryDirectory.appendingPathComponent("map-\(UUID().uuidString).png").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--screenshot=\(png)",
                       "--window-size=\(width),\(height)", "file://\(html)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", analyser, png]
        let out = Pipe()
        py.standardOutput = out
        try py.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        py.waitUntilExit()
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "no picture from chromium (exit \(p.terminationStatus))")
        return (obj["width"] as! Int, obj["height"] as! Int, obj["colours"] as! [String: Int])
    }

    @Test func theCaseStudyMapShowsEveryOwnerWhereItIs() throws {
        let config = try CLI.writeTemp("""
        resources:
          osCores: [46, 47]
        """, name: "executor.yml")
        let html = FileManager.default.temporaryDirectory.appendingPathComponent("map-\(UUID().uuidString).html").path
        let r = try CLI.run(["map", "--fsroot", Self.epyc, "--config", config, "--processors", Self.plan, "--out", html])
        #expect(r.status == 0, "\(r.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.hasPrefix("<!DOCTYPE html>") && page.contains("<svg"))
        // Structure: every CPU drawn once with its owner, both GPUs, the NUMA nodes with memory, a legend.
        let cpus = Self.owners(page)
        #expect(cpus.count == 96 && Set(cpus.keys) == Set(0..<96))
        #expect(cpus[0] == "processor pc1#0" && cpus[48] == "processor pc1#1")
        #expect(cpus[2] == "processor pc2#0" && cpus[50] == "processor c2#0")
        #expect(cpus[46] == "OS-reserved" && cpus[47] == "OS-reserved")
        #expect(cpus[94] == "free" && cpus[26] == "free")
        let gpus = Self.owners(page, kind: "gpu")
        #expect(gpus == [0: "processor pc2#0", 1: "processor c2#0"])
        #expect(page.contains("NUMA node 0 · 1 TiB") && page.contains("NUMA node 1 · 1 TiB"))
        #expect(page.components(separatedBy: "class=\"l3\"").count - 1 == 32, "32 L3 groups of 3 cores")
        for owner in ["processor pc1#0 (30 CPUs)", "processor pc2#0 (8 CPUs, 1 GPU)", "OS-reserved (2 CPUs)", "free (10 CPUs)"] {
            #expect(page.contains(owner), "legend lacks \(owner)")
        }
        // The picture: the SVG's own size, not blank, each owner's colour on screen.
        let height = Int(page.firstMatch(of: /height="(\d+)"/)!.1)!
        guard let png = try Self.render(html, width: 1000, height: height) else { return }
        #expect(png.width == 1000 && png.height == height)
        #expect(png.colours.count > 20, "a blank or flat picture: \(png.colours.count) colours")
        let white = png.colours["#ffffff"] ?? 0
        #expect(white < png.width * png.height * 9 / 10, "mostly white: \(white) of \(png.width * png.height)")
        let legend = page.matches(of: /<g class="legend" data-owner="([^"]+)"><rect x="\d+" y="\d+" width="22" height="16" fill="(#[0-9a-f]{6})"/)
            .map { (String($0.1), String($0.2)) }
        #expect(legend.count == 6, "\(legend)")
        for (owner, colour) in legend where colour != "#ffffff" {
            // Every owned CPU cell is 30 x 16 px; even 2 CPUs show hundreds of pixels.
            #expect((png.colours[colour] ?? 0) > 500, "\(owner)'s colour \(colour) is barely on screen: \(png.colours[colour] ?? 0) px")
        }
    }

    @Test func aLiveExecutorDrawsItsInstancesAndPools() async throws {
        let toml = try CLI.writeTemp("""
        [[processors.pc1]]
        bin = "\(StageServiceTests.script)"
        args = ["pc1"]
        cgroup.cpuset = "0"
        """, name: "processors.toml")
        let config = try RecoveryTests.writeConfig("""
        options:
          dockerSocketPath: /nonexistent/docker.sock
        processors:
          config: \(toml)
        """)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corral-map-\(UUID().uuidString)").path
        let daemon = try RecoveryTests.Daemon(config: config, stateDir: dir)
        defer { daemon.kill9() }
        let rec = RecoveryTests()
        let created = try rec.call(daemon.api, "POST", "/instances", body: """
        {"appId": "web", "instanceId": "web-map", "executable": {"type": "PROCESS", "command": ["sleep", "30"]},
         "resources": [{"type": "CPU", "count": 1}, {"type": "MEMORY", "sizeInMB": 16}]}
        """)
        let cpu = try #require(Int((created["allocation"] as? [String: Any])?["cpus"] as? String ?? ""), "\(created)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(UUID().uuidString).svg").path
        let r = try CLI.run(["map", "--url", daemon.api, "--secret", RecoveryTests.secret, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let svg = try String(contentsOfFile: out, encoding: .utf8)
        let owners = Self.owners(svg)
        #expect(owners[0] == "processor pc1#0", "\(owners)")
        #expect(owners[cpu] == "instance web-map", "\(owners)")
        #expect(svg.contains("instance web-map (1 CPU)"))
        let denied = try CLI.run(["map", "--url", daemon.api, "--secret", "wrong", "--out", out])
        #expect(denied.status != 0 && !denied.stderr.contains(RecoveryTests.secret))
        _ = try rec.call(daemon.api, "POST", "/instances/web-map/stop")
    }
}
