import Foundation
import HTTPTypes
import Hummingbird

/// Every `/apis/...` request must carry `Cluster-Authorization: <CONTROLLER secret>`,
/// compared in constant time.
struct Auth<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("Cluster-Authorization")! }
    let secret: [UInt8]
    let metrics: Metrics

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let given = Array((request.headers[Self.header] ?? "").utf8)
        guard ExecutorAPI.constantTimeEqual(given, secret) else {
            metrics.increment(.unauthorized)
            throw APIError.unauthorized
        }
        return try await next(request, context)
    }
}
