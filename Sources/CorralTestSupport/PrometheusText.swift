/// Reads the Prometheus text exposition format back into samples, so tests
/// compare values (`1` and `1.0` alike) instead of rendered strings.
public struct PrometheusText: Sendable {
    /// `name{labels}` as written -> value.
    public let samples: [String: Double]
    /// `name` -> its `# TYPE`.
    public let types: [String: String]

    public init(_ text: String) {
        var samples: [String: Double] = [:]
        var types: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " ") else { continue }
            let key = String(line[..<space])
            let raw = line[line.index(after: space)...]
            let value: Double? = switch raw {
            case "+Inf": .infinity
            case "-Inf": -.infinity
            case "NaN": .nan
            default: Double(raw)
            }
            if let value { samples[key] = value }
        }
        self.samples = samples
        self.types = types
    }

    public subscript(_ key: String) -> Double? { samples[key] }
}
