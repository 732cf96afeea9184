import HearthPackages
import HearthState

/// Management operations that change what runs: each goes through the catalog (imports, unpacking and
/// synced database writes, on `BlockingWork`'s threads, never on the actor), then the pools follow
/// (drained, emptied or topped up) on the actor.
extension Supervisor {
    public nonisolated func createFunction(name: String, packageType: String?, code: FunctionCode, settings: FunctionSettings,
                                           publish: Bool) async throws(ServiceError) -> FunctionRecord {
        let catalog = self.catalog
        return try await BlockingWork.run { () throws(ServiceError) in
            try catalog.create(name: name, packageType: packageType, code: code, settings: settings, publish: publish)
        }
    }

    public nonisolated func updateFunctionCode(_ name: String, code: FunctionCode, publish: Bool) async throws(ServiceError) -> FunctionRecord {
        let catalog = self.catalog
        let record = try await BlockingWork.run { () throws(ServiceError) in try catalog.updateCode(name, code: code, publish: publish) }
        await drainLatest(name)
        return record
    }

    public nonisolated func updateFunctionConfiguration(_ name: String, settings: FunctionSettings,
                                                        revisionId: String?) async throws(ServiceError) -> FunctionRecord {
        let catalog = self.catalog
        let record = try await BlockingWork.run { () throws(ServiceError) in
            try catalog.updateConfiguration(name, settings: settings, revisionId: revisionId)
        }
        await drainLatest(name)
        return record
    }

    public nonisolated func deleteFunction(_ ref: FunctionReference) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.delete(ref) }
        await forget(ref)
    }

    /// The pools of a deleted function (or version) go, their idle sandboxes with them.
    private func forget(_ ref: FunctionReference) async {
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

    public nonisolated func publishVersion(_ name: String, description: String?) async throws(ServiceError) -> FunctionRecord {
        let catalog = self.catalog
        return try await BlockingWork.run { () throws(ServiceError) in try catalog.publishVersion(name, description: description) }
    }

    public nonisolated func publishLayerVersion(_ name: String, zip: UnnamedFile, description: String?, runtimes: [String],
                                                architectures: [String], license: String?) async throws(ServiceError) -> LayerVersionRecord {
        let catalog = self.catalog
        return try await BlockingWork.run { () throws(ServiceError) in
            try catalog.publishLayerVersion(name, zip: zip, description: description, runtimes: runtimes, architectures: architectures,
                                            license: license)
        }
    }

    public nonisolated func uploadImage(name: String, archive: UnnamedFile) async throws(ServiceError) -> String {
        let catalog = self.catalog
        return try await BlockingWork.run { () throws(ServiceError) in try catalog.uploadImage(name: name, archive: archive) }
    }

    public nonisolated func putAlias(_ function: String, name: String, version: String?, description: String?, weights: [String: Double]?,
                                     create: Bool, revisionId: String?) async throws(ServiceError) -> AliasRecord {
        let catalog = self.catalog
        let alias = try await BlockingWork.run { () throws(ServiceError) in
            try catalog.putAlias(function, name: name, version: version, description: description, weights: weights,
                                 create: create, revisionId: revisionId)
        }
        await reconcileProvisioned()
        return alias
    }

    public nonisolated func deleteAlias(_ function: String, _ name: String) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.deleteAlias(function, name) }
        await reconcileProvisioned()
    }

    public nonisolated func putReservedConcurrency(_ function: String, _ value: Int) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.putReservedConcurrency(function, value) }
        await setReserved(function, value)
    }

    public nonisolated func deleteReservedConcurrency(_ function: String) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.deleteReservedConcurrency(function) }
        await setReserved(function, nil)
    }

    private func setReserved(_ function: String, _ value: Int?) { reserved[function] = value }

    /// Lambda answers 202 and allocates in the background; so does Hearth. A configuration put again is
    /// tried again, even one that FAILED.
    public nonisolated func putProvisioned(_ function: String, qualifier: String?, count: Int) async throws(ServiceError) -> ProvisionedConcurrencyRecord {
        let catalog = self.catalog
        let budget = options.memoryBudgetMB
        let (record, version) = try await BlockingWork.run { () throws(ServiceError) in
            let record = try catalog.putProvisioned(function, qualifier: qualifier, count: count, memoryBudgetMB: budget)
            return (record, try? catalog.resolve(FunctionReference(name: function, qualifier: qualifier)).version)
        }
        await retryProvisioned(function: function, version: version)
        return record
    }

    private func retryProvisioned(function: String, version: String?) {
        if let version { pools[PoolKey(function: function, version: version)]?.provisionedFailure = nil }
        Task { await self.reconcileProvisioned() }
    }

    public nonisolated func deleteProvisioned(_ function: String, qualifier: String?) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.deleteProvisioned(function, qualifier: qualifier) }
        await releaseProvisioned(function)
    }

    /// Sandboxes that were kept for a deleted configuration now retire like any idle one.
    private func releaseProvisioned(_ function: String) async {
        await reconcileProvisioned()
        for (key, pool) in pools where key.function == function && pool.provisionedTarget == 0 {
            let kept = pool.idle.filter(\.provisioned)
            pool.idle.removeAll { $0.provisioned }
            for env in kept { await discard(env) }
        }
    }
}
