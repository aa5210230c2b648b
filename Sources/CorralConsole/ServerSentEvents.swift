import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A server-sent events response: frames written as they come, a comment
/// every `beat` so that idle proxies keep the stream open (and nothing else
/// when nothing happens), ended when the source ends or the client goes.
public enum ServerSentEvents {
    /// One event: `id` and `event` are optional fields; `data` one line.
    public static func frame(id: String? = nil, event: String? = nil, data: String) -> ByteBuffer {
        var s = ""
        if let id { s += "id: \(id)\n" }
        if let event { s += "event: \(event)\n" }
        s += "data: \(data)\n\n"
        return ByteBuffer(string: s)
    }

    /// `first` is written at once (a backlog), then each frame of `live`.
    public static func response<S: AsyncSequence & Sendable>(first: [ByteBuffer] = [], live: S, beat: Duration = .seconds(15)) -> Response
    where S.Element == ByteBuffer {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            for f in first { try await writer.write(f) }
            try await writer.write(ByteBuffer(string: ": live\n\n"))
            // nil: a keep-alive beat.
            let (merged, feed) = AsyncStream<ByteBuffer?>.makeStream(bufferingPolicy: .bufferingNewest(1024))
            let pump = Task {
                do { for try await f in live { feed.yield(f) } } catch {}
                feed.finish()
            }
            let beating = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: beat)
                    feed.yield(nil)
                }
            }
            defer { pump.cancel(); beating.cancel() }
            for await item in merged {
                try await writer.write(item ?? ByteBuffer(string: ": keep-alive\n\n"))
            }
            try await writer.finish(nil)
        })
    }
}
