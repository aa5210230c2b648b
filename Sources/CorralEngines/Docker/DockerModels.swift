/// The parts of the Docker Engine API's JSON that Corral reads and writes.
/// Field names are the API's; Podman's Docker-compatible service speaks the same.
public enum Docker {
    public struct Version: Codable, Sendable {
        public var Version: String?
        public var ApiVersion: String
        public var MinAPIVersion: String?
        public var Os: String?
        public var Arch: String?
        public var KernelVersion: String?
    }

    public struct ImageInspect: Codable, Sendable {
        public var Id: String
        public var RepoTags: [String]?
    }

    /// Docker answers `{"message": ...}`; Podman adds `cause` and `response`.
    public struct ErrorBody: Codable, Sendable {
        public var message: String
        public var cause: String?
        public var response: Int?
    }

    public struct Ulimit: Codable, Sendable, Hashable {
        public var Name: String
        public var Soft: Int
        public var Hard: Int
    }

    public struct PortBinding: Codable, Sendable, Hashable {
        public var HostIp: String
        public var HostPort: String
    }

    public struct DeviceRequest: Codable, Sendable, Hashable {
        public var Driver: String
        public var DeviceIDs: [String]
        public var Capabilities: [[String]]
    }

    public struct HostConfig: Codable, Sendable {
        public var CpusetCpus: String?
        public var CpusetMems: String?
        public var CpuShares: Int?
        public var Memory: Int64?
        public var MemorySwap: Int64?
        public var Ulimits: [Ulimit]?
        public var PortBindings: [String: [PortBinding]]?
        public var Binds: [String]?
        public var DeviceRequests: [DeviceRequest]?
        public var AutoRemove: Bool?
        public var CapAdd: [String]?
        public var CapDrop: [String]?
        public var SecurityOpt: [String]?
        /// The OCI runtime by name (Docker: one of its configured runtimes).
        public var Runtime: String?

        public init() {}
    }

    /// Body of `POST /containers/create`.
    public struct ContainerCreate: Codable, Sendable {
        public var Image: String
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var Hostname: String?
        public var Env: [String]?
        public var Labels: [String: String]?
        public var User: String?
        public var WorkingDir: String?
        public var ExposedPorts: [String: EmptyObject]?
        public var HostConfig: HostConfig
        public var Tty: Bool?
        public var OpenStdin: Bool?
    }

    public struct EmptyObject: Codable, Sendable, Hashable {
        public init() {}
    }

    public struct CreateResponse: Codable, Sendable {
        public var Id: String
        public var Warnings: [String]?
    }

    public struct ContainerState: Codable, Sendable {
        public var Status: String
        public var Running: Bool
        public var OOMKilled: Bool?
        public var Dead: Bool?
        public var Pid: Int?
        public var ExitCode: Int?
        public var Error: String?
        public var StartedAt: String?
        public var FinishedAt: String?
    }

    public struct ContainerConfig: Codable, Sendable {
        public var Image: String?
        public var Labels: [String: String]?
        public var Env: [String]?
    }

    public struct ContainerInspect: Codable, Sendable {
        public var Id: String
        public var Name: String?
        public var State: ContainerState
        public var Config: ContainerConfig?
        public var HostConfig: HostConfig?
    }

    public struct ContainerSummary: Codable, Sendable {
        public var Id: String
        public var Names: [String]?
        public var Image: String?
        public var Labels: [String: String]?
        public var State: String?
        public var Status: String?
    }

    public struct WaitResponse: Codable, Sendable {
        public var StatusCode: Int
    }

    public struct ExecCreate: Codable, Sendable {
        public var AttachStdout: Bool
        public var AttachStderr: Bool
        public var Cmd: [String]
    }

    public struct ExecStart: Codable, Sendable {
        public var Detach: Bool
        public var Tty: Bool
    }

    public struct IDResponse: Codable, Sendable {
        public var Id: String
    }

    public struct ExecInspect: Codable, Sendable {
        public var ExitCode: Int?
        public var Running: Bool
    }

    /// One line of `POST /images/create` progress.
    public struct PullProgress: Codable, Sendable {
        public var status: String?
        public var progress: String?
        public var id: String?
        public var error: String?
    }

    /// One event from `GET /events`.
    public struct Event: Codable, Sendable {
        public struct Actor: Codable, Sendable {
            public var ID: String?
            public var Attributes: [String: String]?
        }
        public var `Type`: String?
        public var Action: String?
        public var Actor: Actor?
        public var status: String?
        public var id: String?
    }
}
