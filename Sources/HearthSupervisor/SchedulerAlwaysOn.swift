import HearthModel
import HearthRegistry

/// Always-on environments, as a container deployment runs: a fixed number started up front, never
/// retired, evicted or scaled to zero, replaced when one dies; an invocation that finds none idle waits
/// for the next one free, in order of arrival, instead of starting another (what `hearth compare`'s
/// always-on arm measures against the serverless one).
extension Scheduler {
    /// Starts `count` always-on environments of `ref`'s version and returns once they are ready.
    public func keepAlwaysOn(_ ref: FunctionReference, environments count: Int) async throws(ServiceError) {
        guard count >= 1 else { throw .invalidParameter("An always-on pool needs at least one environment.") }
        let record = try lookup.resolve(ref)
        let key = PoolKey(function: record.name, version: record.version)
        let pool = pool(for: key, record: record)
        pool.alwaysOnTarget = count
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
            let env = try await startEnvironment(record, key: key, provisioned: false)
            env.alwaysOn = true
            pool.alwaysOnLive += 1
            guard env.environment.isHealthy else {
                pool.alwaysOnFailure = "its init failed"
                await discard(env)
                wakeWaiters(of: pool)
                throw .service("cannot start an always-on environment of \(key): its init failed")
            }
            give(env, to: pool)
        }
    }

    /// An idle environment goes to the longest-waiting invocation, else back to the pool.
    func give(_ env: PooledEnvironment, to pool: EnvironmentPool) {
        if pool.waiters.isEmpty {
            pool.idle.append(env)
        } else {
            pool.waiters.removeFirst().resume(returning: env)
        }
    }

    /// Waits for an always-on environment to be free; nil if none will be (stopping, init failed).
    func waitForAlwaysOn(_ pool: EnvironmentPool) async -> PooledEnvironment? {
        guard !stopping, pool.alwaysOnFailure == nil else { return nil }
        return await withCheckedContinuation { pool.waiters.append($0) }
    }

    func wakeWaiters(of pool: EnvironmentPool) {
        let waiters = pool.waiters
        pool.waiters = []
        for waiter in waiters { waiter.resume(returning: nil) }
    }
}
