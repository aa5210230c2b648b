import CorralFuzzTargets
import Foundation
import Testing

/// Every fuzz seed and every input a fuzz run ever saved (Tests/Fuzz) goes
/// through its target on each test run: what crashed or broke a promise once
/// is checked for good. `scripts/fuzz` runs the targets under libFuzzer.
@Suite struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func inputs(_ t: FuzzTarget) -> [URL] {
        var dirs = ["Tests/Fuzz/seeds/\(t.rawValue)", "Tests/Fuzz/regressions/\(t.rawValue)"]
        switch t {
        case .executorConfig: dirs.append("examples")
        case .processorsConfig: dirs.append("examples/plan")
        case .spec: dirs.append("examples")
        default: break
        }
        let ext: String? = switch t {
        case .executorConfig: "yml"
        case .processorsConfig: "toml"
        case .spec: "json"
        default: nil
        }
        return dirs.flatMap { d -> [URL] in
            let url = root.appendingPathComponent(d)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            return names.filter { name in
                !name.hasPrefix(".") && (d.hasPrefix("Tests/") || ext.map { name.hasSuffix("." + $0) } ?? false)
            }
                .sorted().map { url.appendingPathComponent($0) }
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsAndRegressionsKeepTheirPromises(_ t: FuzzTarget) throws {
        let inputs = Self.inputs(t)
        #expect(!inputs.isEmpty, "no seeds for \(t.rawValue)")
        for url in inputs {
            let bytes = [UInt8](try Data(contentsOf: url))
            let problems = t.run(bytes)
            #expect(problems.isEmpty, "\(url.lastPathComponent): \(problems)")
        }
    }

    /// The promise is checked, not assumed: a config error about the planted
    /// secret's own key shows the key, never the value.
    @Test func aConfigErrorNextToTheSecretDoesNotShowIt() {
        let yaml = "clusterAuth:\n  secrets:\n    - nodeType: NOPE\n      secret: \(FuzzTarget.plantedSecret)\n"
        #expect(FuzzTarget.executorConfig.run(Array(yaml.utf8)).isEmpty)
        #expect(FuzzTarget.cpuList.run(Array("0-3,5".utf8)).isEmpty)
    }
}
