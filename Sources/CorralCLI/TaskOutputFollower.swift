import CorralCore
import Foundation

/// `corral tasks run --wait` shows what the task prints as it runs, read
/// through Drove's log read API (an executor's
/// `/apis/v1/logs/filestream/SOURCE/TASK/read/output.log`, or a
/// controller's `/apis/v1/logfiles/tasks/SOURCE/TASK/read/output.log`) from
/// the offset reached so far.
struct TaskOutputFollower {
    let client: ClientOptions
    /// The read path, without its query.
    let path: String
    private(set) var offset: Int64 = 0

    init(client: ClientOptions, path: String) {
        self.client = client
        self.path = path
    }

    static func executor(_ client: ClientOptions, source: String, taskId: String) -> TaskOutputFollower {
        TaskOutputFollower(client: client, path: "/logs/filestream/\(source)/\(taskId)/read/output.log")
    }

    static func controller(_ client: ClientOptions, source: String, taskId: String) -> TaskOutputFollower {
        TaskOutputFollower(client: client, path: "/logfiles/tasks/\(source)/\(taskId)/read/output.log")
    }

    /// Prints what was written since the last call; returns whether there was any.
    @discardableResult
    mutating func poll() async -> Bool {
        var any = false
        // Up to 1 MiB a call, in 256 KiB reads; the file may not exist yet (404).
        for _ in 0..<4 {
            guard let (code, data) = try? await client.call(.GET, path + "?offset=\(offset)&length=262144"), code == 200,
                  let chunk = try? JSONDecoder().decode(LogChunk.self, from: data), !chunk.data.isEmpty else { return any }
            FileHandle.standardOutput.write(Data(chunk.data.utf8))
            offset = chunk.next
            any = true
        }
        return any
    }

    /// After the end: everything that is left.
    mutating func drain() async {
        while await poll() {}
    }
}
