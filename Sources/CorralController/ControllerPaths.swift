import ZooKeeperClient

/// Where the cluster's state lives in ZooKeeper: Drove's layout under the
/// namespace (`/drove` by default), named once.
public struct ControllerPaths: Sendable {
    public let base: String
    public init(namespace: String) { base = "/" + namespace }

    public var executors: String { base + "/executor" }
    public var controllers: String { base + "/controller" }
    /// The leader latch's participants (Drove's `/leaderselection`).
    public var leaderSelection: String { base + "/leaderselection" }
    public var applications: String { base + "/applications" }
    public var instances: String { base + "/instances" }
    public var tasks: String { base + "/tasks" }
    public var cluster: String { base + "/cluster" }
    public var localServices: String { base + "/localservices" }
    public var localServiceInstances: String { base + "/localserviceinstances" }
    public func localService(_ id: String) -> String { ZooKeeperPath.join(localServices, id) }
    public func localServiceInstances(of id: String) -> String { ZooKeeperPath.join(localServiceInstances, id) }
    public func localServiceInstance(_ id: String, _ instanceId: String) -> String { ZooKeeperPath.join(localServiceInstances(of: id), instanceId) }
    /// Maintenance mode (Drove's `ClusterStateData`).
    public var clusterState: String { cluster + "/maintenance" }

    public func application(_ appId: String) -> String { ZooKeeperPath.join(applications, appId) }
    public func instances(of appId: String) -> String { ZooKeeperPath.join(instances, appId) }
    public func instance(_ appId: String, _ instanceId: String) -> String { ZooKeeperPath.join(instances(of: appId), instanceId) }
    public func tasks(of sourceAppName: String) -> String { ZooKeeperPath.join(tasks, sourceAppName) }
    public func task(_ sourceAppName: String, _ taskId: String) -> String { ZooKeeperPath.join(tasks(of: sourceAppName), taskId) }
    public func controller(_ name: String) -> String { ZooKeeperPath.join(controllers, name) }
}
