/// Which engine runs a workload: containers through the Docker Engine API
/// (Docker or Podman), or native processes. The raw value is what handles,
/// the state database and the API carry.
public enum EngineKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case docker
    case process

    public var description: String { rawValue }
}

extension Executable {
    /// The engine that runs this executable.
    public var engineKind: EngineKind {
        switch self {
        case .docker: .docker
        case .process: .process
        }
    }
}
