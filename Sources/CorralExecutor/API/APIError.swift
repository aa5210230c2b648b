import CorralCore
import CorralRuntime
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An API failure as a value: the HTTP status, a stable code, a message for
/// people and, for spec problems, every issue found. Handlers throw it;
/// Hummingbird turns it into the JSON error body
/// `{"error": {"code", "message", "details"?}}`. The one mapping from the
/// executor's error codes to statuses is ``init(_:)-(ExecutorError)``.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: [ConfigIssue]?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, details: [ConfigIssue]? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    public init(_ e: ExecutorError) {
        let status: HTTPResponse.Status = switch e.code {
        case .notFound: .notFound
        case .conflict, .doesNotFit, .blacklisted: .conflict
        case .invalid: .unprocessableContent
        case .engineUnavailable, .stateUnavailable: .serviceUnavailable
        }
        self.init(status, e.codeName, e.message)
    }

    public init(_ e: SpecError) {
        self.init(.unprocessableContent, e.codeName, e.message, details: e.issues)
    }

    public init(_ e: StageError) {
        let status: HTTPResponse.Status = switch e.code {
        case .notFound, .unknownStage: .notFound
        case .invalid: .badRequest
        case .finished: .conflict
        case .stageUnavailable: .serviceUnavailable
        }
        self.init(status, e.code.rawValue, e.message)
    }

    static let unauthorized = APIError(.unauthorized, "unauthorized", "missing or wrong Cluster-Authorization header")

    /// The JSON error body, as clients decode it.
    public struct Body: Codable, Sendable {
        public struct Detail: Codable, Sendable {
            public var code: String
            public var message: String
            public var details: [ConfigIssue]?
        }
        public var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try ExecutorAPI.encoder.encode(Body(error: .init(code: code, message: message, details: details)))
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
