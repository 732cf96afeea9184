import HearthModel
import HearthRegistry

/// Always-on environments, as a container deployment runs: a fixed number started up front, never
/// retired, evicted or scaled to zero, replaced when one dies. Each runs up to `perEnvironment`
/// invocations at once (its runtime told so by AWS_LAMBDA_MAX_CONCURRENCY, as on Lambda Managed
/// Instances); an invocation goes to the least loaded one, and one that finds them all full waits for the
/// next free place, in order of arrival, instead of starting another (what `hearth compare`'s always-on
/// arm measures against the serverless one).
extension Scheduler {
    /// Starts `count` always-on environments of `ref`'s version and returns once they are ready.
    public func keepAlwaysOn(_ ref: FunctionReference, environments count: Int, perEnvironment: Int = 1) async throws(ServiceError) {
        guard count >= 1 else { throw .invalidParameter("An always-on pool needs at least one environment.") }
        guard RuntimeConcurrency.range.contains(perEnvironment) else {
            throw .invalidParameter("An always-on environment runs \(RuntimeConcurrency.range.lowerBound) to \(RuntimeConcurrency.range.upperBound) invocations at once, not \(perEnvironment).")
        }
        let record = try lookup.resolve(ref)
        let key = PoolKey(function: record.name, version: record.version)
        let pool = pool(for: key, record: record)
        pool.alwaysOnTarget = count
        pool.alwaysOnPerEnvironment = perEnvironment
        pool.alwaysOnFailure = nil
        try await replenishAlwaysOn(key)
    }

    /// Starts environments until the pool has its always-on count; an init failure stops it (and is
    /// not retried until `keepAlwaysOn` is called again).
    func replenishAlwaysOn(_ key: PoolKey) async throws(ServiceError) {
        while let pool = pools[key], pool.alwaysOnLive + pool.alwaysOnStarting < pool.alwaysOnTarget, pool.alwaysOnFailure == nil, !stopping {
            let record = try lookup.resolve(FunctionReference(name: key.function, qualifier: key.version))
            pool.alwaysOnStarting += 1
            defer { pool.alwaysOnStarting -= 1 }
            try await reserveMemory(record.memorySize, function: key.function)
            let env = try await startEnvironment(record, key: key, provisioned: false, concurrency: pool.alwaysOnPerEnvironment)
            env.alwaysOn = true
            pool.alwaysOnLive += 1
            guard env.environment.isHealthy else {
                pool.alwaysOnFailure = "its init failed"
                await discard(env)
                wakeWaiters(of: pool)
                throw .service("cannot start an always-on environment of \(key): its init failed")
            }
            pool.alwaysOn.append(env)
            handOut(env, in: pool)
        }
    }

    /// A place in the least loaded always-on environment, or the next one freed; nil if none will be
    /// (stopping, init failed, the function deleted).
    func takeAlwaysOn(_ pool: EnvironmentPool) async -> PooledEnvironment? {
        // One that died while it waited (its runtime exited) is replaced, not chosen.
        for env in pool.alwaysOn where env.inFlight == 0 && !env.environment.isHealthy {
            pool.alwaysOn.removeAll { $0 === env }
            inBackground { await self.discard(env) }
        }
        if let env = Self.leastLoaded(pool.alwaysOn, limit: pool.alwaysOnPerEnvironment) {
            occupy(env, in: pool)
            return env
        }
        guard !stopping, pool.alwaysOnFailure == nil else { return nil }
        return await withCheckedContinuation { pool.waiters.append($0) }
    }

    /// The usable environment running the fewest invocations, below `limit`; the first of equals.
    static func leastLoaded(_ environments: [PooledEnvironment], limit: Int) -> PooledEnvironment? {
        var best: PooledEnvironment?
        for env in environments where env.inFlight < limit && env.environment.state != .draining && env.environment.isHealthy {
            if best.map({ env.inFlight < $0.inFlight }) ?? true { best = env }
        }
        return best
    }

    /// An invocation on an always-on environment ended: its place goes to the longest-waiting
    /// invocation; a retired or dead environment goes once its last invocation has ended (and is replaced).
    func returnAlwaysOn(_ env: PooledEnvironment, to pool: EnvironmentPool) {
        env.inFlight -= 1
        if env.inFlight == 0 { pool.busy -= 1 }
        let usable = env.environment.isHealthy && env.environment.state != .draining && pools[env.key] === pool && !stopping
            && pool.alwaysOn.contains { $0 === env }
        guard usable else {
            if env.inFlight == 0 {
                pool.alwaysOn.removeAll { $0 === env }
                inBackground { await self.discard(env) }
            }
            return
        }
        handOut(env, in: pool)
    }

    /// Gives `env`'s free places to waiting invocations, oldest first.
    private func handOut(_ env: PooledEnvironment, in pool: EnvironmentPool) {
        while !pool.waiters.isEmpty, env.inFlight < pool.alwaysOnPerEnvironment {
            occupy(env, in: pool)
            pool.waiters.removeFirst().resume(returning: env)
        }
    }

    private func occupy(_ env: PooledEnvironment, in pool: EnvironmentPool) {
        env.inFlight += 1
        if env.inFlight == 1 { pool.busy += 1 }
    }

    func wakeWaiters(of pool: EnvironmentPool) {
        let waiters = pool.waiters
        pool.waiters = []
        for waiter in waiters { waiter.resume(returning: nil) }
    }
}
