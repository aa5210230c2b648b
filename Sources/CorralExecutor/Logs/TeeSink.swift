import CorralEngines

/// Output that goes to the task's log files and, as it comes, to someone
/// watching (a `corral run` client). The log files get every byte first.
struct TeeSink: LogSink {
    let log: any LogSink
    let watcher: any LogSink

    func write(_ bytes: [UInt8]) {
        log.write(bytes)
        watcher.write(bytes)
    }

    func write(borrowing bytes: UnsafeRawBufferPointer) {
        log.write(borrowing: bytes)
        watcher.write(borrowing: bytes)
    }

    func write(_ bytes: [UInt8], from channel: OutputChannel) {
        log.write(bytes, from: channel)
        watcher.write(bytes, from: channel)
    }

    func finish() {
        log.finish()
        watcher.finish()
    }

    func waitUntilFinished(timeout: Duration) async {
        await log.waitUntilFinished(timeout: timeout)
        await watcher.waitUntilFinished(timeout: timeout)
    }
}
