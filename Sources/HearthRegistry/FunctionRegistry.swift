import HearthModel
import HearthPackages
import HearthState

/// What may run: functions, versions, aliases, layers, concurrency settings and code. Each change is
/// checked in Lambda's words and stored durably before it returns (on `BlockingWork`'s threads: these
/// calls block); reads come through `FunctionReader`. `FunctionCatalog` (SQLite and the package store)
/// is the one implementation; the supervisor holds only this protocol.
public protocol FunctionRegistry: FunctionReader {
    /// Where request bodies too large for memory, and zips decoded from them, are written, so that a
    /// stored zip is linked there without a copy.
    var codeDirectory: String { get }

    func create(name: String, packageType: String?, code: FunctionCode, settings: FunctionSettings, publish: Bool) throws(ServiceError) -> FunctionRecord
    func updateCode(_ name: String, code: FunctionCode, publish: Bool) throws(ServiceError) -> FunctionRecord
    func updateConfiguration(_ name: String, settings: FunctionSettings, revisionId: String?) throws(ServiceError) -> FunctionRecord
    func delete(_ ref: FunctionReference) throws(ServiceError)
    func publishVersion(_ name: String, description: String?) throws(ServiceError) -> FunctionRecord
    func putAlias(_ function: String, name: String, version: String?, description: String?, weights: [String: Double]?,
                  create: Bool, revisionId: String?) throws(ServiceError) -> AliasRecord
    func deleteAlias(_ function: String, _ name: String) throws(ServiceError)
    func putReservedConcurrency(_ function: String, _ value: Int) throws(ServiceError)
    /// Adds or replaces tags; beyond Lambda's 50 a function would have, nothing changes and it is refused.
    func tag(_ function: String, _ tags: [String: String]) throws(ServiceError)
    func untag(_ function: String, keys: [String]) throws(ServiceError)
    func deleteReservedConcurrency(_ function: String) throws(ServiceError)
    /// PutFunctionEventInvokeConfig (`replace`) or UpdateFunctionEventInvokeConfig.
    func putEventInvokeConfig(_ ref: FunctionReference, _ change: EventInvokeConfigChange, replace: Bool) throws(ServiceError) -> EventInvokeConfigRecord
    func deleteEventInvokeConfig(_ ref: FunctionReference) throws(ServiceError)
    /// What the queue reads to run an event of `ref`, cached until the function changes.
    func eventRunSettings(_ ref: FunctionReference) throws(ServiceError) -> EventRunSettings
    func createFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) throws(ServiceError) -> FunctionUrlRecord
    func updateFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) throws(ServiceError) -> FunctionUrlRecord
    func deleteFunctionUrl(_ ref: FunctionReference) throws(ServiceError)
    /// AddPermission: the statement added, as JSON text.
    func addPermission(_ ref: FunctionReference, _ request: PermissionRequest) throws(ServiceError) -> String
    func removePermission(_ ref: FunctionReference, statementId: String, revisionId: String?) throws(ServiceError)
    func addLayerVersionPermission(_ layer: String, version: Int, _ request: LayerPermissionRequest) throws(ServiceError)
        -> (statement: String, revisionId: String)
    func removeLayerVersionPermission(_ layer: String, version: Int, statementId: String, revisionId: String?) throws(ServiceError)
    /// PutFunctionRecursionConfig: the value stored.
    func putRecursiveLoop(_ function: String, _ value: String) throws(ServiceError) -> String
    func putRuntimeManagement(_ ref: FunctionReference, _ record: RuntimeManagementRecord) throws(ServiceError) -> RuntimeManagementRecord
    func putProvisioned(_ function: String, qualifier: String?, count: Int, memoryBudgetMB: Int) throws(ServiceError) -> ProvisionedConcurrencyRecord
    func deleteProvisioned(_ function: String, qualifier: String?) throws(ServiceError)
    func publishLayerVersion(_ name: String, zip: UnnamedFile, description: String?, runtimes: [String], architectures: [String],
                             license: String?) throws(ServiceError) -> LayerVersionRecord
    func deleteLayerVersion(_ name: String, _ version: Int) throws(ServiceError)
    /// Stores an image archive under a name an ImageUri can use; its digest.
    func uploadImage(name: String, archive: UnnamedFile) throws(ServiceError) -> String
    /// The runnable form of a record (may import its runtime image: seconds, the first time).
    func instance(for record: FunctionRecord, initializationType: String) throws -> FunctionInstance
}

extension FunctionCatalog: FunctionRegistry {}
