import CorralCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Reading instance log files over the API: list, read a range, download, tail
/// (optionally following). File names must be one of the instance's own log
/// files; anything else, path traversal included, is a 400.
enum LogFilesAPI {
    struct FileEntry: ResponseEncodable {
        var name: String
        var size: UInt64
        var modified: Double
    }

    struct Chunk: ResponseEncodable {
        var data: String
        var offset: UInt64
        var length: Int
        var size: UInt64
    }

    static func validName(_ name: String) -> Bool {
        (name == "output.log" || name.hasPrefix("output.log."))
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }
            && !name.contains("..")
    }

    static func files(_ dir: String) -> [FileEntry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { validName($0) && !$0.hasSuffix(".partial") }.sorted().compactMap { n in
            guard let a = try? FileManager.default.attributesOfItem(atPath: "\(dir)/\(n)") else { return nil }
            return FileEntry(name: n, size: (a[.size] as? UInt64) ?? 0,
                             modified: ((a[.modificationDate] as? Date) ?? .distantPast).timeIntervalSince1970)
        }
    }

    /// The directory of a known instance.
    static func directory(_ executor: Executor, _ context: CorralRequestContext) async throws(APIError) -> String {
        let id = context.parameters.get("instanceId") ?? ""
        guard let dir = await executor.logDirectory(id) else {
            throw APIError(.notFound, "not_found", "no instance or task \(id)")
        }
        return dir
    }

    static func file(_ context: CorralRequestContext, _ dir: String) throws(APIError) -> String {
        let name = context.parameters.get("file") ?? ""
        guard validName(name) else {
            throw APIError(.badRequest, "invalid_file", "\"\(name)\" is not a log file name")
        }
        let path = "\(dir)/\(name)"
        guard FileManager.default.fileExists(atPath: path) else {
            throw APIError(.notFound, "not_found", "no log file \(name)")
        }
        return path
    }

    /// Drove's `LogFileStream.LogBuffer`.
    struct DroveBuffer: ResponseEncodable {
        var data: String
        var offset: Int64
    }

    struct DroveFiles: ResponseEncodable {
        var files: [String]
    }

    /// The directory named by Drove's `{appId}/{instanceId}` (a task's source app and instance id).
    static func droveDirectory(_ executor: Executor, _ context: CorralRequestContext) async throws(APIError) -> String {
        let app = context.parameters.get("appId") ?? "", id = context.parameters.get("instanceId") ?? ""
        guard let dir = await executor.logDirectory(appId: app, id: id) else {
            throw APIError(.notFound, "not_found", "no instance or task \(id) of \(app)")
        }
        return dir
    }

    /// Drove's executor log API (`/apis/v1/logs/filestream/{appId}/{instanceId}/...`,
    /// answered without the envelope, as Drove's controller proxies it):
    /// `list` gives `{"files": [...]}`; `read` with offset -1 and no length
    /// gives the file's size as the offset and no data, otherwise up to
    /// `length` bytes (32 KiB by default) from `offset`; `download` the file.
    static func addDrove(to api: RouterGroup<CorralRequestContext>, executor: Executor) {
        api.get("logs/filestream/{appId}/{instanceId}/list") { _, context in
            DroveFiles(files: files(try await droveDirectory(executor, context)).map(\.name))
        }
        api.get("logs/filestream/{appId}/{instanceId}/read/{file}") { request, context in
            let path = try file(context, try await droveDirectory(executor, context))
            let offset = try request.integer("offset", absent: Int64(-1), in: -1...Int64.max)
            let length = try request.integer("length", absent: -1, in: -1...(4 << 20))
            guard let fh = FileHandle(forReadingAtPath: path) else {
                throw APIError(.notFound, "not_found", "cannot open the log file")
            }
            defer { try? fh.close() }
            let size = Int64((try? fh.seekToEnd()) ?? 0)
            if offset == -1 && length == -1 { return DroveBuffer(data: "", offset: size) }
            let from = max(0, min(offset, size))
            try? fh.seek(toOffset: UInt64(from))
            let data = (try? fh.read(upToCount: length == -1 ? 32_768 : length)) ?? Data()
            return DroveBuffer(data: String(decoding: data, as: UTF8.self), offset: from)
        }
        api.get("logs/filestream/{appId}/{instanceId}/download/{file}") { _, context in
            try download(try file(context, try await droveDirectory(executor, context)))
        }
    }

    static func download(_ path: String) throws(APIError) -> Response {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw APIError(.notFound, "not_found", "cannot read the log file")
        }
        let name = (path as NSString).lastPathComponent
        return Response(status: .ok, headers: [.contentType: "application/octet-stream",
                                               .contentDisposition: "attachment; filename=\"\(name)\""],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func add(to api: RouterGroup<CorralRequestContext>, executor: Executor) {
        addDrove(to: api, executor: executor)
        api.get("logs/{instanceId}/files") { _, context in
            files(try await directory(executor, context))
        }

        api.get("logs/{instanceId}/read/{file}") { request, context in
            let path = try file(context, try await directory(executor, context))
            let offset = try request.integer("offset", absent: UInt64(0), in: 0...UInt64(Int64.max))
            let length = try request.integer("length", absent: 65_536, in: 0...(4 << 20))
            guard let fh = FileHandle(forReadingAtPath: path) else {
                throw APIError(.notFound, "not_found", "cannot open the log file")
            }
            defer { try? fh.close() }
            let size = (try? fh.seekToEnd()) ?? 0
            try? fh.seek(toOffset: min(offset, size))
            let data = (try? fh.read(upToCount: length)) ?? Data()
            return Chunk(data: String(decoding: data, as: UTF8.self), offset: min(offset, size), length: data.count, size: size)
        }

        api.get("logs/{instanceId}/download/{file}") { _, context in
            try download(try file(context, try await directory(executor, context)))
        }

        api.get("logs/{instanceId}/tail") { request, context in
            let dir = try await directory(executor, context)
            let id = context.parameters.get("instanceId") ?? ""
            let lines = try request.integer("lines", absent: 100, in: 0...100_000)
            let follow = try request.flag("follow")
            let path = "\(dir)/output.log"
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: ResponseBody { out in
                                let (initial, end) = lastLines(path, lines)
                                try await out.write(ByteBuffer(bytes: initial))
                                var offset = end
                                while follow {
                                    try await Task.sleep(for: .milliseconds(200))
                                    let (chunk, next) = readFrom(path, offset)
                                    if next < offset { offset = 0; continue }  // rotated: start the new file
                                    if !chunk.isEmpty { try await out.write(ByteBuffer(bytes: chunk)) }
                                    offset = next
                                    if await executor.isFinished(id), chunk.isEmpty { break }
                                }
                                try await out.finish(nil)
                            })
        }
    }

    /// The last `n` lines of a file, and where it ends.
    static func lastLines(_ path: String, _ n: Int) -> (bytes: [UInt8], end: UInt64) {
        guard let data = FileManager.default.contents(atPath: path) else { return ([], 0) }
        let bytes = [UInt8](data)
        var count = 0
        var start = bytes.count
        var i = bytes.count - 1
        if i >= 0, bytes[i] == 10 { i -= 1 }
        while i >= 0 {
            if bytes[i] == 10 {
                count += 1
                if count == n { start = i + 1; break }
            }
            i -= 1
        }
        if i < 0 { start = 0 }
        if n == 0 { start = bytes.count }
        return (Array(bytes[start...]), UInt64(bytes.count))
    }

    static func readFrom(_ path: String, _ offset: UInt64) -> ([UInt8], UInt64) {
        guard let fh = FileHandle(forReadingAtPath: path) else { return ([], offset) }
        defer { try? fh.close() }
        let size = (try? fh.seekToEnd()) ?? 0
        if size < offset { return ([], size) }
        try? fh.seek(toOffset: offset)
        let data = (try? fh.read(upToCount: 1 << 20)) ?? Data()
        return ([UInt8](data), offset + UInt64(data.count))
    }
}
