import AsyncHTTPClient
import CorralCore
import CorralExecutor
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Sends Drove messages to executors (`POST /apis/v1/messages` with
/// `Cluster-Authorization: <CONTROLLER secret>` and `NodeId`), retrying a
/// message that did not get through every second for up to `retryFor` as
/// Drove does, and never retrying a REJECTED or FAILED answer.
public struct ExecutorMessenger: Sendable {
    public struct Outcome: Sendable {
        public var status: DroveMessage.DeliveryStatus?
        public var message: String?
        /// The executor turned the controller's secret away: nothing was carried out.
        public var unauthorized = false
        public var delivered: Bool { status != nil }
        /// No answer came: the executor may or may not have acted on it.
        public var unanswered: Bool { status == nil && !unauthorized }

        /// Why a start message did not start its workload on `hostname:port`.
        public func notStarted(on hostname: String, port: Int) -> String {
            "executor \(hostname):\(port) did not start it: \(status?.rawValue ?? "unreachable")\(message.map { " (\($0))" } ?? "")"
        }
    }

    let http: HTTPClient
    let secret: Secret?
    let nodeId: String
    let retryFor: Duration

    public init(http: HTTPClient, secret: Secret?, nodeId: String, retryFor: Duration = .seconds(30)) {
        self.http = http
        self.secret = secret
        self.nodeId = nodeId
        self.retryFor = retryFor
    }

    public static func header() -> JSONValue {
        .object(["id": .string(UUID().uuidString.lowercased()), "senderType": .string(DroveMessage.SenderType.CONTROLLER.rawValue),
                 "direction": .string(DroveMessage.Direction.REQUEST.rawValue),
                 "messageTime": .number(Double(Int64(Date().timeIntervalSince1970 * 1000)))])
    }

    /// Sends `type` with `payload` to the executor at `endpoint` (http://host:port).
    public func send(_ type: DroveMessage.ExecutorMessageType, payload: [String: JSONValue], executor: ExecutorNodeData) async -> Outcome {
        var body = payload
        body["type"] = .string(type.rawValue)
        body["header"] = Self.header()
        body["address"] = .object(["executorId": .string(executor.state.executorId), "hostname": .string(executor.hostname),
                                   "port": .number(Double(executor.port)), "transportType": .string(executor.transportType)])
        let data = JSONValue.object(body).data()
        let scheme = executor.transportType.uppercased() == "HTTPS" ? "https" : "http"
        let url = "\(scheme)://\(executor.hostname):\(executor.port)/apis/v1/messages"
        let deadline = ContinuousClock.now + retryFor
        var lastError = "not sent"
        repeat {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "NodeId", value: nodeId)
            if let secret { request.headers.add(name: "Cluster-Authorization", value: secret.value) }
            request.body = .bytes(ByteBuffer(data: data))
            do {
                let response = try await http.execute(request, timeout: .seconds(10))
                let bytes = try await response.body.collect(upTo: 1 << 20)
                if let reply = try? JSONDecoder().decode(DroveMessage.Response.self, from: Data(buffer: bytes)) {
                    return Outcome(status: reply.status, message: reply.message)
                }
                lastError = "HTTP \(response.status.code) from the executor"
                if response.status == .unauthorized || response.status == .forbidden {
                    return Outcome(status: nil, message: "the executor refused the controller's cluster secret (HTTP \(response.status.code))",
                                   unauthorized: true)
                }
            } catch {
                lastError = "\(error)"
            }
            if Task.isCancelled { break }
            try? await Task.sleep(for: .seconds(1))
        } while ContinuousClock.now < deadline
        return Outcome(status: nil, message: lastError)
    }

    /// `GET path` (with its query) on the executor's API as the controller,
    /// for the caller to read or stream on.
    public func get(_ pathAndQuery: String, executor: ExecutorNodeData, timeout: TimeAmount = .seconds(30)) async throws -> HTTPClientResponse {
        let scheme = executor.transportType.uppercased() == "HTTPS" ? "https" : "http"
        var request = HTTPClientRequest(url: "\(scheme)://\(executor.hostname):\(executor.port)\(pathAndQuery)")
        request.headers.add(name: "NodeId", value: nodeId)
        if let secret { request.headers.add(name: "Cluster-Authorization", value: secret.value) }
        return try await http.execute(request, timeout: timeout)
    }

    /// Whether the executor answers at all (its authenticated ping), within `timeout`.
    public func answers(_ executor: ExecutorNodeData, timeout: TimeAmount = .seconds(2)) async -> Bool {
        // A refused connection says at once that nothing listens there (the
        // HTTP client would retry connecting until its deadline).
        guard await Self.listens(host: executor.hostname, port: executor.port, timeout: timeout) else { return false }
        let scheme = executor.transportType.uppercased() == "HTTPS" ? "https" : "http"
        var request = HTTPClientRequest(url: "\(scheme)://\(executor.hostname):\(executor.port)/apis/v1/ping")
        if let secret { request.headers.add(name: "Cluster-Authorization", value: secret.value) }
        guard let response = try? await http.execute(request, timeout: timeout) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return response.status == .ok
    }

    /// Whether a TCP connection to `host:port` is accepted within `timeout`.
    static func listens(host: String, port: Int, timeout: TimeAmount) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .connect(host: host, port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
