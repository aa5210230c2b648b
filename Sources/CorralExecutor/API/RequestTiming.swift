import Foundation
import Hummingbird

/// Times every API request into `corral_api_request_duration_seconds`
/// (method, status class). Hummingbird's own MetricsMiddleware records under
/// `hb_*` names through the process-wide MetricsSystem; dashboards read the
/// executor's names, and each executor keeps its own registry, so this
/// middleware records into the executor's factory instead. Errors thrown by
/// handlers are timed with the status they answer.
struct RequestTiming<Context: RequestContext>: RouterMiddleware {
    let metrics: Metrics

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.observeRequest(method: request.method.rawValue, status: Int(response.status.code),
                                   duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.observeRequest(method: request.method.rawValue, status: Int(status), duration: ContinuousClock.now - start)
            throw error
        }
    }
}
