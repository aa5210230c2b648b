import CorralCore
import CorralRuntime

/// Drove's `InstanceInfo` (`mdl/instance/InstanceInfo.java`), as an executor
/// publishes it in its node data and reports it to the leader. Times are
/// epoch milliseconds.
public struct DroveInstanceInfo: Codable, Sendable, Hashable {
    public struct Port: Codable, Sendable, Hashable {
        public var containerPort: Int
        public var hostPort: Int
        public var portType: String
    }

    public struct LocalInfo: Codable, Sendable, Hashable {
        public var hostname: String
        public var ports: [String: Port]
        public init(hostname: String, ports: [String: Port]) {
            self.hostname = hostname
            self.ports = ports
        }
    }

    public var appId: String
    public var appName: String
    public var instanceId: String
    public var executorId: String
    public var localInfo: LocalInfo
    public var resources: [DroveResources.Allocation]
    public var state: String
    public var metadata: [String: String]
    public var errorMessage: String?
    public var created: Int64
    public var updated: Int64

    static func millis(_ seconds: Double) -> Int64 { Int64((seconds * 1000).rounded()) }

    public init(appId: String, appName: String, instanceId: String, executorId: String, localInfo: LocalInfo,
                resources: [DroveResources.Allocation], state: String, metadata: [String: String] = [:],
                errorMessage: String? = nil, created: Int64, updated: Int64) {
        self.appId = appId
        self.appName = appName
        self.instanceId = instanceId
        self.executorId = executorId
        self.localInfo = localInfo
        self.resources = resources
        self.state = state
        self.metadata = metadata
        self.errorMessage = errorMessage
        self.created = created
        self.updated = updated
    }

    public init(_ info: InstanceInfo, spec: InstanceSpec?, executorId: String, hostname: String, resources: EffectiveResources) {
        appId = info.appId
        appName = spec?.appName ?? info.appId
        instanceId = info.instanceId
        self.executorId = executorId
        var ports: [String: Port] = [:]
        for (name, host) in info.ports {
            let declared = spec?.exposedPorts.first { $0.name == name }
            ports[name] = Port(containerPort: declared?.port ?? host, hostPort: host, portType: declared?.type.rawValue ?? "HTTP")
        }
        localInfo = LocalInfo(hostname: hostname, ports: ports)
        self.resources = info.allocation.map { DroveResources.allocations($0, resources: resources) } ?? []
        state = info.state.name
        metadata = [:]
        errorMessage = info.lastError ?? ""
        created = Self.millis(info.created)
        updated = Self.millis(info.updated)
    }
}

/// Drove's `TaskInfo` (`mdl/taskinstance/TaskInfo.java`). The task's
/// environment is left out: its values may be secrets and ZooKeeper is
/// readable by every cluster node (Drove publishes them).
public struct DroveTaskInfo: Codable, Sendable, Hashable {
    public struct Executable: Codable, Sendable, Hashable {
        public var type: String
        public var url: String
        public init(type: String, url: String) {
            self.type = type
            self.url = url
        }
    }

    public struct Result: Codable, Sendable, Hashable {
        public var status: String
        public var exitCode: Int64
        public init(status: String, exitCode: Int64) {
            self.status = status
            self.exitCode = exitCode
        }
    }

    public var sourceAppName: String
    public var taskId: String
    public var instanceId: String
    public var executorId: String
    public var hostname: String
    public var executable: Executable?
    public var resources: [DroveResources.Allocation]
    public var state: String
    public var metadata: [String: String]
    public var taskResult: Result?
    public var errorMessage: String?
    public var created: Int64
    public var updated: Int64

    public init(sourceAppName: String, taskId: String, instanceId: String, executorId: String, hostname: String,
                executable: Executable?, resources: [DroveResources.Allocation], state: String, metadata: [String: String] = [:],
                taskResult: Result? = nil, errorMessage: String? = nil, created: Int64, updated: Int64) {
        self.sourceAppName = sourceAppName
        self.taskId = taskId
        self.instanceId = instanceId
        self.executorId = executorId
        self.hostname = hostname
        self.executable = executable
        self.resources = resources
        self.state = state
        self.metadata = metadata
        self.taskResult = taskResult
        self.errorMessage = errorMessage
        self.created = created
        self.updated = updated
    }

    public init(_ info: InstanceInfo, spec: TaskSpec?, executorId: String, hostname: String, resources: EffectiveResources) {
        sourceAppName = spec?.sourceAppName ?? info.appId
        taskId = info.taskId ?? spec?.taskId ?? info.instanceId
        instanceId = info.instanceId
        self.executorId = executorId
        self.hostname = hostname
        executable = spec.map { spec in
            switch spec.executable {
            case .docker(let image, _): Executable(type: "DOCKER", url: image)
            case .process(let command, _): Executable(type: "PROCESS", url: command.first ?? "")
            }
        }
        self.resources = info.allocation.map { DroveResources.allocations($0, resources: resources) } ?? []
        state = info.state.name
        metadata = [:]
        errorMessage = info.lastError ?? ""
        if info.state.isTerminal {
            let status: String = switch info.state {
            case .task(.STOPPED) where info.exitCode == 0: "SUCCESSFUL"
            case .task(.LOST): "LOST"
            default: [TaskSupervisor.cancelledReason, TaskSupervisor.cancelledBeforeStartReason].contains(info.lastError ?? "") ? "CANCELLED" : "FAILED"
            }
            taskResult = Result(status: status, exitCode: Int64(info.exitCode ?? -1))
        }
        created = DroveInstanceInfo.millis(info.created)
        updated = DroveInstanceInfo.millis(info.updated)
    }
}

/// Drove's `LocalServiceInstanceInfo` (`mdl/localservice/`): an instance of a
/// local service, named by its service.
public struct DroveLocalServiceInstanceInfo: Codable, Sendable, Hashable {
    public var serviceId: String
    public var serviceName: String
    public var instanceId: String
    public var executorId: String
    public var localInfo: DroveInstanceInfo.LocalInfo
    public var resources: [DroveResources.Allocation]
    public var state: String
    public var metadata: [String: String]
    public var errorMessage: String?
    public var created: Int64
    public var updated: Int64

    public init(_ i: DroveInstanceInfo) {
        serviceId = i.appId
        serviceName = i.appName
        instanceId = i.instanceId
        executorId = i.executorId
        localInfo = i.localInfo
        resources = i.resources
        state = i.state
        metadata = i.metadata
        errorMessage = i.errorMessage
        created = i.created
        updated = i.updated
    }
}
