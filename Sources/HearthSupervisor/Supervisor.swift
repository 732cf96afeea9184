import Foundation
import HearthModel
import HearthSandbox
import HearthState

/// Settings of the supervisor (hearth.yaml, command-line flags).
public struct SupervisorOptions: Sendable {
    /// Concurrent executions across all functions (Lambda's account default).
    public var accountConcurrency = 1000
    /// The memory all live sandboxes together may be given; idle ones are evicted first.
    public var memoryBudgetMB: Int
    /// An idle environment is retired after this long.
    public var idleTimeoutSeconds: Double = 600
    public var region = "us-east-1"

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

/// Hearth's scheduler: one invocation per sandbox at a time; an idle warm
/// sandbox of the same version is reused before a new one starts; reserved
/// and account concurrency and the host memory budget are enforced, and a
/// request over a limit is refused at once with Lambda's 429; idle sandboxes
/// park on GET /next and retire after the idle timeout; a sandbox that failed
/// hard is never reused; updates drain the old version's sandboxes.
public actor Supervisor {
    public nonisolated let catalog: FunctionCatalog
    public nonisolated let engine: SandboxEngine
    public nonisolated let logs: FunctionLogs
    public nonisolated let metrics = Metrics()
    public nonisolated let options: SupervisorOptions

    var pools: [PoolKey: EnvironmentPool] = [:]
    var busyByFunction: [String: Int] = [:]
    var busyTotal = 0
    var liveMemoryMB = 0
    var reserved: [String: Int] = [:]
    var uids = UIDAllocator()
    /// Built instances by (function, version), with the revision they were built from.
    var instances: [PoolKey: (revision: String, instance: FunctionInstance)] = [:]
    var retireTask: Task<Void, Never>?
    var stopping = false

    public init(catalog: FunctionCatalog, engine: SandboxEngine, logs: FunctionLogs, options: SupervisorOptions) throws {
        self.catalog = catalog
        self.engine = engine
        self.logs = logs
        self.options = options
        reserved = try catalog.state.allReservedConcurrency()
    }

    /// Starts background work: retiring idle sandboxes, provisioned concurrency.
    public func start() async {
        let interval = max(0.05, min(options.idleTimeoutSeconds / 4, 5))
        retireTask = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                await self?.retireIdle()
            }
        }
        await reconcileProvisioned()
    }

    /// Destroys every sandbox (on SIGTERM).
    public func shutdown() async {
        stopping = true
        retireTask?.cancel()
        let all = pools.values.flatMap(\.idle)
        for pool in pools.values { pool.idle = [] }
        for env in all { await discard(env) }
    }

    // MARK: invoke

    public func invoke(_ ref: FunctionReference, payload: [UInt8], clientContext: String?) async throws(ServiceError) -> InvokeOutcome {
        let record = try catalog.resolve(ref)
        let key = PoolKey(function: record.name, version: record.version)
        let name = record.name
        try admit(name)
        defer { leave(name) }

        let pool = pool(for: key, revision: record.revisionId)
        pool.memoryMB = record.memorySize
        let env: PooledEnvironment
        let cold: Bool
        if let warm = pool.idle.popLast() {
            env = warm
            cold = false
            pool.busy += 1
        } else {
            try makeRoom(for: record.memorySize, function: name)
            pool.starting += 1
            liveMemoryMB += record.memorySize
            let started: PooledEnvironment
            do {
                started = try await startEnvironment(record, key: key, provisioned: false)
            } catch {
                pool.starting -= 1
                liveMemoryMB -= record.memorySize
                throw error
            }
            pool.starting -= 1
            pool.busy += 1
            env = started
            cold = true
        }
        metrics.increment(cold ? "hearth_cold_starts_total" : "hearth_warm_starts_total", function: name)

        let log = InvocationLog(sink: { [logs] bytes in logs.append(name, bytes) })
        let result = await env.environment.invoke(.init(payload: payload, clientContext: clientContext, reportInit: cold && !env.provisioned), log: log)
        env.served += 1
        env.lastUsed = Date()
        pool.busy -= 1
        metrics.increment("hearth_invocations_total", function: name)
        if case .error = result.body { metrics.increment("hearth_errors_total", function: name) }
        metrics.observe("hearth_invocation_duration_seconds", function: name, seconds: result.report.durationMs / 1000)
        if env.environment.isHealthy && env.revision == pool.revision && pools[key] === pool && !stopping {
            pool.idle.append(env)
        } else {
            Task { await self.discard(env) }
        }
        return InvokeOutcome(result: result, executedVersion: record.version, logTail: log.tail, coldStart: cold)
    }

    /// Counts an invocation in, or refuses it with Lambda's 429 and Reason.
    private func admit(_ function: String) throws(ServiceError) {
        let busy = busyByFunction[function, default: 0]
        if let limit = reserved[function] {
            guard busy < limit else {
                metrics.increment("hearth_throttles_total", function: function)
                throw .throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
            }
        } else {
            let reservedTotal = reserved.values.reduce(0, +)
            let unreservedBusy = busyByFunction.filter { reserved[$0.key] == nil }.values.reduce(0, +)
            guard unreservedBusy < options.accountConcurrency - reservedTotal else {
                metrics.increment("hearth_throttles_total", function: function)
                throw .throttled("ConcurrentInvocationLimitExceeded")
            }
        }
        busyByFunction[function] = busy + 1
        busyTotal += 1
    }

    private func leave(_ function: String) {
        let busy = busyByFunction[function, default: 1] - 1
        busyByFunction[function] = busy > 0 ? busy : nil
        busyTotal -= 1
    }

    /// Fits `memoryMB` more into the budget by retiring idle sandboxes, least recently used first.
    private func makeRoom(for memoryMB: Int, function: String) throws(ServiceError) {
        while liveMemoryMB + memoryMB > options.memoryBudgetMB {
            let candidates = pools.values.flatMap { $0.idle.filter { !$0.provisioned } }
            guard let victim = candidates.min(by: { $0.lastUsed < $1.lastUsed }), let pool = pools[victim.key] else {
                metrics.increment("hearth_throttles_total", function: function)
                throw .throttled("ConcurrentInvocationLimitExceeded",
                                 "Rate Exceeded. The host's memory budget (\(options.memoryBudgetMB) MB) is taken by busy sandboxes.")
            }
            pool.idle.removeAll { $0 === victim }
            liveMemoryMB -= victim.memoryMB
            Task { await self.destroy(victim, memoryAlreadyReleased: true) }
        }
    }

    private func pool(for key: PoolKey, revision: String) -> EnvironmentPool {
        if let pool = pools[key] {
            if pool.revision != revision { drain(pool, newRevision: revision) }
            return pool
        }
        let pool = EnvironmentPool(revision: revision)
        pools[key] = pool
        return pool
    }

    /// A new revision of a version's code or configuration: idle sandboxes go now, busy ones when they finish.
    func drain(_ pool: EnvironmentPool, newRevision: String) {
        pool.revision = newRevision
        let old = pool.idle
        pool.idle = []
        for env in old { Task { await self.discard(env) } }
    }

    private func startEnvironment(_ record: FunctionRecord, key: PoolKey, provisioned: Bool) async throws(ServiceError) -> PooledEnvironment {
        var instance: FunctionInstance
        do {
            if !provisioned, let cached = instances[key], cached.revision == record.revisionId {
                instance = cached.instance
            } else {
                instance = try catalog.instance(for: record, initializationType: provisioned ? "provisioned-concurrency" : "on-demand")
                if !provisioned { instances[key] = (record.revisionId, instance) }
            }
        } catch let error as InvalidEntrypoint {
            throw ServiceError(status: 502, type: "InvalidRuntimeException", message: error.message)
        } catch {
            throw .service("cannot prepare \(record.name): \(error)")
        }
        let uid = uids.take()
        instance.spec.id = SandboxIdentity.newID()
        instance.spec.uid = uid
        instance.spec.gid = uid
        let name = record.name
        do {
            let env = try await ExecutionEnvironment.start(instance, engine: engine, idleOutput: { [logs] bytes in logs.append(name, bytes) })
            metrics.observe("hearth_init_duration_seconds", function: name, seconds: env.initDurationMs / 1000)
            return PooledEnvironment(environment: env, key: key, revision: record.revisionId, memoryMB: record.memorySize, uid: uid, provisioned: provisioned)
        } catch {
            uids.give(uid)
            throw .service("cannot start a sandbox for \(name): \(error)")
        }
    }

    /// Tears a sandbox down and gives back its memory and uid.
    func discard(_ env: PooledEnvironment) async {
        await destroy(env, memoryAlreadyReleased: false)
    }

    private func destroy(_ env: PooledEnvironment, memoryAlreadyReleased: Bool) async {
        if !memoryAlreadyReleased { liveMemoryMB -= env.memoryMB }
        if env.provisioned, let pool = pools[env.key] { pool.provisionedLive -= 1 }
        await env.environment.destroy()
        uids.give(env.uid)
        if env.provisioned { await reconcileProvisioned() }
    }

    /// Retires sandboxes idle for longer than the idle timeout (provisioned ones stay).
    func retireIdle() async {
        let cutoff = Date().addingTimeInterval(-options.idleTimeoutSeconds)
        for pool in pools.values {
            let expired = pool.idle.filter { !$0.provisioned && $0.lastUsed < cutoff }
            guard !expired.isEmpty else { continue }
            pool.idle.removeAll { env in expired.contains { $0 === env } }
            for env in expired { await discard(env) }
        }
        pools = pools.filter { $0.value.live > 0 || $0.value.provisionedTarget > 0 }
    }

    // MARK: provisioned concurrency

    /// Starts sandboxes until every provisioned-concurrency setting has its count ready.
    func reconcileProvisioned() async {
        guard !stopping, let settings = try? catalog.state.allProvisioned() else { return }
        var wanted: [PoolKey: (Int, FunctionRecord)] = [:]
        for (function, setting) in settings {
            guard let record = try? catalog.resolve(FunctionReference(name: function, qualifier: setting.qualifier)) else { continue }
            let key = PoolKey(function: function, version: record.version)
            wanted[key] = ((wanted[key]?.0 ?? 0) + setting.requested, record)
        }
        for (key, pool) in pools where wanted[key] == nil { pool.provisionedTarget = 0 }
        for (key, (count, record)) in wanted {
            let pool = pool(for: key, revision: record.revisionId)
            pool.memoryMB = record.memorySize
            pool.provisionedTarget = count
            while pool.provisionedLive < pool.provisionedTarget && !stopping {
                guard liveMemoryMB + record.memorySize <= options.memoryBudgetMB else { break }
                pool.provisionedLive += 1
                liveMemoryMB += record.memorySize
                pool.starting += 1
                let env = try? await startEnvironment(record, key: key, provisioned: true)
                pool.starting -= 1
                guard let env, env.environment.isHealthy else {
                    pool.provisionedLive -= 1
                    liveMemoryMB -= record.memorySize
                    if let env { await env.environment.destroy(); uids.give(env.uid) }
                    break
                }
                pool.idle.insert(env, at: 0)
            }
        }
    }

    /// Ready provisioned sandboxes of a function version.
    public func provisionedAvailable(function: String, version: String) -> Int {
        pools[PoolKey(function: function, version: version)]?.idle.filter(\.provisioned).count ?? 0
    }

    // MARK: status

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
    }

    public func status() -> Status {
        let rows = pools.sorted { $0.key.description < $1.key.description }.map { key, pool in
            Status.Pool(function: key.function, version: key.version, idle: pool.idle.count, busy: pool.busy, starting: pool.starting,
                        provisioned: pool.provisionedTarget, memoryMB: pool.memoryMB * pool.live)
        }
        return Status(pools: rows, busy: busyTotal, liveMemoryMB: liveMemoryMB, memoryBudgetMB: options.memoryBudgetMB,
                      accountConcurrency: options.accountConcurrency, functions: (try? catalog.state.functionCount()) ?? 0)
    }

    public func metricsText() -> String {
        var concurrent: [(String, Double)] = []
        for (function, busy) in busyByFunction.sorted(by: { $0.key < $1.key }) {
            concurrent.append(("function=\"\(Metrics.escape(function))\"", Double(busy)))
        }
        var sandboxes: [(String, Double)] = []
        var byFunction: [String: (idle: Int, busy: Int, starting: Int)] = [:]
        for (key, pool) in pools {
            var row = byFunction[key.function] ?? (0, 0, 0)
            row.idle += pool.idle.count
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
        ])
    }
}
