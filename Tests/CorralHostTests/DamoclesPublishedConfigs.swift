import Foundation

/// The TOML configs damocles publishes: its mock worker config and every
/// ```toml block of its English docs and examples that has a `[processors`
/// table. Documentation placeholders are filled as a user would before use:
/// `, ... }` and `{ ... }` inside inline tables are dropped and `{stage_name}` becomes pc1.
enum DamoclesPublishedConfigs {
    struct Config {
        var name: String
        var text: String
    }

    static func all(in repo: URL) throws -> [Config] {
        var out: [Config] = []
        let mock = repo.appendingPathComponent("damocles-worker/assets/damocles-worker.mock.toml")
        out.append(Config(name: "damocles-worker.mock.toml", text: try String(contentsOf: mock, encoding: .utf8)))
        for folder in ["docs/en", "docs/example"] {
            let dir = repo.appendingPathComponent(folder)
            for file in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where file.hasSuffix(".md") {
                let md = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
                let blocks = md.components(separatedBy: "```")
                for (i, block) in blocks.enumerated() where i % 2 == 1 && block.hasPrefix("toml\n") && block.contains("[processors") {
                    let text = String(block.dropFirst(5))
                        .replacingOccurrences(of: ", ... }", with: " }")
                        .replacingOccurrences(of: "{ ... }", with: "{}")
                        .replacingOccurrences(of: "{stage_name}", with: "pc1")
                    out.append(Config(name: "\(folder)/\(file)#\(i / 2)", text: text))
                }
            }
        }
        return out
    }
}
