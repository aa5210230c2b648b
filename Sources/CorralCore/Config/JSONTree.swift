import Foundation

/// Loads JSON into the format-neutral ``ConfigNode`` tree, so API bodies are
/// validated by the same ``ConfigReader`` as config files (every problem, with
/// its field path). Numbers and booleans become plain scalars, strings quoted ones.
public enum JSONTree {
    public static func parse(_ data: Data, file: String = "request") -> (ConfigNode?, ConfigIssue?) {
        do {
            let any = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return (node(any), nil)
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "malformed JSON"
            return (nil, ConfigIssue(.error, file: file, location: nil, path: "", message: "not valid JSON: \(detail)"))
        }
    }

    /// Whether JSONSerialization made this number from a JSON true/false: those
    /// arrive as NSNumbers made from Bool (type encoding "c"); numbers never do.
    public static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    static func node(_ any: Any) -> ConfigNode {
        switch any {
        case let d as [String: Any]:
            return ConfigNode(.mapping(d.keys.sorted().map { ConfigEntry(key: $0, keyLocation: nil, value: node(d[$0]!)) }))
        case let a as [Any]:
            return ConfigNode(.sequence(a.map(node)))
        case let s as String:
            return ConfigNode(.scalar(s, quoted: true))
        case let n as NSNumber:
            if isBool(n) { return ConfigNode(.scalar(n.boolValue ? "true" : "false", quoted: false)) }
            return ConfigNode(.scalar(n.stringValue, quoted: false))
        case is NSNull:
            return ConfigNode(.null)
        default:
            return ConfigNode(.scalar("\(any)", quoted: false))
        }
    }
}
