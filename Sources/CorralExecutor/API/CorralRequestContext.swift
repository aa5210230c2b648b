import Foundation
import Hummingbird
import NIOCore

/// The request context of both listeners: Hummingbird's core storage, the
/// peer's address (the request log writes it) and the API's JSON encoder
/// (sorted keys, unescaped slashes) for every `ResponseEncodable` answer.
public struct CorralRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    public var responseEncoder: JSONEncoder { ExecutorAPI.encoder }
}
