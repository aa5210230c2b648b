import CorralCore

import Foundation
import Logging

/// The fuzzed readers of input nobody here wrote, each a function of bytes:
/// run by libFuzzer (`corral-fuzz`, built with `--sanitize=fuzzer`) and, for
/// the seed and regression corpora, by the test suite. A target returns
/// normally for any input; a crash, a hang or a broken promise (a secret in an
/// error message, a value that does not round-trip) is a failure.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The YAML composer and the executor config reader.
    case executorConfig = "executor-config"
    /// The damocles processors TOML reader.
    case processorsConfig = "processors-config"
    /// Instance and task spec JSON.
    case spec
    /// CPU lists and sysfs hex masks.
    case cpuList = "cpu-list"
    /// Data sizes and durations.
    case units
    /// Logback layout patterns.
    case logPattern = "log-pattern"
    /// The stage protocol's answer scanner.
    case jsonScan = "json-scan"

    /// A secret planted in every config input: no message may show it.
    public static let plantedSecret = "fuzz-planted-secret-7f3a9c"

    /// Runs the target on `bytes`; the problems found (empty: none).
    public func run(_ bytes: [UInt8]) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        var problems: [String] = []
        switch self {
        case .executorConfig:
            // The input, with a controller secret that must never be shown, from a variable.
            let env = ["FUZZ_SECRET": Self.plantedSecret, "HOME": "/root"]
            let messages: [String]
            do throws(ConfigError) {
                let loaded = try ExecutorConfig.load(yaml: text + "\nclusterAuth:\n  secrets:\n    - nodeType: CONTROLLER\n      secret: ${FUZZ_SECRET}\n",
                                                     file: "fuzz.yml", environment: env)
                messages = loaded.warnings.map(\.description)
            } catch {
                messages = [error.message] + error.issues.map(\.description)
            }
            for m in messages where m.contains(Self.plantedSecret) { problems.append("a message shows the secret: \(m)") }
        case .processorsConfig:
            let (_, issues) = ProcessorsConfigLoader.load(text: text, file: "fuzz.toml")
            _ = issues.map(\.description)
        case .spec:
            for kind in 0..<2 {
                do throws(SpecError) {
                    if kind == 0 { _ = try InstanceSpec.parse(json: Data(bytes), environment: ["E": Self.plantedSecret]) }
                    else { _ = try TaskSpec.parse(json: Data(bytes), environment: ["E": Self.plantedSecret]) }
                } catch {
                    let all = [error.message] + error.issues.map(\.description)
                    for m in all where m.contains(Self.plantedSecret) { problems.append("a spec error shows an env value: \(m)") }
                }
            }
        case .cpuList:
            if let set = try? CPUSet(list: text) {
                // What is read back from its own text form is the same set.
                if let again = try? CPUSet(list: set.listString), again == set {} else {
                    problems.append("\"\(text.prefix(80))\" read as \(set.listString), which does not read back the same")
                }
            }
            _ = try? CPUSet(hexMask: text)
        case .units:
            _ = DataSize(parsing: text)
            _ = ConfigDuration(parsing: text)
            if let d = ConfigDuration(humantime: text), ConfigDuration(humantime: d.description) != d {
                // What Corral prints of a duration reads back as the same duration.
                problems.append("\"\(text.prefix(80))\" read as \(d), which does not read back the same")
            }
            _ = ConfigTimeZone(parsing: text)
        case .logPattern:
            let p = LogPattern(text, timeZone: TimeZone(identifier: "UTC")!)
            _ = p.render(.init(date: Date(timeIntervalSince1970: 0), level: .info, label: "fuzz.logger", message: "m",
                               metadata: ["k": "v"]))
        case .jsonScan:
            if let members = JSONScan.topLevelMembers(bytes) {
                // Every member the scan found is valid JSON on its own.
                for (k, r) in members where (try? JSONSerialization.jsonObject(with: Data(bytes[r]), options: [.fragmentsAllowed])) == nil {
                    problems.append("member \(k) at \(r) is not JSON")
                }
            }
        }
        return problems
    }
}
