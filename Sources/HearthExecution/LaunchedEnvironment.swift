import HearthCgroups
import HearthModel
import NIOCore

/// An execution environment as the scheduler sees it: started and initialised, then handed one
/// event at a time until it is unhealthy or destroyed. `ExecutionEnvironment` is the real one.
public protocol LaunchedEnvironment: AnyObject, Sendable {
    var function: FunctionInstance { get }
    var state: EnvironmentState { get }
    /// False once a hard failure ended it, its init failed, or its runtime exited: it is never reused.
    var isHealthy: Bool { get }
    var initDurationMs: Double { get }
    /// The event loop that serves its Runtime API, for loop affinity; nil when there is none.
    var servingLoop: (any EventLoop)? { get }
    func invoke(_ request: ExecutionEnvironment.Request, log: InvocationLog) async -> InvocationResult
    /// Retires it: the invocation it runs, if any, finishes; it takes no other.
    func drain()
    /// Kills it and releases everything it held. Idempotent.
    func destroy() async
    /// Its sandbox's memory now (read from its cgroup).
    func usage() -> CgroupUsage
}

extension ExecutionEnvironment: LaunchedEnvironment {
    public var servingLoop: (any EventLoop)? { eventLoop }
    public func usage() -> CgroupUsage { sandbox.cgroup.usage() }
}
