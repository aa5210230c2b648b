import CorralCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `corral run`'s side of the executor's run socket: sends the request,
/// passes stop signals on as frames, writes the job's output where it
/// belongs, and ends with the job's exit status.
struct RunClient {
    let socketPath: String

    enum Failure: Error, CustomStringConvertible {
        case connect(String)
        case lost(String)
        var description: String {
            switch self {
            case .connect(let s), .lost(let s): s
            }
        }
    }

    /// Connects to the socket; the descriptor.
    func connect() throws(Failure) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connect("cannot create a socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw .connect("the socket path \(socketPath) is longer than a unix socket path may be")
        }
        // sun_path is a fixed C array: copy the path's bytes into it, NUL-terminated (zeroed above).
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            let hint = e == ENOENT || e == ECONNREFUSED
                ? " (is the executor running with options.runSocketPath \(socketPath)? set CORRAL_RUN_SOCKET or --socket for another)" : ""
            throw .connect("cannot connect to \(socketPath): \(String(cString: strerror(e)))\(hint)")
        }
        return fd
    }

    static func send(_ fd: Int32, _ frame: RunFrame) -> Bool {
        writeAll(fd, frame.encoded)
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            off += n
        }
        return true
    }

    /// What the executor's last frame said.
    enum End {
        case exit(RunOutcome)
        case error(RunFailure)
    }

    /// Reads frames until the `.exit` or `.error` one; output goes to 1 and 2,
    /// progress lines to 2.
    static func follow(_ fd: Int32, progress: (String) -> Void) throws(Failure) -> End {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            do {
                while let (frame, used) = try RunFrame.decode(pending[...]) {
                    pending.removeFirst(used)
                    switch frame.kind {
                    case .stdout: writeAll(1, frame.payload)
                    case .stderr: writeAll(2, frame.payload)
                    case .progress: progress(String(decoding: frame.payload, as: UTF8.self))
                    case .exit:
                        guard let o = try? JSONDecoder().decode(RunOutcome.self, from: Data(frame.payload)) else {
                            throw Failure.lost("the executor's exit frame is not JSON")
                        }
                        return .exit(o)
                    case .error:
                        guard let f = try? JSONDecoder().decode(RunFailure.self, from: Data(frame.payload)) else {
                            throw Failure.lost("the executor's error frame is not JSON")
                        }
                        return .error(f)
                    case .request, .signal, .stdin:
                        throw Failure.lost("the executor sent a \(frame.kind) frame, which only a client sends")
                    }
                }
            } catch let e as RunFrame.DecodeError {
                throw .lost("the executor sent a bad frame: \(e)")
            } catch let e as Failure {
                throw e
            } catch {
                throw .lost("\(error)")
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .lost("reading from the executor failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                throw .lost("the executor closed the connection before the job ended (did it stop? it stops jobs whose client is gone)")
            }
            pending += chunk[0..<n]
        }
    }
}
