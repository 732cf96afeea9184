import HearthModel
import HearthRegistry
import HearthState

/// Function URLs' configuration, resource policies, recursion and runtime management settings: registry changes only (the URL listener finds a URL by id on each request).
extension Supervisor {
    public func createFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) async throws(ServiceError) -> FunctionUrlRecord {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in try registry.createFunctionUrl(ref, change) }
    }

    public func updateFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) async throws(ServiceError) -> FunctionUrlRecord {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in try registry.updateFunctionUrl(ref, change) }
    }

    public func deleteFunctionUrl(_ ref: FunctionReference) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.deleteFunctionUrl(ref) }
    }

    public func addPermission(_ ref: FunctionReference, _ request: PermissionRequest) async throws(ServiceError) -> String {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in try registry.addPermission(ref, request) }
    }

    public func removePermission(_ ref: FunctionReference, statementId: String, revisionId: String?) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.removePermission(ref, statementId: statementId, revisionId: revisionId) }
    }

    public func addLayerVersionPermission(_ layer: String, version: Int, _ request: LayerPermissionRequest) async throws(ServiceError)
        -> (statement: String, revisionId: String) {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in try registry.addLayerVersionPermission(layer, version: version, request) }
    }

    public func removeLayerVersionPermission(_ layer: String, version: Int, statementId: String, revisionId: String?) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in
            try registry.removeLayerVersionPermission(layer, version: version, statementId: statementId, revisionId: revisionId)
        }
    }

    public func putRecursiveLoop(_ function: String, _ value: String) async throws(ServiceError) -> String {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in try registry.putRecursiveLoop(function, value) }
    }

    public func putRuntimeManagement(_ ref: FunctionReference, _ record: RuntimeManagementRecord) async throws(ServiceError) -> RuntimeManagementRecord {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in try registry.putRuntimeManagement(ref, record) }
    }
}
