import CorralCore
import CorralRuntime
import Foundation
import Logging
import ServiceLifecycle

/// Keeps standalone applications at their instance count: starts missing
/// instances, stops extra ones (newest first), and replaces instances that
/// failed (LOST, START_FAILED, UNHEALTHY, ...) after an exponential backoff
/// with jitter (1 s doubling to at most 60 s, times 0.5-1.5), reset once an
/// instance has been HEALTHY for a minute.
///
/// It only talks to the executor through `startInstance`, `stopInstance` and
/// `list`, so a cluster controller can take its place later. App specs are
/// kept in the state database with every environment value sealed
/// (``SecretBox``), so after a restart the apps are kept as deployed.
public actor AppReconciler: Service {
    public struct App: Sendable, Codable {
        public var appId: String
        public var spec: InstanceSpec
        public var instances: Int
        public var failures: Int = 0
        public var nextStart: Double = 0
        public var paused: String? = nil
    }

    public struct Status: Sendable, Codable {
        public var appId: String
        public var desired: Int
        public var running: Int
        public var healthy: Int
        public var instances: [String]
        public var failures: Int
        public var nextStartInSeconds: Double?
        public var paused: String?
    }

    let executor: Executor
    let store: StateStore?
    /// Seals environment values before they are stored; without it they are not stored at all.
    let secrets: SecretBox?
    private var apps: [String: App] = [:]
    let baseDelay: Double
    let maxDelay: Double

    let interval: Duration

    /// The state database's key for apps with sealed environment values.
    static let sealedKey = "apps-sealed-v1"
    /// Where apps were kept before values were sealed (environment values removed).
    static let redactedKey = "apps"

    /// Loads the apps saved in `store`; ``run()`` keeps them. With `secrets`,
    /// environment values are stored sealed and an app restarted after a crash
    /// gets them back exactly as deployed; a value that does not open (key lost
    /// or replaced) pauses that app with an error naming it and the variable.
    public init(executor: Executor, store: StateStore?, secrets: SecretBox? = nil, baseDelay: Double = 1, maxDelay: Double = 60,
                interval: Duration = .seconds(1)) {
        self.executor = executor
        self.store = store
        self.secrets = secrets
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.interval = interval
        let decoder = JSONDecoder()
        if let secrets, let saved = store?.meta(Self.sealedKey).flatMap({ try? decoder.decode([String: App].self, from: Data($0.utf8)) }) {
            for (id, var app) in saved {
                // Every value that does not open is named; the app waits for a new deploy.
                var unopened: [String] = [], why = ""
                for (name, value) in app.spec.env.sorted(by: { $0.key < $1.key }) where SecretBox.isSealed(value) {
                    do throws(SecretError) {
                        app.spec.env[name] = try secrets.open(value, context: Self.context(id, name))
                    } catch {
                        app.spec.env[name] = ""
                        unopened.append("environment value \(name)")
                        why = error.message
                    }
                }
                for (i, c) in app.spec.configs.enumerated() {
                    guard case .inline(let b64) = c.source, SecretBox.isSealed(b64) else { continue }
                    do throws(SecretError) {
                        app.spec.configs[i].source = .inline(base64: try secrets.open(b64, context: Self.configContext(id, c.localFilename)))
                    } catch {
                        app.spec.configs[i].source = .inline(base64: "")
                        unopened.append("config file \(c.localFilename)")
                        why = error.message
                    }
                }
                if !unopened.isEmpty {
                    app.paused = "app \(id): \(unopened.joined(separator: ", ")) cannot be decrypted (\(why)); deploy the app again to resume"
                }
                apps[id] = app
            }
        } else if let saved = store?.meta(Self.redactedKey).flatMap({ try? decoder.decode([String: App].self, from: Data($0.utf8)) }) {
            for (id, var app) in saved {
                if app.spec.env.values.contains(where: { $0.isEmpty }) && !app.spec.env.isEmpty {
                    app.paused = "environment values are not stored (they may be secrets): deploy the app again to resume"
                }
                if app.spec.configs.contains(where: { $0.source == .inline(base64: "") }) {
                    app.paused = "config files are not stored (they may be secrets): deploy the app again to resume"
                }
                apps[id] = app
            }
        }
    }

    /// What a sealed value is bound to: the app and the variable.
    static func context(_ appId: String, _ name: String) -> String { "app \(appId) env \(name)" }
    /// What a sealed INLINE config is bound to: the app and the file's path.
    static func configContext(_ appId: String, _ path: String) -> String { "app \(appId) config \(path)" }

    /// Reconciles every `interval` until graceful shutdown or cancellation.
    /// Ends normally on graceful shutdown (the group then goes on stopping the
    /// other services); a cancellation is not an error of this service.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { [self] in
                while !Task.isCancelled {
                    await reconcile()
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// Writes `next` to the state database; the caller keeps it only when this
    /// succeeds, so a deploy, scale or destroy is durable or refused, never half-applied.
    func save(_ next: [String: App]) throws(ExecutorError) {
        var stored = next
        for (id, app) in stored {
            for (name, value) in app.spec.env {
                if let secrets {
                    do throws(SecretError) {
                        stored[id]!.spec.env[name] = try secrets.seal(value, context: Self.context(id, name))
                    } catch {
                        throw ExecutorError(.stateUnavailable, "app \(id): cannot seal environment value \(name): \(error.message)")
                    }
                } else {
                    stored[id]!.spec.env[name] = ""
                }
            }
            for (i, c) in app.spec.configs.enumerated() {
                guard case .inline(let b64) = c.source else { continue }
                if let secrets {
                    do throws(SecretError) {
                        stored[id]!.spec.configs[i].source = .inline(base64: try secrets.seal(b64, context: Self.configContext(id, c.localFilename)))
                    } catch {
                        throw ExecutorError(.stateUnavailable, "app \(id): cannot seal config file \(c.localFilename): \(error.message)")
                    }
                } else {
                    stored[id]!.spec.configs[i].source = .inline(base64: "")
                }
            }
        }
        let data: Data
        do {
            data = try JSONEncoder().encode(stored)
        } catch {
            throw ExecutorError(.stateUnavailable, "cannot encode the apps: \(error)")
        }
        try store?.setMeta(secrets == nil ? Self.redactedKey : Self.sealedKey, String(decoding: data, as: UTF8.self))
    }

    // MARK: Operations

    public func deploy(_ spec: InstanceSpec, instances: Int) throws(ExecutorError) -> Status {
        guard (0...1000).contains(instances) else {
            throw ExecutorError(.invalid, "instances must be from 0 to 1000 (got \(instances))")
        }
        var template = spec
        template.instanceId = nil
        var app = apps[spec.appId] ?? App(appId: spec.appId, spec: template, instances: instances)
        app.spec = template
        app.instances = instances
        app.paused = nil
        app.failures = 0
        app.nextStart = 0
        var next = apps
        next[spec.appId] = app
        try save(next)
        apps = next
        return status(app, [])
    }

    public func scale(_ appId: String, instances: Int) throws(ExecutorError) -> Status {
        guard var app = apps[appId] else { throw ExecutorError(.notFound, "no app \(appId)") }
        guard (0...1000).contains(instances) else {
            throw ExecutorError(.invalid, "instances must be from 0 to 1000 (got \(instances))")
        }
        app.instances = instances
        var next = apps
        next[appId] = app
        try save(next)
        apps = next
        return status(app, [])
    }

    /// Removes the app and stops all its instances.
    public func destroy(_ appId: String) async throws(ExecutorError) {
        guard apps[appId] != nil else { throw ExecutorError(.notFound, "no app \(appId)") }
        var next = apps
        next[appId] = nil
        try save(next)
        apps = next
        for i in await executor.list(kind: .application) where i.appId == appId && !i.state.isTerminal {
            _ = try? await executor.stopInstance(i.instanceId)
        }
    }

    public func list() async -> [Status] {
        let all = await executor.list(kind: .application)
        return apps.values.sorted { $0.appId < $1.appId }.map { status($0, all) }
    }

    public func get(_ appId: String) async -> Status? {
        guard let app = apps[appId] else { return nil }
        return status(app, await executor.list(kind: .application))
    }

    // MARK: Reconciling

    /// Counted in an app's instances: neither ended nor on the way out.
    static func live(_ i: InstanceInfo) -> Bool { !i.state.isTerminal && !i.state.isStopping }

    func status(_ app: App, _ all: [InstanceInfo]) -> Status {
        let mine = all.filter { $0.appId == app.appId && Self.live($0) }
        let wait = app.nextStart - Date().timeIntervalSince1970
        return Status(appId: app.appId, desired: app.instances, running: mine.count,
                      healthy: mine.filter { $0.state == .instance(.HEALTHY) }.count, instances: mine.map(\.instanceId).sorted(),
                      failures: app.failures, nextStartInSeconds: wait > 0 ? wait : nil, paused: app.paused)
    }

    /// One pass over every app.
    public func reconcile() async {
        let now = Date().timeIntervalSince1970
        let all = await executor.list(kind: .application)
        for id in apps.keys.sorted() {
            guard var app = apps[id] else { continue }
            let mine = all.filter { $0.appId == id }
            // Count failures seen since the last pass.
            for i in mine where i.state.isTerminal && i.history.contains(where: { $0.state.isFailure }) {
                if !seenFailures.contains(i.instanceId) {
                    seenFailures.insert(i.instanceId)
                    app.failures += 1
                    let delay = min(maxDelay, baseDelay * pow(2, Double(app.failures - 1))) * Double.random(in: 0.5...1.5)
                    app.nextStart = now + delay
                }
            }
            // Healthy for a minute: the app is stable again.
            if app.failures > 0, mine.contains(where: { $0.state == .instance(.HEALTHY) && now - $0.updated > 60 }) {
                app.failures = 0
            }
            let live = mine.filter(Self.live)
            if live.count > app.instances {
                for extra in live.sorted(by: { $0.created > $1.created }).prefix(live.count - app.instances) {
                    _ = try? await executor.stopInstance(extra.instanceId)
                }
            } else if live.count < app.instances, app.paused == nil, now >= app.nextStart {
                do {
                    _ = try await executor.startInstance(app.spec)
                } catch {
                    // Does not fit (or no engine): try again after the backoff.
                    app.failures += 1
                    app.nextStart = now + min(maxDelay, baseDelay * pow(2, Double(app.failures - 1))) * Double.random(in: 0.5...1.5)
                }
            }
            apps[id] = app
        }
    }

    private var seenFailures = Set<String>()
}
