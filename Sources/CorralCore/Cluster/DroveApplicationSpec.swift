import Foundation

/// Drove's `ApplicationSpec` as a controller receives it (drove-cli's
/// `sample/test_app.json`): checked whole, every problem named with its
/// field, and kept as the JSON that was sent (the spec is immutable; the
/// controller echoes it and hands its instance part to executors).
public struct DroveApplicationSpec: Sendable {
    public enum AppType: String, Sendable, CaseIterable { case SERVICE, COMPUTATION, LOCAL_SERVICE }

    public var name: String
    public var version: String
    public var appId: String { "\(name)-\(version)" }
    public var type: AppType
    public var resources: AllocationRequest
    public var placementPolicy: PlacementPolicy
    public var tags: [String: String]
    /// The spec as sent (JSON object).
    public var json: Data

    public static let keys = ["name", "version", "executable", "exposedPorts", "volumes", "configs", "type", "logging",
                              "resources", "placementPolicy", "healthcheck", "readiness", "tags", "env", "args", "devices",
                              "exposureSpec", "preShutdown", "userSpec"]
    /// The fields of an application spec that become the instance spec an executor runs.
    static let instanceFields = ["executable", "volumes", "configs", "env", "args", "readiness", "healthcheck", "preShutdown"]

    /// Reads a spec node; `allowedMountDirs` bounds `volumes[].pathOnHost` (empty allows none).
    /// `localService`: Drove's `LocalServiceSpec` (type LOCAL_SERVICE, placement LOCAL allowed).
    public static func read(_ node: ConfigNode, _ r: ConfigReader, _ path: String, json: Data,
                            allowedMountDirs: [String], localService: Bool = false) -> DroveApplicationSpec? {
        guard let f = r.mapping(node, at: path, known: keys) else { return nil }
        let name = identifier(f, "name", r)
        let version = identifier(f, "version", r)
        var type = localService ? AppType.LOCAL_SERVICE : AppType.SERVICE
        if let n = f["type"] {
            if localService {
                if let s = r.string(n, at: f.path("type")), s.uppercased() != "LOCAL_SERVICE" && s.uppercased() != "SERVICE" {
                    r.error(f.path("type"), n, value: s, "a local service's type is LOCAL_SERVICE", allowed: "LOCAL_SERVICE")
                }
            } else if let s = r.string(n, at: f.path("type")), s.uppercased() == "LOCAL_SERVICE" {
                r.error(f.path("type"), n, value: s, "a LOCAL_SERVICE is deployed with the localservices API, not as an application",
                        allowed: "SERVICE, COMPUTATION")
            } else if let v = r.choice(n, at: f.path("type"), as: AppType.self) { type = v }
        }
        if f["executable"] == nil {
            r.error(f.path("executable"), node, "an application needs an executable", allowed: "{\"type\": \"DOCKER\", \"url\": \"image:tag\"}")
        }
        var policy = PlacementPolicy.any
        if let n = f["placementPolicy"], let p = PlacementPolicy.read(n, r, f.path("placementPolicy")) {
            if case .local = p, !localService {
                r.error(f.path("placementPolicy.type"), n, value: "LOCAL", "LOCAL placement is for local services only",
                        allowed: "ANY, ONE_PER_HOST, MAX_N_PER_HOST, MATCH_TAG, NO_TAG, COMPOSITE, RULE_BASED")
            } else { policy = p }
        }
        var tags: [String: String] = [:]
        if let n = f["tags"], let m = r.stringMap(n, at: f.path("tags")) { tags = m }
        checkHostPaths(f, r, allowedMountDirs: allowedMountDirs)
        if let n = f["args"], let items = r.sequence(n, at: f.path("args")), items.count > 2048 {
            r.error(f.path("args"), n, value: String(items.count), "at most 2048 args", allowed: "0 to 2048 items")
        }
        // The instance part is checked by the executor's own spec reader, so
        // what is accepted here is what every executor runs.
        var resources = AllocationRequest(cpus: 1)
        if let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] {
            var instance: [String: Any] = ["appId": "\(name ?? "x")-\(version ?? "1")", "appName": name ?? "x"]
            for k in instanceFields { instance[k] = object[k] }
            if let ports = object["exposedPorts"] { instance["exposedPorts"] = ports }
            if let user = object["userSpec"] { instance["user"] = user }
            instance["resources"] = object["resources"] ?? []
            if let data = try? JSONSerialization.data(withJSONObject: instance) {
                do {
                    let spec = try InstanceSpec.parse(json: data)
                    resources = AllocationRequest(cpus: spec.resources.cpus, memoryBytes: spec.resources.memoryBytes, gpus: spec.resources.gpus)
                } catch {
                    merge(error.issues, into: r, under: path)
                }
            }
        }
        if f["resources"] == nil {
            r.error(f.path("resources"), node, "an application needs resources",
                    allowed: "[{\"type\": \"CPU\", \"count\": 1}, {\"type\": \"MEMORY\", \"sizeInMB\": 128}]")
        }
        guard let name, let version, !r.hasErrors else { return nil }
        return DroveApplicationSpec(name: name, version: version, type: type, resources: resources,
                                    placementPolicy: policy, tags: tags, json: json)
    }

    /// The executor reader's problems, named by the fields of the spec that was sent.
    static func merge(_ issues: [ConfigIssue], into r: ConfigReader, under path: String) {
        for issue in issues where issue.severity == .error {
            var i = issue
            i.file = r.file
            let p = issue.path == "user" ? "userSpec" : issue.path
            i.path = path.isEmpty ? p : "\(path).\(p)"
            r.append([i])
        }
    }

    /// `volumes[].pathOnHost` and EXECUTOR_LOCAL_FILE configs' `filePathOnHost`
    /// must lie under an allowed directory: a spec reads nothing else of an executor's host.
    static func checkHostPaths(_ f: Fields, _ r: ConfigReader, allowedMountDirs: [String]) {
        for (list, key, what) in [("volumes", "pathOnHost", "mounted"), ("configs", "filePathOnHost", "read into a config file")] {
            guard let n = f[list], let items = r.sequence(n, at: f.path(list)) else { continue }
            for (i, item) in items.enumerated() {
                guard case .mapping(let entries) = item.value,
                      let e = entries.first(where: { $0.key == key }),
                      let host = r.string(e.value, at: "\(f.path(list))[\(i)].\(key)") else { continue }
                let clean = (host as NSString).standardizingPath
                let ok = allowedMountDirs.contains { dir in clean == dir || clean.hasPrefix(dir == "/" ? "/" : dir + "/") }
                if !ok {
                    r.error("\(f.path(list))[\(i)].\(key)", e.value, value: host,
                            "\(host) is not under a directory the controller allows to be \(what)",
                            allowed: allowedMountDirs.isEmpty ? "none: set options.allowedMountDirs in the controller config" : allowedMountDirs.joined(separator: ", "))
                }
            }
        }
    }

    static func identifier(_ f: Fields, _ key: String, _ r: ConfigReader) -> String? {
        guard let n = f[key] else {
            r.error(f.path(key), f.node, "an application needs a \(key)", allowed: "letters, digits, - and _")
            return nil
        }
        guard let s = r.string(n, at: f.path(key), nonEmpty: true) else { return nil }
        guard s.utf8.count <= 255, s.unicodeScalars.allSatisfy({ $0.value < 128 && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }) else {
            r.error(f.path(key), n, value: s, "\(key) \"\(s)\" may hold only letters, digits, - and _", allowed: "[a-zA-Z0-9_-]{1,255}")
            return nil
        }
        return s
    }
}
