/// `dockerAuth:` in the executor YAML (Drove's DockerAuthConfig): per-registry
/// credentials for image pulls, sent to the engine as X-Registry-Auth. The
/// passwords are secrets: never printed, logged, labelled or published.
///
/// ```yaml
/// dockerAuth:
///   entries:
///     registry.example.com:5000:
///       type: CREDENTIALS
///       username: puller
///       password: ${REGISTRY_PASSWORD}
/// ```
public struct DockerAuthConfig: Sendable {
    public enum EntryType: String, Sendable, CaseIterable { case CREDENTIALS }

    public struct Credentials: Sendable, Hashable {
        public var username: String
        public var password: Secret

        public init(username: String, password: Secret) {
            self.username = username
            self.password = password
        }
    }

    /// By registry host (`registry.example.com:5000`; `docker.io` for Docker Hub).
    public var entries: [String: Credentials] = [:]

    public init(entries: [String: Credentials] = [:]) {
        self.entries = entries
    }

    /// The credentials for pulling `image`: its registry's, as Docker names
    /// registries (Docker Hub's also under `index.docker.io` or its v1 URL).
    public func credentials(for image: String) -> (registry: String, credentials: Credentials)? {
        let registry = ImageReference.registry(image)
        for (key, value) in entries where Self.registryName(key) == registry { return (registry, value) }
        return nil
    }

    /// A registry key as written (a URL with scheme and path, or Docker Hub's
    /// other names) as the registry host it means.
    public static func registryName(_ key: String) -> String {
        var k = key.lowercased()
        for scheme in ["https://", "http://"] where k.hasPrefix(scheme) { k.removeFirst(scheme.count) }
        if let slash = k.firstIndex(of: "/") { k = String(k[..<slash]) }
        return ["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"].contains(k) ? "docker.io" : k
    }
}
