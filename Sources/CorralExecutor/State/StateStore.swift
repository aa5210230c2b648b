import CorralCore
import CorralHost
import CorralRuntime
import Foundation
import GRDB
import Logging

public enum ExecutorErrorCode: String, Sendable, Equatable {
    case stateUnavailable = "state_unavailable"
    case notFound = "not_found"
    case conflict = "conflict"
    case invalid = "invalid"
    case doesNotFit = "does_not_fit"
    case engineUnavailable = "engine_unavailable"
    /// The cluster blacklisted this executor: it takes nothing new.
    case blacklisted = "executor_blacklisted"
}

public typealias ExecutorError = CodedError<ExecutorErrorCode>

/// The executor's durable state: one SQLite file in WAL mode under the state
/// directory. Every workload change is one upsert of one row (state, history,
/// allocation, ports, handle together), so a crash can never separate a state
/// from the resources it holds. Specs are kept with their environment values
/// removed: they may hold secrets.
public final class StateStore: Sendable {
    let db: DatabasePool
    public let path: String

    /// Modes tightened when the store opened (a directory or file that others
    /// could read), for the executor to log.
    public let tightened: [String]

    public init(directory: String) throws(ExecutorError) {
        path = "\(directory)/state.sqlite"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            // Only Corral may read its state: the directory 0700, the database
            // and its WAL and SHM files 0600 (SQLite gives those the database
            // file's mode, so it is created 0600 before SQLite opens it).
            var notes: [String] = []
            notes += FileModes.tighten(directory, to: 0o700)
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            if fd >= 0 { close(fd) }
            for f in [path, path + "-wal", path + "-shm"] { notes += FileModes.tighten(f, to: 0o600) }
            tightened = notes
            var config = Configuration()
            config.busyMode = .timeout(5)
            db = try DatabasePool(path: path, configuration: config)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.execute(sql: """
                    CREATE TABLE workloads (
                        id TEXT PRIMARY KEY NOT NULL,
                        kind TEXT NOT NULL,
                        app_id TEXT NOT NULL,
                        state TEXT NOT NULL,
                        terminal INTEGER NOT NULL,
                        info TEXT NOT NULL,
                        spec TEXT,
                        updated REAL NOT NULL
                    );
                    CREATE INDEX workloads_live ON workloads(terminal);
                    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    """)
            }
            migrator.registerMigration("v2-stage-jobs") { db in
                try db.execute(sql: """
                    CREATE TABLE stage_jobs (
                        id TEXT PRIMARY KEY NOT NULL,
                        stage TEXT NOT NULL,
                        state TEXT NOT NULL,
                        job TEXT NOT NULL,
                        updated REAL NOT NULL
                    );
                    CREATE INDEX stage_jobs_state ON stage_jobs(state);
                    """)
            }
            try migrator.migrate(db)
        } catch {
            throw ExecutorError(.stateUnavailable, "cannot open the state database \(path): \(error)", context: ["path": path])
        }
    }

    /// A stored workload: its last known info and its spec (environment values removed).
    public struct Row: Sendable {
        public var info: InstanceInfo
        public var spec: Data?
        public var terminal: Bool
    }

    /// Records the workload's current info (one transaction).
    public func save(_ info: InstanceInfo, terminal: Bool, spec: Data? = nil) throws(ExecutorError) {
        do {
            let json = String(decoding: try JSONEncoder().encode(info), as: UTF8.self)
            try db.write { db in
                try db.execute(sql: """
                    INSERT INTO workloads (id, kind, app_id, state, terminal, info, spec, updated)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET state = excluded.state, terminal = excluded.terminal,
                        info = excluded.info, spec = COALESCE(excluded.spec, workloads.spec), updated = excluded.updated
                    """, arguments: [info.instanceId, info.kind.rawValue, info.appId, info.state.name, terminal, json,
                                     spec.map { String(decoding: $0, as: UTF8.self) }, info.updated])
            }
        } catch {
            throw ExecutorError(.stateUnavailable, "cannot write the state database: \(error)")
        }
    }

    /// The pinned CPUs of each live workload among `rows`.
    public static func pinned(_ rows: [Row]) -> [(id: String, cpus: CPUSet)] {
        rows.compactMap { r in
            guard !r.terminal, let a = r.info.allocation, !a.cpus.isEmpty else { return nil }
            return (r.info.instanceId, a.cpus)
        }
    }

    /// The live rows, or none with the failure logged (for checks that must not stop a start).
    func loadOrLog(_ logger: Logger) -> [Row] {
        do {
            return try load(liveOnly: true)
        } catch {
            logger.error("cannot read the workloads from the state database", metadata: ["error": "\(error.message)"])
            return []
        }
    }

    public func load(liveOnly: Bool) throws(ExecutorError) -> [Row] {
        do {
            return try db.read { db in
                let rows = try GRDB.Row.fetchAll(db, sql: liveOnly
                    ? "SELECT info, spec, terminal FROM workloads WHERE terminal = 0 ORDER BY rowid"
                    : "SELECT info, spec, terminal FROM workloads ORDER BY rowid")
                return try rows.map { r in
                    let info = try JSONDecoder().decode(InstanceInfo.self, from: Data((r["info"] as String).utf8))
                    let spec: String? = r["spec"]
                    return Row(info: info, spec: spec.map { Data($0.utf8) }, terminal: r["terminal"])
                }
            }
        } catch {
            throw ExecutorError(.stateUnavailable, "cannot read the state database: \(error)")
        }
    }

    /// Records a stage job as it is now (one transaction).
    public func saveJob(_ job: StageJob) throws(ExecutorError) {
        do {
            let data = try JSONEncoder().encode(job)
            try db.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO stage_jobs (id, stage, state, job, updated) VALUES (?, ?, ?, ?, ?)",
                               arguments: [job.id, job.stage, job.state.rawValue, String(decoding: data, as: UTF8.self),
                                           Date().timeIntervalSince1970])
            }
        } catch {
            throw ExecutorError(.stateUnavailable, "cannot record job \(job.id): \(error)")
        }
    }

    /// Stage jobs: every unfinished one and the newest `recent` finished ones.
    public func loadJobs(recent: Int = 10_000) throws(ExecutorError) -> [StageJob] {
        do {
            return try db.read { db in
                let rows = try GRDB.Row.fetchAll(db, sql: """
                    SELECT job FROM stage_jobs WHERE state IN ('QUEUED', 'RUNNING')
                    UNION ALL SELECT job FROM (SELECT job FROM stage_jobs WHERE state NOT IN ('QUEUED', 'RUNNING')
                                               ORDER BY updated DESC LIMIT ?)
                    """, arguments: [recent])
                return rows.compactMap { try? JSONDecoder().decode(StageJob.self, from: Data(($0["job"] as String).utf8)) }
            }
        } catch {
            throw ExecutorError(.stateUnavailable, "cannot read stage jobs: \(error)")
        }
    }

    public func meta(_ key: String) -> String? {
        try? db.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    public func setMeta(_ key: String, _ value: String) throws(ExecutorError) {
        do {
            try db.write { db in
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                               arguments: [key, value])
            }
        } catch {
            throw ExecutorError(.stateUnavailable, "cannot write the state database: \(error)")
        }
    }

    /// Whether a write goes through now (for /healthcheck).
    public func isWritable() -> Bool {
        (try? setMeta("last-health-write", String(Date().timeIntervalSince1970))) != nil
    }

    /// A spec's JSON with every environment value and INLINE config's data removed (keys and paths kept).
    public static func redacted<T: Encodable>(_ spec: T) -> Data? {
        guard let data = try? JSONEncoder().encode(spec),
              var object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        if let env = object["env"] as? [String: Any] {
            object["env"] = Dictionary(uniqueKeysWithValues: env.keys.map { ($0, "") })
        }
        if let configs = object["configs"] as? [[String: Any]] {
            object["configs"] = configs.map { c in c["data"] == nil ? c : c.merging(["data": ""]) { _, empty in empty } }
        }
        return try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}
