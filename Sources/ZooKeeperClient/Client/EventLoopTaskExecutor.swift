import NIOCore

/// A task executor that runs jobs on one SwiftNIO event loop: the client's.
/// Code run under `withTaskExecutorPreference(client.taskExecutor)` sends its
/// requests from the thread that writes them to the socket and resumes on
/// the thread that read the reply, with no hop between threads in either
/// direction: many small calls in flight cost the CPU far less. Use it for
/// short calls only: a job that blocks holds up the connection's I/O.
public final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
