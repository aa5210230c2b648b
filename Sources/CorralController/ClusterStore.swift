import CorralCore
import CorralExecutor
import Foundation
import ZooKeeperClient

/// The cluster's state in ZooKeeper, written only by the leader and only
/// through `multi` transactions fenced by its latch node (a deposed leader's
/// write fails) and, for applications, by the node's version (two writers
/// can never both win).
public struct ClusterStore: Sendable {
    public enum ErrorCode: String, Sendable {
        /// The write lost: not the leader any more, or someone wrote first.
        case fenced, exists, missing, corrupt, unavailable
    }
    public typealias StoreError = CodedError<ErrorCode>

    public let zk: ZooKeeperClient
    public let paths: ControllerPaths
    /// The ACL of every state node (Corral's digest identity only); open when nil.
    public let acl: [ACL]

    public init(zk: ZooKeeperClient, paths: ControllerPaths, acl: [ACL]? = nil) {
        self.zk = zk
        self.paths = paths
        self.acl = acl ?? ACL.openUnsafe
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] { Array((try? ControllerJSON.encoder.encode(value)) ?? Data()) }

    public func prepare() async throws {
        try await zk.ensurePath(paths.executors)
        try await zk.ensurePath(paths.controllers)
        // The state directories are Corral's alone (their names list the apps).
        for p in [paths.applications, paths.instances, paths.tasks, paths.cluster, paths.localServices, paths.localServiceInstances] {
            do { _ = try await zk.create(p, acl: acl, createParents: true) } catch let e as ZooKeeperError where e.code == .nodeExists {}
        }
    }

    /// Every application record with its node version; one that cannot be read is reported, not dropped silently.
    public func loadApplications() async throws -> (records: [(ApplicationRecord, Int32)], unreadable: [String]) {
        let names = try await zk.getChildren(paths.applications).children
        var out: [(ApplicationRecord, Int32)] = [], bad: [String] = []
        for name in names.sorted() {
            guard let (data, stat) = try? await zk.getData(paths.application(name)) else { continue }
            if let r = try? ControllerJSON.decoder.decode(ApplicationRecord.self, from: Data(data)) { out.append((r, stat.version)) } else { bad.append(name) }
        }
        return (out, bad)
    }

    /// Instance records of one app.
    public func loadInstances(_ appId: String) async throws -> [DroveInstanceInfo] {
        let names: [String]
        do { names = try await zk.getChildren(paths.instances(of: appId)).children } catch let e as ZooKeeperError where e.code == .noNode { return [] }
        var out: [DroveInstanceInfo] = []
        for name in names {
            guard let (data, _) = try? await zk.getData(paths.instance(appId, name)),
                  let info = try? ControllerJSON.decoder.decode(DroveInstanceInfo.self, from: Data(data)) else { continue }
            out.append(info)
        }
        return out
    }

    func run(_ ops: [ZooKeeperOperation], fence: String) async throws(StoreError) -> [ZooKeeperOperationResult] {
        do {
            return try await zk.multi([.check(fence, version: 0)] + ops)
        } catch let e as ZooKeeperError {
            switch e.code {
            case .noNode where e.path == fence: throw StoreError(.fenced, "this controller is no longer the leader")
            case .badVersion: throw StoreError(.fenced, "another write came first (\(e.path ?? "?"))")
            case .nodeExists: throw StoreError(.exists, "\(e.path ?? "the node") exists")
            case .noNode: throw StoreError(.missing, "\(e.path ?? "the node") does not exist")
            default: throw StoreError(.unavailable, "ZooKeeper: \(e)")
            }
        } catch {
            throw StoreError(.unavailable, "ZooKeeper: \(error)")
        }
    }

    /// Creates an application (fails if the appId exists); returns its version.
    public func create(_ record: ApplicationRecord, fence: String) async throws(StoreError) -> Int32 {
        _ = try await run([.create(paths.application(record.appId), data: Self.encode(record), acl: acl),
                           .create(paths.instances(of: record.appId), acl: acl)], fence: fence)
        return 0
    }

    /// Rewrites an application if it is still at `version`; returns the new version.
    public func update(_ record: ApplicationRecord, version: Int32, fence: String) async throws(StoreError) -> Int32 {
        let results = try await run([.setData(paths.application(record.appId), data: Self.encode(record), version: version)], fence: fence)
        for r in results { if case .dataSet(let stat) = r { return stat.version } }
        return version + 1
    }

    /// Deletes an application and its instance records.
    public func delete(appId: String, version: Int32, fence: String) async throws(StoreError) {
        let children = (try? await zk.getChildren(paths.instances(of: appId)).children) ?? []
        var ops: [ZooKeeperOperation] = children.map { .delete(paths.instance(appId, $0)) }
        if (try? await zk.exists(paths.instances(of: appId))) != nil { ops.append(.delete(paths.instances(of: appId))) }
        ops.append(.delete(paths.application(appId), version: version))
        _ = try await run(ops, fence: fence)
    }

    /// Writes an instance record (created when new).
    public func put(_ info: DroveInstanceInfo, fence: String) async throws(StoreError) {
        let path = paths.instance(info.appId, info.instanceId)
        let data = Self.encode(info)
        do {
            _ = try await run([.setData(path, data: data)], fence: fence)
        } catch where error.code == .missing {
            _ = try await run([.create(path, data: data, acl: acl)], fence: fence)
        }
    }

    public func remove(appId: String, instanceId: String, fence: String) async throws(StoreError) {
        do { _ = try await run([.delete(paths.instance(appId, instanceId))], fence: fence) } catch where error.code == .missing {}
    }

    // MARK: Cluster state

    /// The cluster's maintenance state as last set (nil: never set, NORMAL).
    public func clusterState() async throws -> ClusterStateData? {
        do {
            let (data, _) = try await zk.getData(paths.clusterState)
            return try? ControllerJSON.decoder.decode(ClusterStateData.self, from: Data(data))
        } catch let e as ZooKeeperError where e.code == .noNode { return nil }
    }

    public func setClusterState(_ state: ClusterStateData, fence: String) async throws(StoreError) {
        let data = Self.encode(state)
        do {
            _ = try await run([.setData(paths.clusterState, data: data)], fence: fence)
        } catch where error.code == .missing {
            _ = try await run([.create(paths.clusterState, data: data, acl: acl)], fence: fence)
        }
    }

    // MARK: Local services

    public func loadLocalServices() async throws -> (records: [(LocalServiceRecord, Int32)], unreadable: [String]) {
        let names = try await zk.getChildren(paths.localServices).children
        var out: [(LocalServiceRecord, Int32)] = [], bad: [String] = []
        for name in names.sorted() {
            guard let (data, stat) = try? await zk.getData(paths.localService(name)) else { continue }
            if let r = try? ControllerJSON.decoder.decode(LocalServiceRecord.self, from: Data(data)) { out.append((r, stat.version)) } else { bad.append(name) }
        }
        return (out, bad)
    }

    public func loadServiceInstances(_ serviceId: String) async throws -> [DroveLocalServiceInstanceInfo] {
        let names: [String]
        do { names = try await zk.getChildren(paths.localServiceInstances(of: serviceId)).children } catch let e as ZooKeeperError where e.code == .noNode { return [] }
        var out: [DroveLocalServiceInstanceInfo] = []
        for name in names {
            guard let (data, _) = try? await zk.getData(paths.localServiceInstance(serviceId, name)),
                  let info = try? ControllerJSON.decoder.decode(DroveLocalServiceInstanceInfo.self, from: Data(data)) else { continue }
            out.append(info)
        }
        return out
    }

    public func create(service r: LocalServiceRecord, fence: String) async throws(StoreError) {
        _ = try await run([.create(paths.localService(r.serviceId), data: Self.encode(r), acl: acl),
                           .create(paths.localServiceInstances(of: r.serviceId), acl: acl)], fence: fence)
    }

    public func update(service r: LocalServiceRecord, version: Int32, fence: String) async throws(StoreError) -> Int32 {
        let results = try await run([.setData(paths.localService(r.serviceId), data: Self.encode(r), version: version)], fence: fence)
        for x in results { if case .dataSet(let stat) = x { return stat.version } }
        return version + 1
    }

    public func delete(service id: String, version: Int32, fence: String) async throws(StoreError) {
        let children = (try? await zk.getChildren(paths.localServiceInstances(of: id)).children) ?? []
        var ops: [ZooKeeperOperation] = children.map { .delete(paths.localServiceInstance(id, $0)) }
        if (try? await zk.exists(paths.localServiceInstances(of: id))) != nil { ops.append(.delete(paths.localServiceInstances(of: id))) }
        ops.append(.delete(paths.localService(id), version: version))
        _ = try await run(ops, fence: fence)
    }

    public func put(serviceInstance info: DroveLocalServiceInstanceInfo, fence: String) async throws(StoreError) {
        let path = paths.localServiceInstance(info.serviceId, info.instanceId)
        let data = Self.encode(info)
        do {
            _ = try await run([.setData(path, data: data)], fence: fence)
        } catch where error.code == .missing {
            _ = try await run([.create(path, data: data, acl: acl)], fence: fence)
        }
    }

    public func remove(serviceInstance serviceId: String, _ instanceId: String, fence: String) async throws(StoreError) {
        do { _ = try await run([.delete(paths.localServiceInstance(serviceId, instanceId))], fence: fence) } catch where error.code == .missing {}
    }

    // MARK: Tasks

    /// A task's record with its spec (env sealed): `/<ns>/tasks/<sourceApp>/<taskId>`.
    public struct TaskRecord: Codable, Sendable {
        public var info: DroveTaskInfo
        public var spec: JSONValue
    }

    public func loadTasks() async throws -> [TaskRecord] {
        var out: [TaskRecord] = []
        for app in (try? await zk.getChildren(paths.tasks).children) ?? [] {
            for id in (try? await zk.getChildren(paths.tasks(of: app)).children) ?? [] {
                guard let (data, _) = try? await zk.getData(paths.task(app, id)),
                      let r = try? ControllerJSON.decoder.decode(TaskRecord.self, from: Data(data)) else { continue }
                out.append(r)
            }
        }
        return out
    }

    /// Creates a task's record; fails (exists) when the source app already has a task of that id.
    public func create(task: TaskRecord, fence: String) async throws(StoreError) {
        let dir = paths.tasks(of: task.info.sourceAppName)
        if (try? await zk.exists(dir)) == nil {
            do { _ = try await run([.create(dir, acl: acl)], fence: fence) } catch where error.code == .exists {}
        }
        _ = try await run([.create(paths.task(task.info.sourceAppName, task.info.taskId), data: Self.encode(task), acl: acl)], fence: fence)
    }

    public func put(task: TaskRecord, fence: String) async throws(StoreError) {
        _ = try await run([.setData(paths.task(task.info.sourceAppName, task.info.taskId), data: Self.encode(task))], fence: fence)
    }

    public func remove(task sourceAppName: String, _ taskId: String, fence: String) async throws(StoreError) {
        do { _ = try await run([.delete(paths.task(sourceAppName, taskId))], fence: fence) } catch where error.code == .missing {}
    }
}
