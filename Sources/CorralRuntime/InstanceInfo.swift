import CorralCore
import CorralEngines
import Foundation

/// What the runtime reports about one workload (and the API returns).
public struct InstanceInfo: Sendable, Hashable {
    public var instanceId: String
    public var appId: String
    public var kind: WorkloadKind
    /// Encoded as Drove's state name.
    public var state: WorkloadState
    public var allocation: Allocation?
    /// Port name -> host port.
    public var ports: [String: Int]
    public var engine: EngineKind
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
    /// Every state it went through, with when and why.
    public var history: [WorkloadStep]

    public init(instanceId: String, appId: String, kind: WorkloadKind, state: WorkloadState, allocation: Allocation?,
                ports: [String: Int], engine: EngineKind, handle: WorkloadHandle?, created: Double, updated: Double,
                lastError: String?, exitCode: Int32?, taskId: String? = nil, history: [WorkloadStep]) {
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

    /// Whether the workload ever entered `state`.
    public func passed(through state: WorkloadState) -> Bool { history.contains { $0.state == state } }
}

extension InstanceInfo: Codable {
    enum CodingKeys: String, CodingKey {
        case instanceId, appId, kind, state, allocation, ports, engine, handle, created, updated, lastError, exitCode
        case taskId, history
    }

    struct StoredStep: Decodable {
        var state: String
        var at: Double
        var reason: String?
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(WorkloadKind.self, forKey: .kind)
        let kind = self.kind
        func named(_ name: String, _ key: CodingKeys) throws -> WorkloadState {
            guard let s = WorkloadState(name: name, kind: kind) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c,
                    debugDescription: "\(name) is not a state of a \(kind.rawValue); allowed: "
                        + WorkloadState.names(of: kind).joined(separator: ", "))
            }
            return s
        }
        instanceId = try c.decode(String.self, forKey: .instanceId)
        appId = try c.decode(String.self, forKey: .appId)
        state = try named(try c.decode(String.self, forKey: .state), .state)
        allocation = try c.decodeIfPresent(Allocation.self, forKey: .allocation)
        ports = try c.decodeIfPresent([String: Int].self, forKey: .ports) ?? [:]
        engine = try c.decode(EngineKind.self, forKey: .engine)
        handle = try c.decodeIfPresent(WorkloadHandle.self, forKey: .handle)
        created = try c.decode(Double.self, forKey: .created)
        updated = try c.decode(Double.self, forKey: .updated)
        lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
        exitCode = try c.decodeIfPresent(Int32.self, forKey: .exitCode)
        taskId = try c.decodeIfPresent(String.self, forKey: .taskId)
        // Rows written before steps kept their time and reason hold bare names.
        if let names = try? c.decode([String].self, forKey: .history) {
            history = try names.map { WorkloadStep(state: try named($0, .history), at: 0) }
        } else {
            history = try c.decode([StoredStep].self, forKey: .history).map {
                WorkloadStep(state: try named($0.state, .history), at: $0.at, reason: $0.reason)
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(instanceId, forKey: .instanceId)
        try c.encode(appId, forKey: .appId)
        try c.encode(kind, forKey: .kind)
        try c.encode(state, forKey: .state)
        try c.encodeIfPresent(allocation, forKey: .allocation)
        try c.encode(ports, forKey: .ports)
        try c.encode(engine, forKey: .engine)
        try c.encodeIfPresent(handle, forKey: .handle)
        try c.encode(created, forKey: .created)
        try c.encode(updated, forKey: .updated)
        try c.encodeIfPresent(lastError, forKey: .lastError)
        try c.encodeIfPresent(exitCode, forKey: .exitCode)
        try c.encodeIfPresent(taskId, forKey: .taskId)
        try c.encode(history, forKey: .history)
    }
}

/// Hands out and takes back resources: the executor's allocator and port range.
public protocol ResourceBroker: Sendable {
    func reserve(_ request: AllocationRequest, ports: [HostPortRequest], id: String) async throws(AllocationError) -> (Allocation, [Int])
    func release(id: String) async
}

/// Told of every change, in order, for one workload.
public protocol InstanceObserver: Sendable {
    func changed(_ info: InstanceInfo) async
}

/// The wall clock, in seconds since the epoch.
func now() -> Double { Date().timeIntervalSince1970 }

extension InstanceInfo {
    /// A workload from the state database that never reached the engine (no
    /// handle or allocation) after a restart: it moves UNKNOWN -> LOST through
    /// its kind's lifecycle, like every other move, its history kept.
    public func lostAfterRestart(_ reason: String, at time: Double = Date().timeIntervalSince1970) -> InstanceInfo {
        switch kind {
        case .application: lost(Lifecycle<InstanceState>.self, reason, time)
        case .task: lost(Lifecycle<TaskState>.self, reason, time)
        }
    }

    private func lost<S>(_: Lifecycle<S>.Type, _ reason: String, _ time: Double) -> InstanceInfo {
        var life = Lifecycle<S>(.unknown, at: time, reason: "found after a restart")
        do {
            try life.transition(to: .lost, reason: reason, at: time)
        } catch {
            // UNKNOWN -> LOST is in both tables; only a change to them reaches this.
            assertionFailure(error.message)
        }
        var out = self
        out.state = life.state.workloadState
        out.history += life.history.map(\.workloadStep)
        out.lastError = reason
        out.updated = life.enteredAt
        return out
    }
}
