import AsyncHTTPClient
import CorralCore
import Foundation
import NIOCore
import NIOHTTP1

/// A client of the Docker Engine API on a unix socket (Docker, or Podman's
/// Docker-compatible service). Paths are versioned with the API version
/// negotiated at first use: the server's `ApiVersion`, capped at the newest
/// version Corral knows. Every call is bounded by `timeout`, except the ones
/// that are meant to last (wait, log and event streams).
public final class DockerClient: Sendable {
    public static let newestKnownAPI = "1.43"
    public static let oldestSupportedAPI = "1.40"

    public let socketPath: String
    public let timeout: Duration
    let http: HTTPClient
    let negotiated = APIVersionCache()

    public init(socketPath: String, timeout: Duration = .seconds(30), http: HTTPClient = .shared) {
        self.socketPath = socketPath
        self.timeout = timeout
        self.http = http
    }

    final class APIVersionCache: @unchecked Sendable {
        // @unchecked: `value` is only touched under `lock`.
        private let lock = NSLock()
        private var value: String?
        var get: String? { lock.lock(); defer { lock.unlock() }; return value }
        func set(_ v: String) { lock.lock(); value = v; lock.unlock() }
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    func url(_ path: String, query: [(String, String)] = []) -> String {
        var comps = URLComponents()
        comps.path = path
        if !query.isEmpty { comps.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        // Encode what URLComponents leaves alone but the API needs escaped in values.
        let relative = comps.percentEncodedPath
            + (comps.percentEncodedQuery.map { "?" + $0.replacingOccurrences(of: "+", with: "%2B") } ?? "")
        return URL(httpURLWithSocketPath: socketPath, uri: relative)!.absoluteString
    }

    func makeRequest(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: [UInt8]?,
                     contentType: String = "application/json", headers: [(String, String)] = []) -> HTTPClientRequest {
        var req = HTTPClientRequest(url: url(path, query: query))
        req.method = method
        // The API refuses requests without a Host header (Podman answers 400).
        req.headers.add(name: "Host", value: "docker")
        for (name, value) in headers { req.headers.add(name: name, value: value) }
        if let body {
            req.headers.add(name: "Content-Type", value: contentType)
            req.body = .bytes(ByteBuffer(bytes: body))
        }
        return req
    }

    func failure(_ error: any Error, _ method: HTTPMethod, _ path: String) -> EngineError {
        if let e = error as? HTTPClientError, e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
            return EngineError(.timeout, "the container engine at \(socketPath) did not answer \(method) \(path) within \(timeout)",
                               context: ["socket": socketPath])
        }
        return EngineError(.unavailable, "cannot reach the container engine at \(socketPath): \(error)",
                           context: ["socket": socketPath])
    }

    /// An unversioned call (`/_ping`, `/version`).
    public func raw(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
                    contentType: String = "application/json", timeout: Duration? = nil) async throws(EngineError) -> Response {
        let req = makeRequest(method, path, query: query, body: body, contentType: contentType)
        let limit = timeout ?? self.timeout
        do {
            let res = try await http.execute(req, timeout: .nanoseconds(Int64(limit.components.seconds) * 1_000_000_000
                                                                       + limit.components.attoseconds / 1_000_000_000))
            let bytes = try await res.body.collect(upTo: 64 << 20)
            return Response(status: Int(res.status.code), body: Array(buffer: bytes))
        } catch {
            throw failure(error, method, path)
        }
    }

    /// The API version to put in paths, negotiated once.
    public func apiVersion() async throws(EngineError) -> String {
        if let v = negotiated.get { return v }
        let v = try await version()
        let chosen = Self.compare(v.ApiVersion, Self.newestKnownAPI) < 0 ? v.ApiVersion : Self.newestKnownAPI
        guard Self.compare(chosen, Self.oldestSupportedAPI) >= 0 else {
            throw EngineError(.unavailable, "the container engine speaks API \(v.ApiVersion); Corral needs \(Self.oldestSupportedAPI) or newer")
        }
        negotiated.set(chosen)
        return chosen
    }

    /// Compares dotted versions numerically ("1.9" < "1.41").
    static func compare(_ a: String, _ b: String) -> Int {
        let x = a.split(separator: ".").map { Int($0) ?? 0 }, y = b.split(separator: ".").map { Int($0) ?? 0 }
        for i in 0..<max(x.count, y.count) {
            let l = i < x.count ? x[i] : 0, r = i < y.count ? y[i] : 0
            if l != r { return l < r ? -1 : 1 }
        }
        return 0
    }

    /// A versioned call.
    public func call(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
                     contentType: String = "application/json", timeout: Duration? = nil) async throws(EngineError) -> Response {
        let v = try await apiVersion()
        return try await raw(method, "/v\(v)\(path)", query: query, body: body, contentType: contentType, timeout: timeout)
    }

    /// A versioned call whose body arrives over time (logs, events, pull
    /// progress); each chunk goes to `onChunk` as it comes, until it returns
    /// false (the request is then dropped). No timeout.
    /// `onHead` is told the status as soon as the answer begins (an attach
    /// is then in place).
    public func stream(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
                       headers: [(String, String)] = [],
                       onHead: (@Sendable (Int) -> Void)? = nil,
                       onChunk: @Sendable ([UInt8]) async -> Bool) async throws(EngineError) -> Int {
        let v = try await apiVersion()
        let req = makeRequest(method, "/v\(v)\(path)", query: query, body: body, headers: headers)
        do {
            let res = try await http.execute(req, deadline: .distantFuture)
            let status = Int(res.status.code)
            onHead?(status)
            for try await chunk in res.body {
                if await !onChunk(Array(buffer: chunk)) { break }
            }
            return status
        } catch let e as EngineError {
            throw e
        } catch {
            throw failure(error, method, path)
        }
    }

    // MARK: Typed helpers

    static func decode<T: Decodable>(_ type: T.Type, _ r: Response, _ what: String) throws(EngineError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(r.body))
        } catch {
            throw EngineError(.failed, "unexpected answer to \(what): \(r.text.prefix(300))")
        }
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        Array((try? JSONEncoder().encode(value)) ?? Data())
    }

    /// The engine's own message for a failed call.
    static func message(_ r: Response) -> String {
        if let e = try? JSONDecoder().decode(Docker.ErrorBody.self, from: Data(r.body)) { return e.message }
        return r.text.isEmpty ? "HTTP \(r.status)" : String(r.text.prefix(300))
    }

    /// Follows `GET /events` (containers only, optionally one label) and hands
    /// each event to `onEvent` until it returns false or the stream ends.
    public func events(label: String? = nil, since: Int? = nil,
                       onEvent: @escaping @Sendable (Docker.Event) async -> Bool) async throws(EngineError) {
        var filters = "{\"type\":[\"container\"]"
        if let label { filters += ",\"label\":[\"\(label)\"]" }
        filters += "}"
        var query = [("filters", filters)]
        if let since { query.append(("since", String(since))) }
        let lines = ProgressCollector()
        _ = try await stream(.GET, "/events", query: query) { chunk in
            for line in lines.lines(chunk) {
                guard let e = try? JSONDecoder().decode(Docker.Event.self, from: Data(line.utf8)) else { continue }
                if await !onEvent(e) { return false }
            }
            return true
        }
    }

    public func ping() async -> Bool {
        (try? await raw(.GET, "/_ping", timeout: .seconds(3)))?.status == 200
    }

    public func version() async throws(EngineError) -> Docker.Version {
        let r = try await raw(.GET, "/version")
        guard r.status == 200 else { throw EngineError(.unavailable, "GET /version: \(Self.message(r))") }
        return try Self.decode(Docker.Version.self, r, "GET /version")
    }

    /// nil when the image is not present.
    public func inspectImage(_ image: String) async throws(EngineError) -> Docker.ImageInspect? {
        let r = try await call(.GET, "/images/\(image)/json")
        if r.status == 404 { return nil }
        guard r.status == 200 else { throw EngineError(.failed, "inspecting image \(image): \(Self.message(r))") }
        return try Self.decode(Docker.ImageInspect.self, r, "image inspect")
    }

    /// Credentials for a pull, as the engine takes them (`X-Registry-Auth`).
    public struct RegistryAuth: Sendable {
        public var registry: String
        public var username: String
        public var password: Secret

        public init(registry: String, username: String, password: Secret) {
            self.registry = registry
            self.username = username
            self.password = password
        }

        /// base64url of `{"username", "password", "serveraddress"}`.
        var header: String {
            let json = (try? JSONSerialization.data(withJSONObject: ["username": username, "password": password.value,
                                                                    "serveraddress": registry], options: [.sortedKeys])) ?? Data()
            return json.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        }
    }

    /// Pulls an image, reporting progress lines; fails with the registry's
    /// error (the password never in it: the engine does not echo it).
    public func pull(_ image: String, auth: RegistryAuth? = nil, progress: @Sendable (String) async -> Void) async throws(EngineError) {
        let (name, tag) = Self.splitImage(image)
        let collected = ProgressCollector()
        let headers = auth.map { [("X-Registry-Auth", $0.header)] } ?? []
        let status = try await stream(.POST, "/images/create", query: [("fromImage", name), ("tag", tag)], headers: headers) { chunk in
            collected.keep(chunk)
            for line in collected.lines(chunk) {
                guard let p = try? JSONDecoder().decode(Docker.PullProgress.self, from: Data(line.utf8)) else {
                    continue
                }
                if let e = p.error { collected.fail(e) }
                let text = [p.id, p.status, p.progress].compactMap { $0 }.joined(separator: " ")
                if !text.isEmpty { await progress(text) }
            }
            return true
        }
        // A refusal before any progress is one JSON error body (Docker: 500 {"message": ...}).
        let refusal = status >= 300 ? (try? JSONDecoder().decode(Docker.ErrorBody.self, from: Data(collected.head)))?.message : nil
        if var e = collected.error ?? refusal ?? (status >= 300 ? "HTTP \(status)" : nil) {
            if let auth { e = e.replacingOccurrences(of: auth.password.value, with: "<redacted>") }
            let denied = ["unauthorized", "authentication required", "denied", "401"].contains { e.lowercased().contains($0) }
            let why = denied
                ? (auth.map { " (the registry \($0.registry) refused the credentials of dockerAuth.entries for it, user \($0.username))" }
                   ?? " (the registry \(ImageReference.registry(image)) wants credentials: add them under dockerAuth.entries)")
                : ""
            throw EngineError(.imageMissing, "pulling \(image) failed: \(e)\(why)", context: ["image": image])
        }
    }

    /// "repo/name:tag" -> ("repo/name", "tag"); digests stay whole.
    static func splitImage(_ image: String) -> (String, String) {
        if image.contains("@") { return (image, "") }
        if let colon = image.lastIndex(of: ":"), !image[colon...].contains("/") {
            return (String(image[..<colon]), String(image[image.index(after: colon)...]))
        }
        return (image, "latest")
    }

    final class ProgressCollector: @unchecked Sendable {
        // @unchecked: only touched from the one stream callback at a time, under `lock`.
        private let lock = NSLock()
        private var partial = ""
        private(set) var error: String?
        /// The answer's first 16 KiB, for an error body.
        private(set) var head: [UInt8] = []

        func keep(_ chunk: [UInt8]) {
            lock.lock(); defer { lock.unlock() }
            if head.count < 16_384 { head += chunk.prefix(16_384 - head.count) }
        }

        func lines(_ chunk: [UInt8]) -> [String] {
            lock.lock(); defer { lock.unlock() }
            partial += String(decoding: chunk, as: UTF8.self)
            var parts = partial.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            partial = parts.removeLast()
            return parts.filter { !$0.isEmpty }
        }

        func fail(_ e: String) { lock.lock(); error = e; lock.unlock() }
    }
}
