import NIOCore

/// An event loop as a task executor: a task's jobs run on that loop's thread.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let loop: any EventLoop

    public init(_ loop: any EventLoop) { self.loop = loop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}

/// A connection's event loop as a task executor, made on first use and kept: a connection's handler holds one.
public struct LoopExecutor {
    private var executor: EventLoopTaskExecutor?

    public init() {}

    public mutating func get(_ loop: any EventLoop) -> EventLoopTaskExecutor {
        if let executor { return executor }
        let made = EventLoopTaskExecutor(loop)
        executor = made
        return made
    }
}
