import HearthExecution
import HearthModel
import HearthPackages
import HearthRegistry
import HearthState

/// Management operations that change what runs: each goes through the registry (imports, unpacking and
/// synced database writes, on `BlockingWork`'s threads, never on the scheduler's actor), then the
/// scheduler's pools follow (`SchedulerChanges`).
extension Supervisor {
    public func createFunction(name: String, packageType: String?, code: FunctionCode, settings: FunctionSettings,
                               publish: Bool) async throws(ServiceError) -> FunctionRecord {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in
            try registry.create(name: name, packageType: packageType, code: code, settings: settings, publish: publish)
        }
    }

    public func updateFunctionCode(_ name: String, code: FunctionCode, publish: Bool) async throws(ServiceError) -> FunctionRecord {
        let registry = self.registry
        let record = try await BlockingWork.run { () throws(ServiceError) in try registry.updateCode(name, code: code, publish: publish) }
        await scheduler.drainLatest(name)
        return record
    }

    public func updateFunctionConfiguration(_ name: String, settings: FunctionSettings,
                                            revisionId: String?) async throws(ServiceError) -> FunctionRecord {
        let registry = self.registry
        let record = try await BlockingWork.run { () throws(ServiceError) in
            try registry.updateConfiguration(name, settings: settings, revisionId: revisionId)
        }
        await scheduler.drainLatest(name)
        return record
    }

    public func deleteFunction(_ ref: FunctionReference) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.delete(ref) }
        await scheduler.forget(ref)
    }

    public func publishVersion(_ name: String, description: String?) async throws(ServiceError) -> FunctionRecord {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in try registry.publishVersion(name, description: description) }
    }

    public func publishLayerVersion(_ name: String, zip: UnnamedFile, description: String?, runtimes: [String],
                                    architectures: [String], license: String?) async throws(ServiceError) -> LayerVersionRecord {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in
            try registry.publishLayerVersion(name, zip: zip, description: description, runtimes: runtimes, architectures: architectures,
                                            license: license)
        }
    }

    public func deleteLayerVersion(_ name: String, _ version: Int) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.deleteLayerVersion(name, version) }
    }

    public func uploadImage(name: String, archive: UnnamedFile) async throws(ServiceError) -> String {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in try registry.uploadImage(name: name, archive: archive) }
    }

    public func putAlias(_ function: String, name: String, version: String?, description: String?, weights: [String: Double]?,
                         create: Bool, revisionId: String?) async throws(ServiceError) -> AliasRecord {
        let registry = self.registry
        let alias = try await BlockingWork.run { () throws(ServiceError) in
            try registry.putAlias(function, name: name, version: version, description: description, weights: weights,
                                 create: create, revisionId: revisionId)
        }
        await scheduler.reconcileProvisioned()
        return alias
    }

    public func deleteAlias(_ function: String, _ name: String) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.deleteAlias(function, name) }
        await scheduler.reconcileProvisioned()
    }

    public func tag(_ function: String, _ tags: [String: String]) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.tag(function, tags) }
    }

    public func untag(_ function: String, keys: [String]) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.untag(function, keys: keys) }
    }

    public func putReservedConcurrency(_ function: String, _ value: Int) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.putReservedConcurrency(function, value) }
        await scheduler.setReserved(function, value)
    }

    public func deleteReservedConcurrency(_ function: String) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.deleteReservedConcurrency(function) }
        await scheduler.setReserved(function, nil)
    }

    /// Lambda answers 202 and allocates in the background; so does Hearth. A configuration put again is
    /// tried again, even one that FAILED.
    public func putProvisioned(_ function: String, qualifier: String?, count: Int) async throws(ServiceError) -> ProvisionedConcurrencyRecord {
        let registry = self.registry
        let budget = options.memoryBudgetMB
        let (record, version) = try await BlockingWork.run { () throws(ServiceError) in
            let record = try registry.putProvisioned(function, qualifier: qualifier, count: count, memoryBudgetMB: budget)
            return (record, try? registry.resolve(FunctionReference(name: function, qualifier: qualifier)).version)
        }
        await scheduler.retryProvisioned(function: function, version: version)
        return record
    }

    public func deleteProvisioned(_ function: String, qualifier: String?) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.deleteProvisioned(function, qualifier: qualifier) }
        await scheduler.releaseProvisioned(function)
    }
}
