import CorralCore
import CorralEngines

/// A `corral run` job's output on its way to the client, as frames: stdout
/// and stderr kept apart (one stream when the job has a terminal).
struct ClientOutput: LogSink {
    let frames: AsyncStream<RunFrame>.Continuation

    func write(_ bytes: [UInt8]) { write(bytes, from: .stdout) }

    func write(_ bytes: [UInt8], from channel: OutputChannel) {
        // One frame at most maxPayload long.
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + RunFrame.maxPayload)
            frames.yield(RunFrame(channel == .stderr ? .stderr : .stdout, Array(bytes[i..<end])))
            i = end
        }
    }

    func finish() {}
}
