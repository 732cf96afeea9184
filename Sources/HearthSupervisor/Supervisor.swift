import Foundation
import HearthEvents
import HearthExecution
import HearthLogs
import HearthModel
import HearthRegistry
import HearthSandbox
import HearthState
import NIOPosix

/// Settings of the supervisor (hearth.yaml, command-line flags).
public struct SupervisorOptions: Sendable {
    /// Concurrent executions across all functions (Lambda's account default).
    public var accountConcurrency = 1000
    /// The memory all live sandboxes together may be given; idle ones are evicted first.
    public var memoryBudgetMB: Int
    /// An idle environment is retired after this long.
    public var idleTimeoutSeconds: Double = 600
    /// Fixed (the idle timeout, as Lambda) or the hybrid histogram policy, which learns each function's idle times.
    public var keepAlive: KeepAlivePolicy = .fixed
    public var region = "us-east-1"
    /// Lambda's async retry delays and backoffs multiplied by this (tests shorten them; 1 is Lambda's).
    public var asyncDelayScale = 1.0
    /// Pre-built empty sandboxes kept per runtime image for cold starts; 0 turns them off.
    public var preparedPerImage = 2
    /// Freeze an environment between invocations, as Lambda does: what it runs in the background stops
    /// (only while the daemon's thaw guard runs).
    public var freezeIdle = true
    /// Uids for sandboxes: the block this daemon holds (`UIDBlockLease`).
    public var sandboxUIDs: Range<UInt32> = SandboxIdentity.base..<(SandboxIdentity.base + UIDBlockLease.blockSize)

    public init(memoryBudgetMB: Int? = nil) {
        // Three quarters of the machine by default: the rest for the host and the page cache.
        self.memoryBudgetMB = memoryBudgetMB ?? Int(ProcessInfo.processInfo.physicalMemory / 1_048_576 * 3 / 4)
    }
}

/// The caller's view of one Invoke.
public struct InvokeOutcome: Sendable {
    public var result: InvocationResult
    public var executedVersion: String
    /// The last 4 KB of the invocation's log.
    public var logTail: [UInt8]
    public var coldStart: Bool
}

/// Hearth's supervisor: the function registry (what may run, written on `BlockingWork`'s threads) and
/// the scheduler (where and when it runs, through a launcher: the sandbox engine's in the daemon). Management operations change
/// the registry first, then tell the scheduler (`SupervisorManagement`).
public final class Supervisor: FunctionService {
    /// What may run; changes go here first, on `BlockingWork`'s threads.
    public let registry: any FunctionRegistry
    public let logs: FunctionLogs
    public let metrics: Metrics
    public let options: SupervisorOptions
    public let scheduler: Scheduler
    /// The durable queue of asynchronous invocations; nil without an event store (unit tests).
    public let events: EventDispatcher?
    /// EventBridge Scheduler's schedules, firing onto `events`.
    public let schedules: ScheduleRunner?
    let scheduleStore: (any ScheduleStore)?
    let clock: any SchedulerClock

    public typealias Status = Scheduler.Status

    /// The daemon's supervisor: sandboxes from `engine`, prepared ones kept per runtime image.
    public convenience init(registry: any FunctionRegistry, engine: SandboxEngine, logs: FunctionLogs, options: SupervisorOptions,
                            journal: InFlightJournal? = nil, thawGuard: ThawGuard? = nil, eventStore: (any EventStore)? = nil,
                            destinations: (any DestinationSender)? = nil, networking: FunctionNetworking = .off,
                            clock: any SchedulerClock = SystemClock()) throws {
        let metrics = Metrics()
        // A frozen sandbox outlives a dead daemon unless the guard thaws it: no guard, no freezing.
        let mayFreeze: (@Sendable () -> Bool)? = if options.freezeIdle, let thawGuard { { thawGuard.isAlive } } else { nil }
        let launcher = SandboxLauncher(registry: registry, engine: engine, logs: logs, metrics: metrics,
                                       preparedPerImage: options.preparedPerImage, mayFreeze: mayFreeze,
                                       networking: networking)
        try self.init(registry: registry, launcher: launcher, logs: logs, metrics: metrics, options: options, journal: journal,
                      clock: clock, eventStore: eventStore, destinations: destinations)
    }

    /// A registry and a launcher (fakes in unit tests) wired to a new scheduler.
    init(registry: any FunctionRegistry, launcher: any EnvironmentLauncher, logs: FunctionLogs, metrics: Metrics, options: SupervisorOptions,
         journal: InFlightJournal? = nil, clock: any SchedulerClock = SystemClock(), eventStore: (any EventStore)? = nil,
         destinations: (any DestinationSender)? = nil) throws {
        self.registry = registry
        self.logs = logs
        self.metrics = metrics
        self.options = options
        self.clock = clock
        let scheduler = try Scheduler(lookup: registry, launcher: launcher, logs: logs, metrics: metrics, options: options, journal: journal,
                                      clock: clock)
        self.scheduler = scheduler
        let events = eventStore.map { store in
            var queue = EventDispatcher.Options()
            queue.rules = RetryRules().scaled(by: options.asyncDelayScale)
            queue.maxInFlight = options.accountConcurrency
            queue.pace = clock.pace
            let invoker = SchedulerEventInvoker(registry: registry, scheduler: scheduler, region: options.region)
            return EventDispatcher(store: store, invoker: invoker, sender: destinations, options: queue, clock: { clock.now().timeIntervalSince1970 },
                                   count: { [metrics] name, labels in metrics.increment(name, labels: labels) },
                                   time: { [metrics] name, function, seconds in metrics.observe(name, function: function, seconds: seconds) })
        }
        self.events = events
        scheduleStore = eventStore as? any ScheduleStore
        if let events, let store = scheduleStore {
            schedules = ScheduleRunner(store: store, dispatcher: events, clock: { clock.now().timeIntervalSince1970 }, pace: clock.pace,
                                       region: options.region,
                                       count: { [metrics] name, labels in metrics.increment(name, labels: labels) })
        } else {
            schedules = nil
        }
    }

    /// Starts background work: retiring idle sandboxes, provisioned concurrency, the event queue (which
    /// resumes what a previous daemon accepted).
    public func start() async throws {
        await scheduler.start()
        try await events?.start()
        try await schedules?.start()
    }

    /// Destroys every sandbox, busy ones included (on SIGTERM); the queue stops first, so the events cut
    /// off run again after a restart.
    public func shutdown() async {
        await schedules?.stop()
        await events?.stop()
        await scheduler.shutdown()
        await events?.flush()
    }

    /// - Parameter requestId: the API request's id, which is also the invocation's (as on Lambda).
    public func invoke(_ ref: FunctionReference, requestId: String, payload: [UInt8], clientContext: String?,
                       stream: ResponseSink?) async throws(ServiceError) -> InvokeOutcome {
        try await scheduler.invoke(ref, requestId: requestId, payload: payload, clientContext: clientContext, stream: stream)
    }

    public func provisionedState(function: String, version: String) async -> (available: Int, failure: String?) {
        await scheduler.provisionedState(function: function, version: version)
    }

    public func status() async -> Status { await scheduler.status() }

    /// What `systemctl reload` changes without a restart: the idle timeout and the memory budget.
    public func reload(idleTimeoutSeconds: Double, keepAlive: KeepAlivePolicy, memoryBudgetMB: Int) async {
        await scheduler.reload(idleTimeoutSeconds: idleTimeoutSeconds, keepAlive: keepAlive, memoryBudgetMB: memoryBudgetMB)
    }

    public func metricsText() async -> String {
        guard let stats = await events?.stats() else { return await scheduler.metricsText() }
        func byFunction(_ values: [String: Double]) -> [(String, Double)] {
            values.sorted { $0.key < $1.key }.map { ("function=\"\(Metrics.escape($0.key))\"", $0.value) }
        }
        return await scheduler.metricsText(extra: [
            ("hearth_async_queue_depth", "Queued events waiting for their time or for concurrency, by function.",
             byFunction(stats.queued.mapValues(Double.init))),
            ("hearth_async_oldest_event_age_seconds", "Age of the oldest waiting event, by function.", byFunction(stats.oldestAge)),
            ("hearth_async_running", "Queued events being run now.", [("", Double(stats.running))]),
        ])
    }

    public var region: String { options.region }

    /// The state directory's code/: a zip decoded from a request body is linked there under its digest without a copy.
    public var spillDirectory: String { registry.codeDirectory }

    public var functions: any FunctionReader { registry }

    public nonisolated var logStore: any FunctionLogStore { logs }
}
