import AsyncHTTPClient
import CorralCore
import CorralEngines
import Foundation
import NIOCore
import NIOHTTP1

/// Runs one readiness or health check attempt: HTTP to the instance's host
/// port, or a command in (containers) or beside (processes) the workload.
public struct CheckRunner: Sendable {
    public let engine: any Engine
    public let http: HTTPClient
    public let host: String

    public init(engine: any Engine, http: HTTPClient = .shared, host: String = "127.0.0.1") {
        self.engine = engine
        self.http = http
        self.host = host
    }

    public struct Outcome: Sendable, Equatable {
        public var ok: Bool
        public var detail: String
    }

    public func attempt(_ mode: CheckSpec.Mode, timeout: ConfigDuration, handle: WorkloadHandle,
                        ports: [String: Int]) async -> Outcome {
        switch mode {
        case .cmd(let command):
            do {
                let r = try await engine.exec(handle, command: ["sh", "-c", command], timeout: timeout.duration)
                return Outcome(ok: r.exitCode == 0,
                               detail: "command `\(command)` exited with \(r.exitCode)"
                                   + (r.output.isEmpty ? "" : ": \(r.output.prefix(200).trimmingCharacters(in: .whitespacesAndNewlines))"))
            } catch {
                return Outcome(ok: false, detail: "command `\(command)`: \(error.message)")
            }
        case .http(let h):
            guard let port = ports[h.portName] else {
                return Outcome(ok: false, detail: "no host port for \(h.portName)")
            }
            let url = "\(h.https ? "https" : "http")://\(host):\(port)\(h.path)"
            var req = HTTPClientRequest(url: url)
            req.method = HTTPMethod(rawValue: h.verb.rawValue)
            if let payload = h.payload { req.body = .bytes(ByteBuffer(string: payload)) }
            do {
                let res = try await http.execute(req, timeout: .nanoseconds(Int64(timeout.nanoseconds)))
                _ = try? await res.body.collect(upTo: 1 << 20)
                let code = Int(res.status.code)
                return Outcome(ok: h.successCodes.contains(code), detail: "\(h.verb.rawValue) \(url) answered \(code)")
            } catch {
                return Outcome(ok: false, detail: "\(h.verb.rawValue) \(url) failed: \(error)")
            }
        }
    }

    /// Repeats a check: after `initialDelay`, every `interval`, until it
    /// succeeds (`untilSuccess`) or fails `attempts` times in a row. Returns the
    /// last outcome.
    public func loop(_ check: CheckSpec, handle: WorkloadHandle, ports: [String: Int],
                     untilSuccess: Bool) async -> Outcome {
        if check.initialDelay.nanoseconds > 0 { try? await Task.sleep(for: check.initialDelay.duration) }
        var failures = 0
        while !Task.isCancelled {
            let o = await attempt(check.mode, timeout: check.timeout, handle: handle, ports: ports)
            if o.ok {
                failures = 0
                if untilSuccess { return o }
            } else {
                failures += 1
                if failures >= check.attempts {
                    return Outcome(ok: false, detail: "\(o.detail) (\(failures) failure\(failures == 1 ? "" : "s") in a row)")
                }
            }
            try? await Task.sleep(for: check.interval.duration)
        }
        return Outcome(ok: false, detail: "cancelled")
    }
}
