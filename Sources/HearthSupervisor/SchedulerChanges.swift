import HearthModel
import HearthRegistry
import HearthState

/// How the pools follow a change the registry has made: drained, emptied or topped up.
extension Scheduler {
    /// $LATEST's code or configuration changed: its idle sandboxes go now, busy ones when they finish.
    func drainLatest(_ name: String) {
        if let pool = pools[PoolKey(function: name, version: "$LATEST")], let record = try? lookup.latest(name) { drain(pool, to: record) }
    }

    /// The pools of a deleted function (or version) go, their idle sandboxes with them.
    func forget(_ ref: FunctionReference) async {
        let versions: Set<String>? = ref.qualifier.flatMap { $0 == "$LATEST" ? nil : [$0] }
        func named(_ key: PoolKey) -> Bool { key.function == ref.name && (versions == nil || versions?.contains(key.version) == true) }
        idleHistories = idleHistories.filter { !named($0.key) }
        for (key, pool) in pools where named(key) {
            pools[key] = nil
            let idle = pool.idle + pool.alwaysOn.filter { $0.inFlight == 0 }
            pool.idle = []
            pool.alwaysOn = []
            pool.revision = "deleted"
            pool.alwaysOnTarget = 0
            wakeWaiters(of: pool)
            for env in idle { await discard(env) }
            for env in live.values where env.key == key { env.environment.drain() }
        }
        if versions == nil {
            concurrency.setReserved(ref.name, nil)
            logs.remove(ref.name)
            metrics.forget(function: ref.name)
        }
    }

    func setReserved(_ function: String, _ value: Int?) { concurrency.setReserved(function, value) }

    /// A configuration put again is tried again, even one that FAILED; allocation runs in the background.
    func retryProvisioned(function: String, version: String?) {
        if let version { pools[PoolKey(function: function, version: version)]?.provisionedFailure = nil }
        Task { await self.reconcileProvisioned() }
    }

    /// Sandboxes that were kept for a deleted configuration now retire like any idle one.
    func releaseProvisioned(_ function: String) async {
        await reconcileProvisioned()
        for (key, pool) in pools where key.function == function && pool.provisionedTarget == 0 {
            let kept = pool.idle.filter(\.provisioned)
            pool.idle.removeAll { $0.provisioned }
            for env in kept { await discard(env) }
        }
    }
}

extension Scheduler {
    /// Settings a reload changes at once: the idle timeout (sandboxes idle longer retire at the next
    /// sweep), the keep-alive policy (a change starts its idle histories afresh) and the memory budget (a lower one evicts idle sandboxes, least recently used first, as
    /// the next start needs the room; a higher one lets waiting starts go).
    func reload(idleTimeoutSeconds: Double, keepAlive: KeepAlivePolicy, memoryBudgetMB: Int) {
        options.idleTimeoutSeconds = idleTimeoutSeconds
        if keepAlive != options.keepAlive { idleHistories = [:] }
        options.keepAlive = keepAlive
        options.memoryBudgetMB = memoryBudgetMB
        wakeMemoryWaiters()
    }
}
