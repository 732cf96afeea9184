import Foundation
import HearthExecution
import HearthLogs
import HearthModel
import HearthRegistry
import HearthSandbox
import HearthState
import NIOCore
import NIOPosix

/// Hearth's scheduler: one invocation per sandbox at a time; an idle warm
/// sandbox of the same version is reused before a new one starts; reserved
/// and account concurrency and the host memory budget are enforced, and a
/// request over a limit is refused at once with Lambda's 429; idle sandboxes
/// park on GET /next and retire after the idle timeout; a sandbox that failed
/// hard is never reused; updates drain the old version's sandboxes.
///
/// It reads records through a `FunctionLookup`, starts sandboxes through an `EnvironmentLauncher` and
/// tells time by a `SchedulerClock`: its rules are unit-tested with fakes of all three.
public actor Scheduler {
    nonisolated let lookup: any FunctionLookup
    nonisolated let launcher: any EnvironmentLauncher
    nonisolated let clock: any SchedulerClock
    nonisolated let logs: FunctionLogs
    nonisolated let metrics: Metrics
    var options: SupervisorOptions
    /// Invocations running now, found by the next start if the daemon dies.
    nonisolated let journal: InFlightJournal?
    /// The event loop the calling task runs on (an Invoke runs on its connection's), for loop affinity.
    nonisolated let currentLoop: @Sendable () -> (any EventLoop)?

    var pools: [PoolKey: EnvironmentPool] = [:]
    /// Every sandbox from its start until it is released: idle, busy or provisioned. Shutdown destroys them all.
    var live: [ObjectIdentifier: PooledEnvironment] = [:]
    var concurrency: ConcurrencyLedger
    /// Memory of every sandbox that exists on the host or is about to: reserved at admission (before a
    /// start waits for anything), given back only when its teardown is over, so that no burst and no
    /// eviction ever has more on the host than the budget.
    var committedMemoryMB = 0
    /// Of the committed memory, what sandboxes being torn down hold until their teardown is over.
    var freeingMemoryMB = 0
    /// Memory given to live sandboxes (starting, idle, busy): what `hearth status` shows.
    var liveMemoryMB: Int { committedMemoryMB - freeingMemoryMB }
    private var memoryWaiters: [CheckedContinuation<Void, Never>] = []
    private var reconciling = false
    private var reconcileAgain = false
    private var reconcileWaiters: [CheckedContinuation<Void, Never>] = []
    var uids: UIDAllocator
    var retireTask: Task<Void, Never>?
    /// Idle times of each function version, kept under the hybrid keep-alive policy (`SchedulerKeepAlive`).
    var idleHistories: [PoolKey: IdleHistory] = [:]
    var stopping = false
    /// Sandboxes taken off the books whose teardown has not finished (it may run in the background); shutdown waits for them.
    private var releasedNotTornDown = Set<ObjectIdentifier>()
    /// Sandboxes being launched: one that comes up after shutdown began is destroyed by its starter, and shutdown waits for that.
    private var launching = 0
    private var teardownWaiters: [CheckedContinuation<Void, Never>] = []

    public init(lookup: any FunctionLookup, launcher: any EnvironmentLauncher, logs: FunctionLogs, metrics: Metrics,
                options: SupervisorOptions, journal: InFlightJournal? = nil, clock: any SchedulerClock = SystemClock(),
                currentLoop: @escaping @Sendable () -> (any EventLoop)? = { MultiThreadedEventLoopGroup.currentEventLoop }) throws {
        self.lookup = lookup
        self.launcher = launcher
        self.clock = clock
        self.logs = logs
        self.metrics = metrics
        self.options = options
        self.journal = journal
        self.currentLoop = currentLoop
        uids = UIDAllocator(range: options.sandboxUIDs)
        concurrency = ConcurrencyLedger(accountLimit: options.accountConcurrency, reserved: try lookup.reservedConcurrencies())
    }

    /// Starts background work: retiring idle sandboxes, provisioned concurrency.
    public func start() async {
        let interval = max(0.05, min(options.idleTimeoutSeconds / 4, 5))
        retireTask = Task { [weak self, clock] in
            while !Task.isCancelled {
                try? await clock.sleep(seconds: interval)
                await self?.retireIdle()
            }
        }
        await reconcileProvisioned()
    }

    /// Destroys every sandbox, busy ones included (on SIGTERM).
    public func shutdown() async {
        stopping = true
        retireTask?.cancel()
        wakeMemoryWaiters()
        for pool in pools.values {
            pool.idle = []
            pool.alwaysOn = []
            wakeWaiters(of: pool)
        }
        for env in Array(live.values) { await discard(env) }
        // Sandboxes released earlier may still be tearing down in the background: the daemon must not exit before them.
        while !releasedNotTornDown.isEmpty || launching > 0 {
            await withCheckedContinuation { teardownWaiters.append($0) }
        }
        await launcher.shutdown()
    }

    // MARK: invoke

    /// - Parameter requestId: the API request's id, which is also the invocation's (as on Lambda).
    public func invoke(_ ref: FunctionReference, requestId: String, payload: [UInt8], clientContext: String?,
                       stream: ResponseSink? = nil) async throws(ServiceError) -> InvokeOutcome {
        guard !stopping else { throw .service("the daemon is stopping") }
        let record = try lookup.resolve(ref)
        let key = PoolKey(function: record.name, version: record.version)
        let name = record.name
        try admit(name)
        let slot = journal?.begin(requestId: requestId, function: name, version: record.version, memoryMB: record.memorySize)
        defer {
            if let slot { journal?.end(slot) }
            leave(name)
        }

        let pool = pool(for: key, record: record)
        // Counted from here, so the idle sweep keeps the pool while its first sandbox is still being built.
        pool.admitted += 1
        defer { pool.admitted -= 1 }
        arrived(key)
        var departed = false
        defer { if !departed { _ = left(key) } }
        let env: PooledEnvironment
        let cold: Bool
        // An Invoke runs on its connection's event loop (ControlHTTPHandler).
        if pool.alwaysOnTarget > 0 {
            guard let handed = await takeAlwaysOn(pool) else { throw .service("the daemon is stopping") }
            env = handed
            cold = false
        } else if let warm = takeHealthyIdle(from: pool) {
            env = warm
            cold = false
        } else {
            try await reserveMemory(record.memorySize, function: name)
            // Starting a sandbox blocks in system calls for milliseconds: not on the caller's event loop
            // (an Invoke runs on its connection's; see ControlHTTPHandler).
            env = try await withTaskExecutorPreference(globalConcurrentExecutor) { () async throws(ServiceError) -> PooledEnvironment in
                try await startEnvironment(record, key: key, provisioned: false)
            }
            cold = true
        }
        if !env.alwaysOn { pool.busy += 1 }
        metrics.increment(cold ? "hearth_cold_starts_total" : "hearth_warm_starts_total", function: name)

        let logStream = env.environment.function.logStream
        let log = InvocationLog(sink: { [logs] bytes in logs.append(name, stream: logStream, requestId: requestId, bytes) },
                                logging: record.loggingConfig ?? .text)
        let request = ExecutionEnvironment.Request(requestId: requestId, payload: payload, clientContext: clientContext,
                                                   reportInit: cold && !env.provisioned, stream: stream, qualifier: ref.qualifier)
        if let slot { journal?.running(slot) }
        let result = await env.environment.invoke(request, log: log)
        env.lastUsed = clock.now()
        if !env.alwaysOn { pool.busy -= 1 }
        metrics.increment("hearth_invocations_total", function: name)
        if case .error = result.body { metrics.increment("hearth_errors_total", function: name) }
        metrics.observe("hearth_invocation_duration_seconds", function: name, seconds: result.report.durationMs / 1000)
        if cold { restock(env) }
        departed = true
        let unload = left(key)
        if env.alwaysOn {
            returnAlwaysOn(env, to: pool)
        } else if env.environment.state == .idle && env.revision == pool.revision && pools[key] === pool && !stopping && !unload {
            pool.idle.append(env)
        } else {
            inBackground { await self.discard(env) }
        }
        return InvokeOutcome(result: result, executedVersion: record.version, logTail: log.tail, coldStart: cold)
    }

    /// An idle environment to reuse; one whose runtime exited while it waited (after answering, say) is torn down instead.
    private func takeHealthyIdle(from pool: EnvironmentPool) -> PooledEnvironment? {
        while let candidate = pool.takeIdle(preferring: currentLoop()) {
            if candidate.environment.isHealthy { return candidate }
            inBackground { await self.discard(candidate) }
        }
        return nil
    }

    /// Counts an invocation in, or refuses it with Lambda's 429 and Reason.
    private func admit(_ function: String) throws(ServiceError) {
        if let reason = concurrency.admit(function) {
            metrics.increment("hearth_throttles_total", function: function)
            throw .throttled(reason)
        }
    }

    private func leave(_ function: String) { concurrency.leave(function) }

    /// Reserves `memoryMB` for a sandbox about to start, retiring idle sandboxes (least recently used
    /// first) when the budget is full, or refuses with Lambda's 429. The reservation is made before
    /// anything is awaited, so concurrent starts cannot all see the same free memory; the caller then
    /// waits while evicted sandboxes are still being torn down, so their memory and the new sandbox's
    /// are never on the host at once. The reservation is the caller's: `startEnvironment` keeps it, or
    /// gives it back (`unreserveMemory`) if the start fails.
    func reserveMemory(_ memoryMB: Int, function: String) async throws(ServiceError) {
        while liveMemoryMB + memoryMB > options.memoryBudgetMB {
            let candidates = pools.values.flatMap { $0.idle.filter { !$0.provisioned && !$0.alwaysOn } }
            guard let victim = candidates.min(by: { $0.lastUsed < $1.lastUsed }), let pool = pools[victim.key] else {
                metrics.increment("hearth_throttles_total", function: function)
                throw .throttled("ConcurrentInvocationLimitExceeded",
                                 "Rate Exceeded. The host's memory budget (\(options.memoryBudgetMB) MB) is taken by busy sandboxes.")
            }
            pool.idle.removeAll { $0 === victim }
            release(victim)
            inBackground { await self.tearDown(victim) }
        }
        committedMemoryMB += memoryMB
        while committedMemoryMB > options.memoryBudgetMB {
            if stopping {
                unreserveMemory(memoryMB)
                throw .service("the daemon is stopping")
            }
            await withCheckedContinuation { memoryWaiters.append($0) }
        }
    }

    /// Gives back memory reserved for a sandbox that did not start, or one whose teardown is over.
    func unreserveMemory(_ memoryMB: Int) {
        committedMemoryMB -= memoryMB
        wakeMemoryWaiters()
    }

    /// Starts waiting for memory look again (memory was given back, or the daemon is stopping).
    func wakeMemoryWaiters() {
        let waiters = memoryWaiters
        memoryWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// The pool of a version, drained first if the record is a newer revision than its sandboxes.
    func pool(for key: PoolKey, record: FunctionRecord) -> EnvironmentPool {
        if let pool = pools[key] {
            if pool.revision != record.revisionId { drain(pool, to: record) }
            return pool
        }
        let pool = EnvironmentPool(revision: record.revisionId, memoryMB: record.memorySize)
        pools[key] = pool
        return pool
    }

    /// A new revision of a version's code or configuration: idle sandboxes go now, busy ones when they finish.
    func drain(_ pool: EnvironmentPool, to record: FunctionRecord) {
        pool.revision = record.revisionId
        pool.memoryMB = record.memorySize
        pool.instances = [:]
        pool.provisionedFailure = nil
        let old = pool.idle + pool.alwaysOn.filter { $0.inFlight == 0 }
        pool.idle = []
        pool.alwaysOn.removeAll { $0.inFlight == 0 }
        for env in old { inBackground { await self.discard(env) } }
        // Busy ones finish their invocation and go (`invoke` sees they are no longer idle).
        let key = PoolKey(function: record.name, version: record.version)
        for env in live.values where env.key == key && env.revision != record.revisionId { env.environment.drain() }
    }

    /// Starts a sandbox of `record` (its memory already reserved by `reserveMemory`) and registers it as
    /// live; if it cannot start, the reservation is given back.
    /// - Parameter concurrency: for an always-on environment, the invocations it runs at once; its
    ///   runtime is told as Lambda Managed Instances' are (AWS_LAMBDA_INITIALIZATION_TYPE, AWS_LAMBDA_MAX_CONCURRENCY).
    func startEnvironment(_ record: FunctionRecord, key: PoolKey, provisioned: Bool, concurrency: Int? = nil) async throws(ServiceError) -> PooledEnvironment {
        let pool = pool(for: key, record: record)
        let initializationType = concurrency != nil ? "lambda-managed-instances" : provisioned ? "provisioned-concurrency" : "on-demand"
        let instanceKey = concurrency.map { "\(initializationType)/\($0)" } ?? initializationType
        // Whichever step fails, the reservation goes back once.
        var started = false
        defer { if !started { unreserveMemory(record.memorySize) } }
        var instance: FunctionInstance
        if let cached = pool.instances[instanceKey] {
            instance = cached
        } else {
            instance = try await launcher.build(record, initializationType: initializationType)
            if let concurrency { instance.runConcurrently(concurrency) }
            if pool.revision == record.revisionId { pool.instances[instanceKey] = instance }
        }
        guard let uid = uids.take() else {
            throw .throttled("ConcurrentInvocationLimitExceeded", "Rate Exceeded. Every sandbox uid of this daemon's block is in use.")
        }
        instance.spec.id = SandboxIdentity.newID()
        instance.useLogStream(LogStreamName.random(version: record.version, startedAt: Int64(clock.now().timeIntervalSince1970)))
        instance.spec.uid = uid
        instance.spec.gid = uid
        let name = record.name
        pool.starting += 1
        if provisioned { pool.provisionedLive += 1 }
        launching += 1
        defer {
            pool.starting -= 1
            launching -= 1
            wakeTeardownWaiters()
        }
        let env: any LaunchedEnvironment
        do {
            env = try await launcher.launch(instance)
        } catch {
            if provisioned { pool.provisionedLive -= 1 }
            uids.give(uid)
            throw .service("cannot start a sandbox for \(name): \(error)")
        }
        if stopping {
            // Shutdown destroyed every live sandbox while this one started: it goes too, before shutdown returns.
            await env.destroy()
            if provisioned { pool.provisionedLive -= 1 }
            uids.give(uid)
            throw .service("the daemon is stopping")
        }
        metrics.observe("hearth_init_duration_seconds", function: name, seconds: env.initDurationMs / 1000)
        let pooled = PooledEnvironment(environment: env, key: key, revision: record.revisionId, memoryMB: record.memorySize, uid: uid,
                                       provisioned: provisioned, lastUsed: clock.now())
        live[ObjectIdentifier(pooled)] = pooled
        started = true
        return pooled
    }

    /// Shutdown waits until no sandbox is being launched or torn down.
    private func wakeTeardownWaiters() {
        guard releasedNotTornDown.isEmpty && launching == 0 else { return }
        let waiters = teardownWaiters
        teardownWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// Work that follows an invocation (teardowns, restocking) and blocks in system calls: on the
    /// global executor, never on the event loop an Invoke's task prefers (unstructured tasks inherit it).
    nonisolated func inBackground(_ work: sending @escaping @isolated(any) () async -> Void) {
        Task(executorPreference: globalConcurrentExecutor, operation: work)
    }

    /// Refills the pre-built sandboxes of `env`'s runtime image in the background.
    func restock(_ env: PooledEnvironment) { launcher.restock(for: env.environment.function) }

    /// Releases a sandbox and tears it down. Safe to call twice: only the first call does anything.
    func discard(_ env: PooledEnvironment, reconcile: Bool = true) async {
        guard release(env) else { return }
        await tearDown(env, reconcile: reconcile)
    }

    /// Takes a sandbox off the books: its provisioned slot is free at once, its memory once its teardown
    /// is over. False if it was already released.
    @discardableResult
    private func release(_ env: PooledEnvironment) -> Bool {
        guard live.removeValue(forKey: ObjectIdentifier(env)) != nil else { return false }
        releasedNotTornDown.insert(ObjectIdentifier(env))
        freeingMemoryMB += env.memoryMB
        if env.provisioned { pools[env.key]?.provisionedLive -= 1 }
        if env.alwaysOn, let pool = pools[env.key] {
            pool.alwaysOnLive -= 1
            if !stopping && pool.alwaysOnFailure == nil { inBackground { try? await self.replenishAlwaysOn(env.key) } }
        }
        return true
    }

    /// Destroys a released sandbox; its uid is reused and its memory given back only once nothing runs
    /// under it. A provisioned sandbox is replaced, unless its init failed (`reconcile: false`).
    private func tearDown(_ env: PooledEnvironment, reconcile: Bool = true) async {
        await env.environment.destroy()
        uids.give(env.uid)
        freeingMemoryMB -= env.memoryMB
        unreserveMemory(env.memoryMB)
        releasedNotTornDown.remove(ObjectIdentifier(env))
        wakeTeardownWaiters()
        if env.provisioned && reconcile { await reconcileProvisioned() }
    }

    /// Retires sandboxes the keep-alive policy lets go (provisioned ones stay) and pre-warms those it
    /// expects to be needed.
    func retireIdle() async {
        let now = clock.now()
        let cutoff = now.addingTimeInterval(-options.idleTimeoutSeconds)
        for (key, pool) in pools {
            let expired = expired(in: pool, key: key, at: now)
            guard !expired.isEmpty else { continue }
            pool.idle.removeAll { env in expired.contains { $0 === env } }
            for env in expired { await discard(env) }
        }
        pools = pools.filter { $0.value.live > 0 || $0.value.admitted > 0 || $0.value.provisionedTarget > 0 || $0.value.alwaysOnTarget > 0 }
        preWarm(at: now)
        if provisionedWaiting { inBackground { await self.reconcileProvisioned() } }
        await launcher.retire(unwantedSince: cutoff)
    }

    // MARK: provisioned concurrency

    /// Starts sandboxes until every provisioned-concurrency setting has its count ready. One pass runs at a
    /// time (two would both see a slot missing and fill it twice); a call during a pass waits for another.
    func reconcileProvisioned() async {
        if reconciling {
            reconcileAgain = true
            await withCheckedContinuation { reconcileWaiters.append($0) }
            return
        }
        reconciling = true
        repeat {
            reconcileAgain = false
            await reconcileProvisionedOnce()
        } while reconcileAgain && !stopping
        reconciling = false
        let waiters = reconcileWaiters
        reconcileWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// Whether a setting still misses sandboxes it is not FAILED for (busy sandboxes held the memory).
    var provisionedWaiting: Bool {
        pools.values.contains { $0.provisionedLive < $0.provisionedTarget && $0.provisionedFailure == nil }
    }

    private func reconcileProvisionedOnce() async {
        guard !stopping, let settings = try? lookup.provisionedConcurrencies() else { return }
        var wanted: [PoolKey: (Int, FunctionRecord)] = [:]
        for (function, setting) in settings {
            guard let record = try? lookup.resolve(FunctionReference(name: function, qualifier: setting.qualifier)) else { continue }
            let key = PoolKey(function: function, version: record.version)
            wanted[key] = ((wanted[key]?.0 ?? 0) + setting.requested, record)
        }
        for (key, pool) in pools where wanted[key] == nil { pool.provisionedTarget = 0 }
        for (key, (count, record)) in wanted {
            let pool = pool(for: key, record: record)
            pool.provisionedTarget = count
            while pool.provisionedLive < pool.provisionedTarget && pool.provisionedFailure == nil && !stopping {
                // Busy sandboxes hold the memory budget, or every uid: IN_PROGRESS until the idle pass tries again.
                guard (try? await reserveMemory(record.memorySize, function: key.function)) != nil else { break }
                let env: PooledEnvironment
                do {
                    env = try await startEnvironment(record, key: key, provisioned: true)
                } catch {
                    // A sandbox that cannot be made at all is FAILED with why, until the setting is put again.
                    if error.status != 429 { pool.provisionedFailure = error.message }
                    break
                }
                guard env.environment.isHealthy else {
                    // Its init failed: the configuration is FAILED (as on Lambda) until it is put again or
                    // the version changes, rather than the same failure started again and again.
                    pool.provisionedFailure = "FUNCTION_ERROR_INIT_FAILURE"
                    await discard(env, reconcile: false)
                    break
                }
                pool.idle.insert(env, at: 0)
                restock(env)
            }
        }
    }

    /// Ready provisioned sandboxes of a function version, and why they could not all be made (Lambda's
    /// StatusReason, with Status FAILED).
    public func provisionedState(function: String, version: String) -> (available: Int, failure: String?) {
        let pool = pools[PoolKey(function: function, version: version)]
        return (pool?.idle.filter(\.provisioned).count ?? 0, pool?.provisionedFailure)
    }

    // MARK: status

    /// What the environments hold and use now.
    public struct Usage: Sendable {
        /// Memory given to live environments (their configured sizes).
        public var reservedMB: Int
        /// What their cgroups use now.
        public var usedBytes: Int64
        public var environments: Int
    }

    public func usage() -> Usage {
        var memory: Int64 = 0
        for env in live.values { memory &+= env.environment.usage().memoryBytes ?? 0 }
        return Usage(reservedMB: liveMemoryMB, usedBytes: memory, environments: live.count)
    }

    public struct Status: Sendable, Codable {
        public struct Pool: Sendable, Codable {
            public var function: String
            public var version: String
            public var idle: Int
            public var busy: Int
            public var starting: Int
            public var provisioned: Int
            public var memoryMB: Int
        }
        public var pools: [Pool]
        public var busy: Int
        public var liveMemoryMB: Int
        public var memoryBudgetMB: Int
        public var accountConcurrency: Int
        public var functions: Int
        /// Pre-built empty sandboxes waiting for a cold start, over all runtime images.
        public var prepared: Int
    }

    public func status() async -> Status {
        let rows = pools.sorted { $0.key.description < $1.key.description }.map { key, pool in
            Status.Pool(function: key.function, version: key.version, idle: pool.idleCount, busy: pool.busy, starting: pool.starting,
                        provisioned: pool.provisionedTarget, memoryMB: pool.memoryMB * pool.live)
        }
        return Status(pools: rows, busy: concurrency.total, liveMemoryMB: liveMemoryMB, memoryBudgetMB: options.memoryBudgetMB,
                      accountConcurrency: options.accountConcurrency, functions: (try? lookup.functionCount()) ?? 0,
                      prepared: await launcher.preparedCount())
    }

    /// The exposition text, with `extra` gauges sampled by the caller (the event queue's).
    public func metricsText(extra: [(String, String, [(String, Double)])] = []) async -> String {
        let preparedCount = await launcher.preparedCount()
        var concurrent: [(String, Double)] = []
        for (function, busy) in concurrency.running.sorted(by: { $0.key < $1.key }) {
            concurrent.append(("function=\"\(Metrics.escape(function))\"", Double(busy)))
        }
        var sandboxes: [(String, Double)] = []
        var byFunction: [String: (idle: Int, busy: Int, starting: Int)] = [:]
        for (key, pool) in pools {
            var row = byFunction[key.function] ?? (0, 0, 0)
            row.idle += pool.idleCount
            row.busy += pool.busy
            row.starting += pool.starting
            byFunction[key.function] = row
        }
        for (function, row) in byFunction.sorted(by: { $0.key < $1.key }) {
            let f = Metrics.escape(function)
            sandboxes.append(("function=\"\(f)\",state=\"idle\"", Double(row.idle)))
            sandboxes.append(("function=\"\(f)\",state=\"busy\"", Double(row.busy)))
            sandboxes.append(("function=\"\(f)\",state=\"starting\"", Double(row.starting)))
        }
        return metrics.render(gauges: [
            ("hearth_concurrent_executions", "Invocations running now, by function.", concurrent),
            ("hearth_sandboxes", "Execution environments by function and state.", sandboxes),
            ("hearth_memory_live_megabytes", "Memory given to live sandboxes.", [("", Double(liveMemoryMB))]),
            ("hearth_memory_budget_megabytes", "The host memory budget for sandboxes.", [("", Double(options.memoryBudgetMB))]),
            ("hearth_prepared_sandboxes", "Pre-built empty sandboxes waiting for a cold start.", [("", Double(preparedCount))]),
        ] + extra)
    }
}
