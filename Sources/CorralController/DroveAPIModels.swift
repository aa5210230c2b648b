import CorralCore
import CorralExecutor

/// The response shapes of Drove's controller API (`mdl/api/*`), with Drove's
/// field names and units (memory in MB, times in epoch milliseconds).
public enum DroveAPI {
    /// `ApiResponse{status, data, message}`.
    public struct Envelope<T: Encodable & Sendable>: Encodable, Sendable {
        public var status: String
        public var data: T?
        public var message: String
        public static func success(_ data: T) -> Envelope { Envelope(status: "SUCCESS", data: data, message: "success") }
    }

    public struct ClusterSummary: Codable, Sendable {
        public var leader: String
        public var state: String
        public var numExecutors: Int
        public var numApplications: Int
        public var numActiveApplications: Int
        public var numActiveTasks: Int
        public var numLocalServices: Int
        public var numActiveLocalServices: Int
        public var freeCores: Int
        public var usedCores: Int
        public var totalCores: Int
        public var freeMemory: UInt64
        public var usedMemory: UInt64
        public var totalMemory: UInt64
    }

    public struct ExecutorSummary: Codable, Sendable {
        public var executorId: String
        public var hostname: String
        public var port: Int
        public var transportType: String
        public var freeCores: Int
        public var usedCores: Int
        public var freeMemory: UInt64
        public var usedMemory: UInt64
        public var tags: [String]
        public var state: String

        public init(_ d: ExecutorNodeData) {
            executorId = d.state.executorId
            hostname = d.hostname
            port = d.port
            transportType = d.transportType
            freeCores = d.state.cpus.freeCores.values.reduce(0) { $0 + $1.count }
            usedCores = d.state.cpus.usedCores.values.reduce(0) { $0 + $1.count }
            freeMemory = d.state.memory.freeMemory.values.reduce(0, +)
            usedMemory = d.state.memory.usedMemory.values.reduce(0, +)
            tags = d.tags
            state = d.executorState.rawValue
        }
    }

    public struct AppSummary: Codable, Sendable {
        public var id: String
        public var name: String
        public var requiredInstances: Int
        public var healthyInstances: Int
        public var totalCPUs: Int
        public var totalMemory: UInt64
        public var tags: [String: String]
        public var state: String
        public var created: Int64
        public var updated: Int64
        /// Corral: the operation in flight and how the last one ended.
        public var operation: String?
        public var lastOutcome: String?
    }

    /// Drove's `LocalServiceSummary`.
    public struct LocalServiceSummary: Codable, Sendable {
        public var id: String
        public var name: String
        public var instancesPerHost: Int
        public var healthyInstances: Int
        public var totalCPUs: Int
        public var totalMemory: UInt64
        public var tags: [String: String]
        public var activationState: String
        public var state: String
        public var created: Int64
        public var updated: Int64
        /// Corral: the operation in flight.
        public var operation: String?
    }

    public struct ServiceIdData: Codable, Sendable { public var serviceId: String }

    /// What `cluster simulate-placement` reads (drove-cli's fields, plus the cores Corral would give).
    public struct PlacementSimulation: Codable, Sendable {
        public struct Placement: Codable, Sendable {
            public var executorId: String
            public var hostname: String
            public var port: Int
            public var executorState: String
            public var cores: [Int]
        }
        public var requested: Int
        public var placed: Int
        public var errors: [String]
        public var placements: [Placement]
    }

    /// Drove's `ExposedAppInfo` (`/apis/v1/endpoints`).
    public struct ExposedApp: Codable, Sendable {
        public struct Host: Codable, Sendable {
            public var host: String
            public var port: Int
            public var portType: String
        }
        public var appName: String
        public var appId: String
        public var vhost: String
        public var tags: [String: String]
        public var hosts: [Host]
    }

    /// Drove's `BlacklistOperationResponse`.
    public struct BlacklistResult: Codable, Sendable {
        public var successful: [String]
        public var failed: [String]
        public var approxCompletionTimeMs: Int64
        public var message: String
    }

    public struct AppIdData: Codable, Sendable { public var appId: String }
    public struct TaskIdData: Codable, Sendable { public var taskId: String }
    public struct MessageData: Codable, Sendable { public var message: String }
}

/// drove-cli reads `errorMessage` of every instance and task without a default:
/// the API always writes it ("" when there is none).
extension DroveInstanceInfo {
    var forAPI: DroveInstanceInfo {
        var i = self
        i.errorMessage = i.errorMessage ?? ""
        return i
    }
}

extension DroveTaskInfo {
    var forAPI: DroveTaskInfo {
        var t = self
        t.errorMessage = t.errorMessage ?? ""
        return t
    }
}
