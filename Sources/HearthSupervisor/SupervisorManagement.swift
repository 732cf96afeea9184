import HearthExecution
import HearthModel
import HearthPackages
import HearthRegistry
import HearthState

/// Management operations that change what runs: each goes through the catalog (imports, unpacking and
/// synced database writes, on `BlockingWork`'s threads, never on the scheduler's actor), then the
/// scheduler's pools follow (`SchedulerChanges`).
extension Supervisor {
    public func createFunction(name: String, packageType: String?, code: FunctionCode, settings: FunctionSettings,
                               publish: Bool) async throws(ServiceError) -> FunctionRecord {
        let catalog = self.catalog
        return try await BlockingWork.run { () throws(ServiceError) in
            try catalog.create(name: name, packageType: packageType, code: code, settings: settings, publish: publish)
        }
    }

    public func updateFunctionCode(_ name: String, code: FunctionCode, publish: Bool) async throws(ServiceError) -> FunctionRecord {
        let catalog = self.catalog
        let record = try await BlockingWork.run { () throws(ServiceError) in try catalog.updateCode(name, code: code, publish: publish) }
        await scheduler.drainLatest(name)
        return record
    }

    public func updateFunctionConfiguration(_ name: String, settings: FunctionSettings,
                                            revisionId: String?) async throws(ServiceError) -> FunctionRecord {
        let catalog = self.catalog
        let record = try await BlockingWork.run { () throws(ServiceError) in
            try catalog.updateConfiguration(name, settings: settings, revisionId: revisionId)
        }
        await scheduler.drainLatest(name)
        return record
    }

    public func deleteFunction(_ ref: FunctionReference) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.delete(ref) }
        await scheduler.forget(ref)
    }

    public func publishVersion(_ name: String, description: String?) async throws(ServiceError) -> FunctionRecord {
        let catalog = self.catalog
        return try await BlockingWork.run { () throws(ServiceError) in try catalog.publishVersion(name, description: description) }
    }

    public func publishLayerVersion(_ name: String, zip: UnnamedFile, description: String?, runtimes: [String],
                                    architectures: [String], license: String?) async throws(ServiceError) -> LayerVersionRecord {
        let catalog = self.catalog
        return try await BlockingWork.run { () throws(ServiceError) in
            try catalog.publishLayerVersion(name, zip: zip, description: description, runtimes: runtimes, architectures: architectures,
                                            license: license)
        }
    }

    public func deleteLayerVersion(_ name: String, _ version: Int) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.deleteLayerVersion(name, version) }
    }

    public func uploadImage(name: String, archive: UnnamedFile) async throws(ServiceError) -> String {
        let catalog = self.catalog
        return try await BlockingWork.run { () throws(ServiceError) in try catalog.uploadImage(name: name, archive: archive) }
    }

    public func putAlias(_ function: String, name: String, version: String?, description: String?, weights: [String: Double]?,
                         create: Bool, revisionId: String?) async throws(ServiceError) -> AliasRecord {
        let catalog = self.catalog
        let alias = try await BlockingWork.run { () throws(ServiceError) in
            try catalog.putAlias(function, name: name, version: version, description: description, weights: weights,
                                 create: create, revisionId: revisionId)
        }
        await scheduler.reconcileProvisioned()
        return alias
    }

    public func deleteAlias(_ function: String, _ name: String) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.deleteAlias(function, name) }
        await scheduler.reconcileProvisioned()
    }

    public func putReservedConcurrency(_ function: String, _ value: Int) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.putReservedConcurrency(function, value) }
        await scheduler.setReserved(function, value)
    }

    public func deleteReservedConcurrency(_ function: String) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.deleteReservedConcurrency(function) }
        await scheduler.setReserved(function, nil)
    }

    /// Lambda answers 202 and allocates in the background; so does Hearth. A configuration put again is
    /// tried again, even one that FAILED.
    public func putProvisioned(_ function: String, qualifier: String?, count: Int) async throws(ServiceError) -> ProvisionedConcurrencyRecord {
        let catalog = self.catalog
        let budget = options.memoryBudgetMB
        let (record, version) = try await BlockingWork.run { () throws(ServiceError) in
            let record = try catalog.putProvisioned(function, qualifier: qualifier, count: count, memoryBudgetMB: budget)
            return (record, try? catalog.resolve(FunctionReference(name: function, qualifier: qualifier)).version)
        }
        await scheduler.retryProvisioned(function: function, version: version)
        return record
    }

    public func deleteProvisioned(_ function: String, qualifier: String?) async throws(ServiceError) {
        let catalog = self.catalog
        try await BlockingWork.run { () throws(ServiceError) in try catalog.deleteProvisioned(function, qualifier: qualifier) }
        await scheduler.releaseProvisioned(function)
    }
}
