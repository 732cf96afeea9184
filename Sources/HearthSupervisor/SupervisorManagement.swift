import HearthState

/// Management operations that change what runs: each goes through the
/// catalog, then the pools follow (drained, emptied or topped up).
extension Supervisor {
    public func createFunction(name: String, packageType: String?, code: FunctionCode, settings: FunctionSettings,
                               publish: Bool) throws(ServiceError) -> FunctionRecord {
        try catalog.create(name: name, packageType: packageType, code: code, settings: settings, publish: publish)
    }

    public func updateFunctionCode(_ name: String, code: FunctionCode, publish: Bool) throws(ServiceError) -> FunctionRecord {
        let record = try catalog.updateCode(name, code: code, publish: publish)
        drainLatest(name)
        return record
    }

    public func updateFunctionConfiguration(_ name: String, settings: FunctionSettings, revisionId: String?) throws(ServiceError) -> FunctionRecord {
        let record = try catalog.updateConfiguration(name, settings: settings, revisionId: revisionId)
        drainLatest(name)
        return record
    }

    public func deleteFunction(_ ref: FunctionReference) async throws(ServiceError) {
        try catalog.delete(ref)
        let versions: Set<String>? = ref.qualifier.flatMap { $0 == "$LATEST" ? nil : [$0] }
        for (key, pool) in pools where key.function == ref.name && (versions == nil || versions?.contains(key.version) == true) {
            pools[key] = nil
            let idle = pool.idle
            pool.idle = []
            pool.revision = "deleted"
            for env in idle { await discard(env) }
        }
        if versions == nil {
            reserved[ref.name] = nil
            logs.remove(ref.name)
            metrics.forget(function: ref.name)
        }
    }

    private func drainLatest(_ name: String) {
        if let pool = pools[PoolKey(function: name, version: "$LATEST")], let record = try? catalog.latest(name) { drain(pool, to: record) }
    }

    public func publishVersion(_ name: String, description: String?) throws(ServiceError) -> FunctionRecord {
        try catalog.publishVersion(name, description: description)
    }

    public func putAlias(_ function: String, name: String, version: String?, description: String?, weights: [String: Double]?,
                         create: Bool, revisionId: String?) async throws(ServiceError) -> AliasRecord {
        let alias = try catalog.putAlias(function, name: name, version: version, description: description, weights: weights,
                                         create: create, revisionId: revisionId)
        await reconcileProvisioned()
        return alias
    }

    public func deleteAlias(_ function: String, _ name: String) async throws(ServiceError) {
        try catalog.deleteAlias(function, name)
        await reconcileProvisioned()
    }

    public func putReservedConcurrency(_ function: String, _ value: Int) throws(ServiceError) {
        try catalog.putReservedConcurrency(function, value)
        reserved[function] = value
    }

    public func deleteReservedConcurrency(_ function: String) throws(ServiceError) {
        try catalog.deleteReservedConcurrency(function)
        reserved[function] = nil
    }

    /// Lambda answers 202 and allocates in the background; so does Hearth. A configuration put again is
    /// tried again, even one that FAILED.
    public func putProvisioned(_ function: String, qualifier: String?, count: Int) throws(ServiceError) -> ProvisionedConcurrencyRecord {
        let record = try catalog.putProvisioned(function, qualifier: qualifier, count: count, memoryBudgetMB: options.memoryBudgetMB)
        if let version = try? catalog.resolve(FunctionReference(name: function, qualifier: qualifier)).version {
            pools[PoolKey(function: function, version: version)]?.provisionedFailure = nil
        }
        Task { await self.reconcileProvisioned() }
        return record
    }

    public func deleteProvisioned(_ function: String, qualifier: String?) async throws(ServiceError) {
        try catalog.deleteProvisioned(function, qualifier: qualifier)
        await reconcileProvisioned()
        // Sandboxes that were kept for it now retire like any idle one.
        for (key, pool) in pools where key.function == function && pool.provisionedTarget == 0 {
            let kept = pool.idle.filter(\.provisioned)
            pool.idle.removeAll { $0.provisioned }
            for env in kept { await discard(env) }
        }
    }
}
