import CorralCore

/// A `corral run --cluster` job on its way from the executor whose socket
/// took it (which read the caller from the kernel) through the leader to the
/// executor the leader placed it on: the request as the client sent it and
/// the caller as the first executor vouches for it. Only cluster nodes carry
/// it (the EXECUTOR secret to the controller, the CONTROLLER secret to the
/// executor); the executor that runs it checks it against its own run
/// configuration, as it checks a local request.
public struct RemoteRunJob: Sendable, Codable {
    public var request: RunRequest
    public var caller: PeerCredentials
    public var taskId: String
    /// The executor the client is connected to (hostname:port).
    public var origin: String

    public init(request: RunRequest, caller: PeerCredentials, taskId: String, origin: String) {
        self.request = request
        self.caller = caller
        self.taskId = taskId
        self.origin = origin
    }

    /// What the leader answers: where the job was started.
    public struct Placement: Sendable, Codable, Equatable {
        public var taskId: String
        public var instanceId: String
        public var hostname: String
        public var port: Int
        public var transportType: String

        public init(taskId: String, instanceId: String, hostname: String, port: Int, transportType: String) {
            self.taskId = taskId
            self.instanceId = instanceId
            self.hostname = hostname
            self.port = port
            self.transportType = transportType
        }

        public var endpoint: String { "\(transportType.uppercased() == "HTTPS" ? "https" : "http")://\(hostname):\(port)" }
    }

    /// The leader's route for it (behind the EXECUTOR secret, as messages are).
    public static let controllerPath = "/apis/v1/corral/run-jobs"
}
