import CorralCore
import CorralExecutor
import Foundation

extension ApplicationEngine {
    func summary(_ appId: String) -> DroveAPI.AppSummary? {
        guard let app = apps[appId] else { return nil }
        let running = activeInstances(appId)
        let perCPU = app.spec.resources.cpus, perMB = app.spec.resources.memoryBytes >> 20
        return DroveAPI.AppSummary(
            id: appId, name: app.spec.name, requiredInstances: app.record.instances,
            healthyInstances: running.filter { $0.state == InstanceState.HEALTHY.rawValue }.count,
            totalCPUs: perCPU * running.count, totalMemory: perMB * UInt64(running.count), tags: app.spec.tags,
            state: app.record.corral.state.rawValue, created: app.record.created, updated: app.record.updated,
            operation: app.record.corral.operation?.kind.rawValue, lastOutcome: app.record.corral.lastOutcome)
    }

    func summaries() -> [String: DroveAPI.AppSummary] {
        var out: [String: DroveAPI.AppSummary] = [:]
        for id in apps.keys { out[id] = summary(id) }
        return out
    }

    /// The spec as deployed, env values and INLINE configs' data withheld (they may be secrets).
    func spec(_ appId: String) -> JSONValue? {
        apps[appId].map { Self.redacted($0.record.spec) }
    }

    /// A stored spec with env values and INLINE configs' data withheld.
    static func redacted(_ spec: JSONValue) -> JSONValue {
        var s = spec
        if case .object(let env)? = s["env"] {
            s["env"] = .object(env.mapValues { _ in .string("<redacted>") })
        }
        if case .array(let configs)? = s["configs"] {
            s["configs"] = .array(configs.map { c in
                guard c["data"] != nil else { return c }
                var o = c
                o["data"] = .string("<redacted>")
                return o
            })
        }
        return s
    }

    func instanceList(_ appId: String) -> [DroveInstanceInfo]? {
        guard apps[appId] != nil else { return nil }
        return (instances[appId] ?? [:]).values.sorted { $0.created < $1.created }.map(\.forAPI)
    }

    func oldInstances(_ appId: String) -> [DroveInstanceInfo]? {
        guard apps[appId] != nil else { return nil }
        return (old[appId] ?? []).map(\.forAPI)
    }

    func instance(_ appId: String, _ iid: String) -> DroveInstanceInfo? {
        if let i = instances[appId]?[iid] { return i.forAPI }
        return old[appId]?.first { $0.instanceId == iid }.map(\.forAPI)
    }

    var applicationCount: (all: Int, active: Int) {
        (apps.count, apps.keys.filter { healthyCount($0) > 0 }.count)
    }

    var isReady: Bool { leading && loaded }
}
