import CorralCore
import CorralExecutor
import Foundation

/// A refused request: Drove answers `{"status":"FAILED","message":...}`, with every problem listed.
public struct OperationRefusal: Error, Sendable {
    public var status: Int
    public var problems: [String]
    public var message: String { problems.joined(separator: "; ") }
    public init(_ problems: [String], status: Int = 400) {
        self.problems = problems
        self.status = status
    }
}

extension ApplicationEngine {
    /// Reads and applies an operation (`POST /apis/v1/applications/operations`):
    /// checked whole first (the spec, the op's fields, Drove's table of which
    /// operation is valid in which state), persisted, then carried out by the
    /// app's driver. Returns the appId.
    func accept(_ body: Data) async throws(OperationRefusal) -> String {
        guard leading, loaded else { throw OperationRefusal(["this controller is not leading yet; try again"], status: 503) }
        guard !inMaintenance else { throw OperationRefusal([Self.maintenanceRefusal]) }
        let (rootNode, issue) = JSONTree.parse(body, file: "operation")
        if let issue { throw OperationRefusal([issue.message]) }
        let r = ConfigReader(file: "operation", environment: [:])
        r.stringsAreTyped = true
        guard let root = rootNode,
              let f = r.mapping(root, at: "", known: ["type", "spec", "instances", "opSpec", "appId", "instanceIds", "skipRespawn",
                                                       "requiredInstances", "stopFirst"]) else { throw refusal(r) }
        guard let tn = f["type"], let typeText = r.string(tn, at: "type") else {
            if f["type"] == nil { r.error("type", root, "an operation needs a type", allowed: ApplicationOperationKind.allCases.map(\.rawValue).joined(separator: ", ")) }
            throw refusal(r)
        }
        guard let kind = ApplicationOperationKind(json: typeText), kind != .RECOVER else {
            r.error("type", tn, value: typeText, "\"\(typeText)\" is not an application operation",
                    allowed: ApplicationOperationKind.allCases.filter { $0 != .RECOVER }.map(\.rawValue).joined(separator: ", "))
            throw refusal(r)
        }
        let defaults = ClusterOpSpec(timeoutSeconds: options.clusterOpTimeout.seconds, parallelism: options.clusterOpParallelism)
        let opSpec = ClusterOpSpec.read(f["opSpec"], r, "opSpec", defaults: defaults)
        if kind == .CREATE { return try await create(f, r, body: body, opSpec: opSpec) }

        guard let an = f["appId"], let appId = r.string(an, at: "appId", nonEmpty: true) else {
            if f["appId"] == nil { r.error("appId", root, "\(kind.rawValue) needs an appId", allowed: "an application's id, name-version") }
            throw refusal(r)
        }
        guard var app = apps[appId] else { throw OperationRefusal(["no application \(appId)"], status: 404) }
        var operation = ApplicationRecord.Operation(id: UUID().uuidString.lowercased(), kind: kind, opSpec: opSpec,
                                                    previousInstances: app.record.instances, started: Self.nowMillis())
        var expected = app.record.instances
        let active = activeInstances(appId)
        switch kind {
        case .SCALE:
            guard let n = f["requiredInstances"] else {
                r.error("requiredInstances", root, "SCALE needs requiredInstances", allowed: "0 to 2048")
                throw refusal(r)
            }
            guard let v = r.int(n, at: "requiredInstances", in: 0...2048) else { throw refusal(r) }
            expected = v
        case .START_INSTANCES:
            guard let n = f["instances"] else {
                r.error("instances", root, "START_INSTANCES needs instances", allowed: "1 to 2048")
                throw refusal(r)
            }
            guard let v = r.int(n, at: "instances", in: 1...2048) else { throw refusal(r) }
            expected = healthyCount(appId) + v
            operation.kind = .SCALE
        case .SUSPEND:
            expected = 0
            operation.kind = .SCALE
        case .STOP_INSTANCES, .REPLACE_INSTANCES:
            var ids: [String] = []
            if let n = f["instanceIds"], let list = r.stringList(n, at: "instanceIds") { ids = list }
            if kind == .STOP_INSTANCES && ids.isEmpty && f["instanceIds"] != nil {
                r.error("instanceIds", f["instanceIds"]!, "STOP_INSTANCES needs at least one instance id", allowed: "ids of the app's instances")
            } else if kind == .STOP_INSTANCES && f["instanceIds"] == nil {
                r.error("instanceIds", root, "STOP_INSTANCES needs instanceIds", allowed: "ids of the app's instances")
            }
            let known = Set(active.map(\.instanceId))
            let unknown = ids.filter { !known.contains($0) }
            if !unknown.isEmpty {
                r.error("instanceIds", f["instanceIds"]!, value: unknown.joined(separator: ","), "\(unknown.joined(separator: ", ")) \(unknown.count == 1 ? "is not a running instance" : "are not running instances") of \(appId)",
                        allowed: known.isEmpty ? "none: the app has no running instance" : known.sorted().joined(separator: ", "))
            }
            if kind == .REPLACE_INSTANCES && ids.isEmpty { ids = active.filter { $0.state == InstanceState.HEALTHY.rawValue }.map(\.instanceId).sorted() }
            operation.instanceIds = ids
            if kind == .STOP_INSTANCES {
                let skip = f["skipRespawn"].flatMap { r.bool($0, at: "skipRespawn") } ?? false
                operation.skipRespawn = skip
                if skip { expected = max(0, expected - ids.count) }
            } else {
                operation.stopFirst = f["stopFirst"].flatMap { r.bool($0, at: "stopFirst") } ?? false
                operation.done = []
            }
        case .DESTROY:
            if !active.isEmpty { r.error("appId", an, value: appId, "\(appId) still has \(active.count) instance\(active.count == 1 ? "" : "s"); suspend it first", allowed: "an app with no instances") }
        case .CREATE, .RECOVER: break
        }
        if r.hasErrors { throw refusal(r) }
        let state = app.record.corral.state
        guard state.allowedOperations.contains(kind) else {
            throw OperationRefusal(["\(kind.rawValue) is not allowed while \(appId) is \(state.rawValue)"
                                    + (state.allowedOperations.isEmpty ? " (wait for the current operation, or cancel it)" : "; allowed: \(state.allowedOperations.map(\.rawValue).sorted().joined(separator: ", "))")])
        }
        if app.unrecoverable != nil && [.SCALE, .START_INSTANCES, .REPLACE_INSTANCES].contains(kind) && expected > 0 {
            throw OperationRefusal(["\(appId) cannot start instances: \(app.unrecoverable!); create it again under a new version"])
        }
        operation.requiredInstances = expected
        app.record.instances = expected
        app.record.corral.operation = operation
        app.record.corral.state = ApplicationState.during(operation.kind) ?? state
        app.record.updated = Self.nowMillis()
        try await save(&app)
        app.cancelRequested = false
        apps[appId] = app
        startDriver(appId)
        return appId
    }

    func refusal(_ r: ConfigReader) -> OperationRefusal {
        OperationRefusal(r.issues.filter { $0.severity == .error }.map { i in
            (i.path.isEmpty ? "" : "\(i.path): ") + i.message + (i.allowed.map { " (allowed: \($0))" } ?? "")
        })
    }

    func create(_ f: Fields, _ r: ConfigReader, body: Data, opSpec: ClusterOpSpec) async throws(OperationRefusal) -> String {
        guard let sn = f["spec"] else {
            r.error("spec", f.node, "CREATE needs a spec", allowed: "an ApplicationSpec")
            throw refusal(r)
        }
        var instances = 0
        if let n = f["instances"], let v = r.int(n, at: "instances", in: 0...2048) { instances = v }
        guard let whole = try? JSONValue.parse(body), let specValue = whole["spec"] else { throw OperationRefusal(["spec: not a JSON object"]) }
        let specData = specValue.data()
        guard let spec = DroveApplicationSpec.read(sn, r, "spec", json: specData, allowedMountDirs: options.allowedMountDirs), !r.hasErrors else {
            throw refusal(r)
        }
        if apps[spec.appId] != nil { throw OperationRefusal(["application \(spec.appId) exists; a spec is immutable: create \(spec.name) under a new version"], status: 409) }
        let stored: JSONValue
        do throws(SecretError) { stored = try sealed(specValue) { Self.envContext(spec.appId, $0) } } catch { throw OperationRefusal(["cannot seal the spec's env values: \(error.message)"], status: 500) }
        let now = Self.nowMillis()
        var record = ApplicationRecord(appId: spec.appId, spec: stored, instances: instances, created: now, updated: now,
                                       corral: .init(state: .settled(expecting: 0), operation: nil))
        if instances > 0 {
            record.corral.operation = .init(id: UUID().uuidString.lowercased(), kind: .SCALE, opSpec: opSpec, requiredInstances: instances,
                                            previousInstances: 0, started: now)
            record.corral.state = .SCALING_REQUESTED
        }
        guard let fence = await leadership.fence() else { throw OperationRefusal(["this controller is no longer the leader"], status: 503) }
        do throws(ClusterStore.StoreError) { _ = try await store.create(record, fence: fence) } catch {
            throw OperationRefusal([error.code == .exists ? "application \(spec.appId) exists" : error.message], status: error.code == .exists ? 409 : 503)
        }
        apps[spec.appId] = App(record: record, version: 0, spec: spec, openSpec: specValue)
        recordAppEvent(apps[spec.appId]!)
        instances[spec.appId] = instances[spec.appId] ?? [:]
        // Instances of this appId that executors still run (the cluster's
        // state was lost while they ran) are adopted, not started again.
        for d in executors.values { for info in d.instances where info.appId == spec.appId { update(info) } }
        logger.info("application created", metadata: ["appId": "\(spec.appId)", "instances": "\(instances)"])
        if record.corral.operation != nil { startDriver(spec.appId) }
        return spec.appId
    }

    /// Writes the app's record at its version (a deposed leader or a lost race fails).
    func save(_ app: inout App) async throws(OperationRefusal) {
        guard let fence = await leadership.fence() else { throw OperationRefusal(["this controller is no longer the leader"], status: 503) }
        do throws(ClusterStore.StoreError) {
            app.version = try await store.update(app.record, version: app.version, fence: fence)
        } catch {
            throw OperationRefusal([error.message], status: 503)
        }
        if apps[app.record.appId]?.record.corral.state != app.record.corral.state { recordAppEvent(app) }
    }

    /// Cancels the app's current operation (`POST /applications/operations/{appId}/cancel`).
    func cancel(_ appId: String) throws(OperationRefusal) {
        guard apps[appId] != nil else { throw OperationRefusal(["no application \(appId)"], status: 404) }
        guard apps[appId]?.record.corral.operation != nil else { throw OperationRefusal(["\(appId) has no operation running"]) }
        apps[appId]?.cancelRequested = true
        notifyChange()
    }

    // MARK: Counting

    /// Instances that run or are on their way (not stopping, not ended).
    func activeInstances(_ appId: String) -> [DroveInstanceInfo] {
        (instances[appId] ?? [:]).values.filter { i in
            guard let s = InstanceState(rawValue: i.state) else { return false }
            return !s.isTerminal && !s.isStopping && !stopping.contains(i.instanceId) && !s.isFailure
        }
    }

    func healthyCount(_ appId: String) -> Int {
        activeInstances(appId).filter { $0.state == InstanceState.HEALTHY.rawValue }.count
    }
}
