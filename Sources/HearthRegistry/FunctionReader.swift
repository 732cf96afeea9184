import HearthModel
import HearthState

/// The registry as the control API reads it: records, aliases, layers, concurrency settings and
/// stored code. `FunctionCatalog` is the real one.
public protocol FunctionReader: FunctionLookup {
    func list(marker: String?, maxItems: Int?) throws(ServiceError) -> (functions: [FunctionRecord], nextMarker: String?)
    /// $LATEST first, then the published versions.
    func versions(_ name: String) throws(ServiceError) -> [FunctionRecord]
    func alias(_ function: String, _ name: String) throws(ServiceError) -> AliasRecord
    func aliases(_ function: String) throws(ServiceError) -> [AliasRecord]
    func reservedConcurrency(_ function: String) throws(ServiceError) -> Int?
    /// A function's tags (Lambda tags functions only, never versions or aliases).
    func tags(_ function: String) throws(ServiceError) -> [String: String]
    func reservedConcurrencyTotal() throws(ServiceError) -> Int
    /// The event invoke configuration at the reference's qualifier ($LATEST when none).
    func eventInvokeConfig(_ ref: FunctionReference) throws(ServiceError) -> EventInvokeConfigRecord
    func eventInvokeConfigs(_ function: String) throws(ServiceError) -> [EventInvokeConfigRecord]
    /// The URL of the function (no qualifier) or of an alias.
    func functionUrl(_ ref: FunctionReference) throws(ServiceError) -> FunctionUrlRecord
    func functionUrls(_ function: String) throws(ServiceError) -> [FunctionUrlRecord]
    /// The URL with this id and what it invokes; nil when there is none. Cheap: the URL listener asks on every request.
    func functionUrl(id: String) -> FunctionUrlTarget?
    /// GetPolicy: the resource policy's document (JSON text) and revision.
    func policy(_ ref: FunctionReference) throws(ServiceError) -> (policy: String, revisionId: String)
    /// GetLayerVersionPolicy: the document (JSON text) and revision.
    func layerVersionPolicy(_ layer: String, version: Int) throws(ServiceError) -> (policy: String, revisionId: String)
    /// GetFunctionRecursionConfig.
    func recursiveLoop(_ function: String) throws(ServiceError) -> String
    /// GetRuntimeManagementConfig ($LATEST or a published version).
    func runtimeManagement(_ ref: FunctionReference) throws(ServiceError) -> RuntimeManagementRecord
    func provisioned(_ function: String, qualifier: String?) throws(ServiceError) -> ProvisionedConcurrencyRecord
    func layerVersion(_ name: String, _ version: Int) throws(ServiceError) -> LayerVersionRecord
    func layerVersions(_ name: String) throws(ServiceError) -> [LayerVersionRecord]
    func layers() throws(ServiceError) -> [LayerVersionRecord]
    /// Bytes of stored code (GetAccountSettings' TotalCodeSize).
    func storedCodeBytes() -> Int64
    /// A stored zip by its SHA-256 hex, opened for sending; nil if there is none.
    func openStoredZip(digest: String) -> (fd: Int32, length: Int)?
    /// The build of a runtime a function runs (RuntimeVersionConfig.RuntimeVersionArn); nil for none.
    func runtimeVersionArn(_ runtime: String) -> String?
}

extension FunctionCatalog: FunctionReader {
    public func runtimeVersionArn(_ runtime: String) -> String? { runtimeVersions.arn(runtime: runtime, region: region) }
}
