import CorralCore
import CorralEngines
import Foundation

/// What the runtime reports about one workload (and the API returns).
public struct InstanceInfo: Sendable, Codable, Hashable {
    public var instanceId: String
    public var appId: String
    public var kind: WorkloadKind
    /// Drove's state name.
    public var state: String
    public var allocation: Allocation?
    /// Port name -> host port.
    public var ports: [String: Int]
    public var engine: String
    public var handle: WorkloadHandle?
    /// Seconds since the Unix epoch.
    public var created: Double
    public var updated: Double
    /// The reason of the last failure state, if any.
    public var lastError: String?
    /// Tasks: how the command ended.
    public var exitCode: Int32?
    /// Tasks: the spec's taskId.
    public var taskId: String?
    public var history: [String]

    public init(instanceId: String, appId: String, kind: WorkloadKind, state: String, allocation: Allocation?,
                ports: [String: Int], engine: String, handle: WorkloadHandle?, created: Double, updated: Double,
                lastError: String?, exitCode: Int32?, taskId: String? = nil, history: [String]) {
        self.instanceId = instanceId
        self.appId = appId
        self.kind = kind
        self.state = state
        self.allocation = allocation
        self.ports = ports
        self.engine = engine
        self.handle = handle
        self.created = created
        self.updated = updated
        self.lastError = lastError
        self.exitCode = exitCode
        self.taskId = taskId
        self.history = history
    }
}

/// Hands out and takes back resources: the executor's allocator and port range.
public protocol ResourceBroker: Sendable {
    func reserve(_ request: AllocationRequest, ports: Int, id: String) async throws(AllocationError) -> (Allocation, [Int])
    func release(id: String) async
}

/// Told of every change, in order, for one workload.
public protocol InstanceObserver: Sendable {
    func changed(_ info: InstanceInfo) async
}

/// The wall clock, in seconds since the epoch.
func now() -> Double { Date().timeIntervalSince1970 }
