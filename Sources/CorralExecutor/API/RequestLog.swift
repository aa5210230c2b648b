import CorralCore
import Foundation
import Hummingbird
import Logging

/// The request log: one line per API request to `server.requestLog.appenders`,
/// in the combined format Dropwizard writes:
/// `- - - [22/Nov/2026:10:00:00 +0000] "GET /apis/v1/ping HTTP/1.1" 200 15 3`
/// (the last field is milliseconds). The Cluster-Authorization header is never logged.
struct RequestLog<Context: RequestContext>: RouterMiddleware {
    let outputs: [AppenderOutput]

    /// The client's address as the combined format's first field (`-` when unknown).
    static func peer(_ context: Context) -> String {
        guard let address = (context as? any RemoteAddressRequestContext)?.remoteAddress else { return "-" }
        switch address {
        case .v4, .v6: return address.ipAddress ?? "-"
        case .unixDomainSocket: return "unix"
        }
    }

    init(appenders: [AppenderConfig]) {
        outputs = ExecutorLogging.outputs(appenders)
    }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context, status: Int(response.status.code),
                length: response.body.contentLength.map { String($0) } ?? "-", since: start)
            return response
        } catch {
            // Refusals are thrown (APIError): logged with the status they answer.
            log(request, context, status: Int((error as? any HTTPResponseError)?.status.code ?? 500), length: "-", since: start)
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, length: String, since start: ContinuousClock.Instant) {
        let ms = (ContinuousClock.now - start).components
        let millis = ms.seconds * 1000 + ms.attoseconds / 1_000_000_000_000_000
        let remote = Self.peer(context)
        for o in outputs {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = o.pattern.timeZone
            f.dateFormat = "dd/MMM/yyyy:HH:mm:ss Z"
            o.write("\(remote) - - [\(f.string(from: Date()))] \"\(request.method.rawValue) \(request.uri.path) HTTP/1.1\" "
                    + "\(status) \(length) \(millis)\n")
        }
    }
}
