import Foundation
import HearthModel
import HearthRegistry

/// The keep-alive policy applied (`KeepAlivePolicy`): which idle environments retire, and when one is
/// pre-warmed before an expected invocation.
extension Scheduler {
    /// An invocation of `key` was admitted: under the hybrid policy, the idle period it ends is recorded.
    func arrived(_ key: PoolKey) {
        guard case .hybrid(let settings) = options.keepAlive else { return }
        idleHistories[key, default: IdleHistory(settings)].arrive(at: clock.now())
    }

    /// An invocation of `key` ended: true if its environment is to be unloaded at once (the last one
    /// running under a policy that pre-warms before the next).
    func left(_ key: PoolKey) -> Bool {
        // The fixed policy keeps no history: nothing to look up on the warm path.
        guard case .hybrid = options.keepAlive, idleHistories[key] != nil else { return false }
        let last = idleHistories[key]?.leave(at: clock.now()) ?? false
        return last && windows(for: key).preWarm > 0
    }

    func windows(for key: PoolKey) -> KeepAliveWindows {
        guard case .hybrid(let settings) = options.keepAlive, let history = idleHistories[key] else {
            return .fixed(options.idleTimeoutSeconds)
        }
        return history.histogram.windows(settings, fixed: options.idleTimeoutSeconds)
    }

    /// The idle environments of a pool that the policy retires now (provisioned ones never).
    func expired(in pool: EnvironmentPool, key: PoolKey, at now: Date) -> [PooledEnvironment] {
        let windows = windows(for: key)
        let idleFor = idleHistories[key]?.idleSince.map { now.timeIntervalSince($0) }
        return pool.idle.filter { env in
            guard !env.provisioned && !env.alwaysOn else { return false }
            if windows.preWarm > 0, let idleFor {
                // Unloaded until the pre-warm window, and gone at its end.
                return idleFor < windows.preWarm || idleFor >= windows.end
            }
            return now.timeIntervalSince(env.lastUsed) >= (windows.preWarm > 0 ? windows.end : windows.keepAlive)
        }
    }

    /// Starts one environment for each function version whose pre-warm window has opened and that has
    /// none, once per idle period.
    func preWarm(at now: Date) {
        for (key, history) in idleHistories where history.running == 0 && !history.preWarmed {
            guard let since = history.idleSince else { continue }
            let windows = windows(for: key)
            let idleFor = now.timeIntervalSince(since)
            guard windows.preWarm > 0, idleFor >= windows.preWarm, idleFor < windows.end, (pools[key]?.live ?? 0) == 0 else { continue }
            idleHistories[key]?.preWarmed = true
            inBackground { await self.startPreWarmed(key) }
        }
    }

    private func startPreWarmed(_ key: PoolKey) async {
        guard !stopping,
              let record = try? lookup.resolve(FunctionReference(name: key.function, qualifier: key.version)),
              (try? await reserveMemory(record.memorySize, function: key.function)) != nil else { return }
        guard let env = try? await startEnvironment(record, key: key, provisioned: false) else { return }
        let pool = pool(for: key, record: record)
        metrics.increment("hearth_prewarms_total", function: key.function)
        // Still wanted: healthy, the same revision, and the function still idle (an invocation that
        // arrived meanwhile started its own).
        if env.environment.isHealthy && env.revision == pool.revision && pools[key] === pool && !stopping
            && idleHistories[key]?.running == 0 {
            env.lastUsed = clock.now()
            pool.idle.append(env)
        } else {
            await discard(env)
        }
    }
}
