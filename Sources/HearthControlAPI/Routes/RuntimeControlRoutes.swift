import Foundation
import HearthModel
import HearthRegistry
import HearthState

/// Get/PutFunctionRecursionConfig (/2024-08-31/functions/NAME/recursion-config) and
/// Get/PutRuntimeManagementConfig (/2021-07-20/functions/NAME/runtime-management-config?Qualifier=).
extension LambdaAPI {
    func getRecursionConfig(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        .json(200, ["RecursiveLoop": try functions.recursiveLoop(try reference(request, params).name)])
    }

    func putRecursionConfig(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let name = try reference(request, params).name
        guard let value = try await request.json().string("RecursiveLoop") else { throw .missing("recursiveLoop") }
        return .json(200, ["RecursiveLoop": try await service.putRecursiveLoop(name, value)])
    }

    func getRuntimeManagementConfig(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        return .json(200, runtimeManagementJSON(try functions.runtimeManagement(ref), ref))
    }

    func putRuntimeManagementConfig(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let body = try await request.json()
        guard let on = try body.string("UpdateRuntimeOn") else { throw .missing("updateRuntimeOn") }
        let record = RuntimeManagementRecord(updateRuntimeOn: on, runtimeVersionArn: try body.string("RuntimeVersionArn"))
        return .json(200, runtimeManagementJSON(try await service.putRuntimeManagement(ref, record), ref))
    }

    private func runtimeManagementJSON(_ record: RuntimeManagementRecord, _ ref: FunctionReference) -> [String: Any] {
        var out: [String: Any] = ["UpdateRuntimeOn": record.updateRuntimeOn,
                                  "FunctionArn": LambdaARN.function(ref.name, qualifier: ref.qualifier, region: region)]
        if let version = record.runtimeVersionArn { out["RuntimeVersionArn"] = version }
        return out
    }
}
