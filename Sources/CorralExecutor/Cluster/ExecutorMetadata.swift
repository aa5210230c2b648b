import CorralCore
import Foundation
import Logging
import ServiceLifecycle

/// The executor's metadata from `resources.metadata`' providers, kept on
/// the executor (published in its node data and `/apis/v1/executor`):
/// CONFIGURED and ENVIRONMENT values and STATIC commands once at start,
/// DYNAMIC commands again every `commandRerunInSecs` while the executor runs.
/// A command that fails (or runs past 30 s) gives its `defaultValue`.
public actor ExecutorMetadata: Service {
    let config: MetadataConfig
    let environment: [String: String]
    let executor: Executor
    let logger: Logger
    /// Each provider's current values.
    private var values: [String: [String: String]] = [:]
    private var reported: Set<MetadataConfig.Dropped> = []

    public init(config: MetadataConfig, environment: [String: String], executor: Executor, logger: Logger) {
        self.config = config
        self.environment = environment
        self.executor = executor
        self.logger = logger
    }

    /// Every provider once; the executor gets the result.
    public func collect() async {
        for (name, provider) in config.providers {
            switch provider {
            case .configured(let v): values[name] = v
            case .environment(let patterns): values[name] = MetadataConfig.environment(environment, whitelisted: patterns)
            case .dynamicCommand(_, let commands): values[name] = await Self.run(commands, logger: logger)
            }
        }
        await publish()
    }

    /// Reruns the DYNAMIC commands, each provider on its own period, until
    /// the executor stops (a Service that returned early would stop it).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for (name, provider) in self.config.providers {
                    guard case .dynamicCommand(let seconds, let commands) = provider else { continue }
                    let dynamic = commands.filter { $0.value.type == .DYNAMIC }
                    guard !dynamic.isEmpty else { continue }
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .seconds(seconds))
                            if Task.isCancelled { return }
                            await self.refresh(name, dynamic)
                        }
                    }
                }
            }
        }
        // Nothing to rerun: the group ended at once. Wait for the executor's end.
        try? await gracefulShutdown()
    }

    private func refresh(_ name: String, _ commands: [String: MetadataConfig.Command]) async {
        let fresh = await Self.run(commands, logger: logger)
        values[name, default: [:]].merge(fresh) { _, new in new }
        await publish()
    }

    private func publish() async {
        let (published, dropped) = config.publish(values)
        for d in dropped where !reported.contains(d) {
            reported.insert(d)
            logger.warning("\(d)")
        }
        await executor.setMetadata(published)
    }

    /// Runs each command with `bash -c`; its trimmed output, or its default value.
    static func run(_ commands: [String: MetadataConfig.Command], logger: Logger) async -> [String: String] {
        var out: [String: String] = [:]
        for (key, c) in commands {
            out[key] = await Task.detached { () -> String in
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/bin/bash")
                p.arguments = ["-c", c.command]
                let pipe = Pipe()
                p.standardOutput = pipe
                p.standardError = FileHandle.nullDevice
                do { try p.run() } catch {
                    logger.warning("metadata command for \(key) could not start: \(error); its defaultValue is published")
                    return c.defaultValue
                }
                let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
                DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: killer)
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                killer.cancel()
                guard p.terminationReason == .exit, p.terminationStatus == 0 else {
                    logger.warning("metadata command for \(key) failed (status \(p.terminationStatus)); its defaultValue is published")
                    return c.defaultValue
                }
                return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }.value
        }
        return out
    }
}
