import CorralCore
import Foundation

/// Reads the specs Drove's controller sends (`ApplicationInstanceSpec`,
/// `TaskInstanceSpec`, `cmn/model/*.java`) into Corral's specs: the resource
/// allocations the controller chose become the exact ``Allocation`` to
/// honour (and the request), `ports` become `exposedPorts`, `userSpec`
/// becomes `user`; what Corral does not run (devices, loggingSpec)
/// is set aside. The result goes through the same spec reader as the
/// executor's own API, so every problem is named with its field.
public enum DroveSpecTranslator {
    public struct Translated: Sendable {
        /// Corral's spec JSON.
        public var spec: Data
        /// The exact resources named, nil when the spec names none (the executor places it).
        public var exact: Allocation?
        public var instanceId: String?
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    static let applicationSetAside = ["devices", "loggingSpec", "instanceAuthToken"]
    static let taskSetAside = ["devices", "loggingSpec", "instanceId"]

    /// An application instance spec.
    public static func application(_ spec: [String: Any], pinned: Bool) throws(Failure) -> Translated {
        var out = spec
        for k in applicationSetAside { out[k] = nil }
        if let ports = out.removeValue(forKey: "ports") { out["exposedPorts"] = ports }
        if let user = out.removeValue(forKey: "userSpec") { out["user"] = user }
        let exact = try resources(&out, id: spec["instanceId"] as? String ?? "", pinned: pinned)
        return Translated(spec: try data(out), exact: exact, instanceId: spec["instanceId"] as? String)
    }

    /// The tag that marks an instance started as a Drove local service instance.
    public static let localServiceTag = "drove:local-service"

    /// A local service instance spec (`LocalServiceInstanceSpec`): run as an
    /// application instance whose appId is the serviceId, tagged as a local
    /// service so it is published and reported as one. A host-level one
    /// (`hostLevelInstance: true`) binds each port on the host at its own
    /// number.
    public static func localService(_ spec: [String: Any], pinned: Bool) throws(Failure) -> Translated {
        var out = spec
        if spec["hostLevelInstance"] as? Bool != true { out["hostLevelInstance"] = nil }
        if let id = out.removeValue(forKey: "serviceId") { out["appId"] = id }
        if let name = out.removeValue(forKey: "serviceName") { out["appName"] = name }
        out["tags"] = ((out["tags"] as? [String]) ?? []) + [localServiceTag]
        return try application(out, pinned: pinned)
    }

    /// A task instance spec.
    public static func task(_ spec: [String: Any], pinned: Bool) throws(Failure) -> Translated {
        var out = spec
        for k in taskSetAside { out[k] = nil }
        if let user = out.removeValue(forKey: "userSpec") { out["user"] = user }
        let exact = try resources(&out, id: spec["instanceId"] as? String ?? "", pinned: pinned)
        return Translated(spec: try data(out), exact: exact, instanceId: spec["instanceId"] as? String)
    }

    static func data(_ object: [String: Any]) throws(Failure) -> Data {
        do { return try JSONSerialization.data(withJSONObject: object) } catch {
            throw Failure(description: "the spec cannot be re-encoded: \(error.localizedDescription)")
        }
    }

    /// Allocations (`cores` by NUMA node, `memoryInMB` by node, and Corral's
    /// `gpus` ids on a GPU item) become the request and the exact allocation; a request already in Corral's form
    /// (`count`, `sizeInMB`) is left for the executor to place.
    static func resources(_ spec: inout [String: Any], id: String, pinned: Bool) throws(Failure) -> Allocation? {
        guard let items = spec["resources"] as? [[String: Any]] else { return nil }
        var cpus = CPUSet(), nodes = Set<Int>(), memory: [Int: UInt64] = [:], named = false, gpus: [Int] = []
        var request: [[String: Any]] = []
        for (i, item) in items.enumerated() {
            let type = (item["type"] as? String)?.uppercased()
            if type == "CPU", let cores = item["cores"] as? [String: Any] {
                named = true
                for (node, list) in cores {
                    guard let n = Int(node), let ids = list as? [Int] else {
                        throw Failure(description: "resources[\(i)].cores: \"\(node)\" must map a NUMA node id to a list of core ids")
                    }
                    nodes.insert(n)
                    for c in ids { cpus.insert(c) }
                }
                request.append(["type": "CPU", "count": cpus.count])
            } else if type == "MEMORY", let byNode = item["memoryInMB"] as? [String: Any] {
                named = true
                var total: UInt64 = 0
                for (node, value) in byNode {
                    guard let n = Int(node), let mb = (value as? NSNumber)?.int64Value, mb >= 0 else {
                        throw Failure(description: "resources[\(i)].memoryInMB: \"\(node)\" must map a NUMA node id to MB")
                    }
                    memory[n] = UInt64(mb) << 20
                    total += UInt64(mb)
                }
                request.append(["type": "MEMORY", "sizeInMB": total])
            } else if type == "GPU", let ids = item["gpus"] {
                // Corral's controller names the GPUs it chose (on the NUMA node of the cores).
                guard let list = ids as? [Int], Set(list).count == list.count else {
                    throw Failure(description: "resources[\(i)].gpus: must list distinct GPU ids")
                }
                gpus = list.sorted()
                request.append(["type": "GPU", "count": item["count"] ?? list.count])
            } else {
                request.append(item)
            }
        }
        guard named else { return nil }
        spec["resources"] = request
        let totalMemory = memory.values.reduce(0, +)
        return Allocation(id: id, cpus: pinned ? cpus : CPUSet(), cpuCount: cpus.count, requestedCPUs: cpus.count,
                          numaNodes: pinned ? nodes.sorted() : [], memoryBytes: totalMemory,
                          memoryByNode: pinned ? memory : [:], gpus: gpus, pinned: pinned)
    }
}
