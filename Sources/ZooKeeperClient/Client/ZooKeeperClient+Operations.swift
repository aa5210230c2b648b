import NIOCore

/// The operations. Every one validates its path first, has a deadline
/// (`timeout`, or the configuration's `requestTimeout`), and throws
/// ``ZooKeeperError`` naming the path.
extension ZooKeeperClient {
    /// Creates a node; returns its path (with the sequence number of a
    /// sequential node) and its Stat. With `createParents`, missing parents
    /// are created as containers (as Curator's `creatingParentContainersIfNeeded`).
    @discardableResult
    public nonisolated func create(_ path: String, data: [UInt8] = [], mode: CreateMode = .persistent,
                                   acl: [ACL] = ACL.openUnsafe, createParents: Bool = false,
                                   timeout: Duration? = nil) async throws -> (path: String, stat: Stat) {
        try ZooKeeperPath.validate(path, sequential: mode.isSequential)
        let request = CreateRequest(path: chroot.server(path), data: data, acl: acl, mode: mode.request)
        do {
            let reply = try await submit(mode.request.opCode, request.encoded, path: path, timeout: timeout)
            let response = try decode(Create2Response.self, reply, path)
            return (chroot.client(response.path), response.stat)
        } catch let error as ZooKeeperError where error.code == .noNode && createParents {
            guard let parent = ZooKeeperPath.parent(of: path) else { throw error }
            try await ensurePath(parent, timeout: timeout)
            return try await create(path, data: data, mode: mode, acl: acl, createParents: false, timeout: timeout)
        }
    }

    /// Deletes a node if its version is `version` (-1: any).
    public nonisolated func delete(_ path: String, version: Int32 = -1, timeout: Duration? = nil) async throws {
        try ZooKeeperPath.validate(path)
        let reply = try await submit(.delete, VersionedPathRequest(path: chroot.server(path), version: version).encoded,
                                     path: path, timeout: timeout)
        try check(reply, path)
    }

    /// The node's Stat, nil when it does not exist.
    public nonisolated func exists(_ path: String, timeout: Duration? = nil) async throws -> Stat? {
        try await exists(path, watch: nil, timeout: timeout)
    }

    /// The node's Stat (nil when missing) and a watch that fires when it is
    /// created, changed or deleted.
    public nonisolated func existsWatch(_ path: String, timeout: Duration? = nil) async throws -> (stat: Stat?, watch: ZooKeeperWatch) {
        let (watch, sink) = ZooKeeperWatch.makeStream()
        let stat = try await exists(path, watch: WatchRequest(kind: .exists, path: path, sink: sink), timeout: timeout)
        return (stat, watch)
    }

    private nonisolated func exists(_ path: String, watch: WatchRequest?, timeout: Duration?) async throws -> Stat? {
        try ZooKeeperPath.validate(path)
        let reply = try await submit(.exists, PathRequest(path: chroot.server(path), watch: watch != nil).encoded,
                                     path: path, watch: watch, timeout: timeout)
        if reply.header.error == .noNode { return nil }
        return try decode(Stat.self, reply, path)
    }

    /// The node's bytes and Stat.
    public nonisolated func getData(_ path: String, timeout: Duration? = nil) async throws -> (data: [UInt8], stat: Stat) {
        let r = try await getData(path, watch: nil, timeout: timeout)
        return (r.data ?? [], r.stat)
    }

    /// The node's bytes and Stat, and a watch that fires when it changes or is deleted.
    public nonisolated func getDataWatch(_ path: String, timeout: Duration? = nil) async throws -> (data: [UInt8], stat: Stat, watch: ZooKeeperWatch) {
        let (watch, sink) = ZooKeeperWatch.makeStream()
        let r = try await getData(path, watch: WatchRequest(kind: .data, path: path, sink: sink), timeout: timeout)
        return (r.data ?? [], r.stat, watch)
    }

    private nonisolated func getData(_ path: String, watch: WatchRequest?, timeout: Duration?) async throws -> GetDataResponse {
        try ZooKeeperPath.validate(path)
        let reply = try await submit(.getData, PathRequest(path: chroot.server(path), watch: watch != nil).encoded,
                                     path: path, watch: watch, timeout: timeout)
        return try decode(GetDataResponse.self, reply, path)
    }

    /// Replaces the node's bytes if its version is `version` (-1: any); the new Stat.
    @discardableResult
    public nonisolated func setData(_ path: String, data: [UInt8], version: Int32 = -1, timeout: Duration? = nil) async throws -> Stat {
        try ZooKeeperPath.validate(path)
        let reply = try await submit(.setData, SetDataRequest(path: chroot.server(path), data: data, version: version).encoded,
                                     path: path, timeout: timeout)
        return try decode(Stat.self, reply, path)
    }

    /// The node's children (names, unsorted as the server sends them) and its Stat.
    public nonisolated func getChildren(_ path: String, timeout: Duration? = nil) async throws -> (children: [String], stat: Stat) {
        let r = try await getChildren(path, watch: nil, timeout: timeout)
        return (r.children, r.stat)
    }

    /// The children and a watch that fires when a child is added or removed
    /// (or the node is deleted).
    public nonisolated func getChildrenWatch(_ path: String, timeout: Duration? = nil) async throws -> (children: [String], stat: Stat, watch: ZooKeeperWatch) {
        let (watch, sink) = ZooKeeperWatch.makeStream()
        let r = try await getChildren(path, watch: WatchRequest(kind: .children, path: path, sink: sink), timeout: timeout)
        return (r.children, r.stat, watch)
    }

    private nonisolated func getChildren(_ path: String, watch: WatchRequest?, timeout: Duration?) async throws -> GetChildren2Response {
        try ZooKeeperPath.validate(path)
        let reply = try await submit(.getChildren2, PathRequest(path: chroot.server(path), watch: watch != nil).encoded,
                                     path: path, watch: watch, timeout: timeout)
        return try decode(GetChildren2Response.self, reply, path)
    }

    /// Waits until the server this session talks to has everything the
    /// leader had committed when the call was made.
    public nonisolated func sync(_ path: String = "/", timeout: Duration? = nil) async throws {
        try ZooKeeperPath.validate(path)
        var body = ByteBuffer()
        body.writeJuteString(chroot.server(path))
        let reply = try await submit(.sync, body, path: path, timeout: timeout)
        _ = try decode(PathResponse.self, reply, path)
    }

    /// A watch that stays (ZooKeeper 3.6+ `addWatch`): every event on the node
    /// or, `recursive`, on the node and everything below it (children changes
    /// excepted, as ZooKeeper defines it). It is re-armed after reconnects and
    /// ends when the session expires or the stream is dropped.
    public nonisolated func addWatch(_ path: String, recursive: Bool, timeout: Duration? = nil) async throws -> AsyncThrowingStream<ZooKeeperWatchEvent, any Error> {
        try ZooKeeperPath.validate(path)
        let request = AddWatchRequest(path: chroot.server(path), mode: recursive ? .persistentRecursive : .persistent)
        let reply = try await submit(.addWatch, request.encoded, path: path, timeout: timeout)
        try check(reply, path)
        let (stream, sink) = AsyncThrowingStream.makeStream(of: ZooKeeperWatchEvent.self, throwing: (any Error).self)
        let id = watches.addPersistent(path: path, recursive: recursive, sink: sink)
        let registry = watches
        sink.onTermination = { _ in registry.removePersistent(id) }
        return stream
    }

    /// A transaction: every operation is applied, or none is and the error
    /// names the first that failed (`ZooKeeperError.path`).
    @discardableResult
    public nonisolated func multi(_ operations: [ZooKeeperOperation], timeout: Duration? = nil) async throws -> [ZooKeeperOperationResult] {
        var body = ByteBuffer()
        for op in operations {
            switch op {
            case .create(let path, let data, let mode, let acl):
                try ZooKeeperPath.validate(path, sequential: mode.isSequential)
                MultiHeader(op: op.opCode).encode(to: &body)
                CreateRequest(path: chroot.server(path), data: data, acl: acl, mode: mode.request).encode(to: &body)
            case .delete(let path, let version), .check(let path, let version):
                try ZooKeeperPath.validate(path)
                MultiHeader(op: op.opCode).encode(to: &body)
                VersionedPathRequest(path: chroot.server(path), version: version).encode(to: &body)
            case .setData(let path, let data, let version):
                try ZooKeeperPath.validate(path)
                MultiHeader(op: op.opCode).encode(to: &body)
                SetDataRequest(path: chroot.server(path), data: data, version: version).encode(to: &body)
            }
        }
        MultiHeader.end.encode(to: &body)
        let reply = try await submit(.multi, body, path: operations.first?.path, timeout: timeout)
        if let error = reply.header.error, reply.body.readableBytes == 0 {
            throw ZooKeeperError(error, path: operations.first?.path, "the transaction was not applied")
        }
        var reader = JuteReader(reply.body, limit: configuration.maxFrameSize)
        var results: [ZooKeeperOperationResult] = []
        var failure: (index: Int, code: ZooKeeperErrorCode)?
        do throws(JuteError) {
            while true {
                let header = try MultiHeader(from: &reader)
                if header.done { break }
                switch header.type {
                case OpCode.create.rawValue: results.append(.created(chroot.client(try PathResponse(from: &reader).path), nil))
                case OpCode.create2.rawValue, OpCode.createContainer.rawValue:
                    let r = try Create2Response(from: &reader)
                    results.append(.created(chroot.client(r.path), r.stat))
                case OpCode.delete.rawValue: results.append(.deleted)
                case OpCode.setData.rawValue: results.append(.dataSet(try Stat(from: &reader)))
                case OpCode.check.rawValue: results.append(.checked)
                default:
                    let err = try ErrorResponse(from: &reader).err
                    if failure == nil, err != 0, err != ZooKeeperErrorCode.runtimeInconsistency.rawValue {
                        failure = (results.count, ZooKeeperErrorCode(rawValue: err) ?? .unknown)
                    }
                    results.append(.checked)
                }
            }
        } catch {
            throw ZooKeeperError(.marshallingError, path: operations.first?.path, "multi reply: \(error)")
        }
        if let failure {
            let path = failure.index < operations.count ? operations[failure.index].path : nil
            throw ZooKeeperError(failure.code, path: path, "operation \(failure.index + 1) of \(operations.count) failed; the transaction was not applied")
        }
        if let error = reply.header.error {
            throw ZooKeeperError(error, path: operations.first?.path, "the transaction was not applied")
        }
        return results
    }

    /// Creates `path` and any missing parent as container nodes (nothing
    /// when it exists).
    public nonisolated func ensurePath(_ path: String, timeout: Duration? = nil) async throws {
        try ZooKeeperPath.validate(path)
        if path == "/" { return }
        if try await exists(path, timeout: timeout) != nil { return }
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            do {
                try await create(prefix, mode: .container, timeout: timeout)
            } catch let error as ZooKeeperError where error.code == .nodeExists {
                continue
            }
        }
    }

    // MARK: - Replies

    nonisolated func check(_ reply: Reply, _ path: String) throws {
        if let error = reply.header.error { throw ZooKeeperError(error, path: path) }
    }

    nonisolated func decode<R: JuteRecord>(_ type: R.Type, _ reply: Reply, _ path: String) throws -> R {
        try check(reply, path)
        do throws(JuteError) {
            return try R.decode(reply.body, limit: configuration.maxFrameSize)
        } catch {
            throw ZooKeeperError(.marshallingError, path: path, error.description)
        }
    }
}

