import HearthModel
import HearthRegistry
import HearthSupervisor

extension LambdaAPI {
    func putConcurrency(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let body = try await request.json()
        guard let value = try body.int("ReservedConcurrentExecutions") else {
            throw .missing("reservedConcurrentExecutions")
        }
        try await service.putReservedConcurrency(ref.name, value)
        return .json(200, ["ReservedConcurrentExecutions": value])
    }

    func getConcurrency(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        guard let value = try functions.reservedConcurrency(ref.name) else { return .json(200, [String: Any]()) }
        return .json(200, ["ReservedConcurrentExecutions": value])
    }

    func deleteConcurrency(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        try await service.deleteReservedConcurrency(try reference(request, params).name)
        return APIResponse(status: 204)
    }

    func putProvisioned(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let body = try await request.json()
        guard let count = try body.int("ProvisionedConcurrentExecutions") else {
            throw .missing("provisionedConcurrentExecutions")
        }
        let record = try await service.putProvisioned(ref.name, qualifier: ref.qualifier, count: count)
        return .json(202, FunctionJSON.provisioned(record, available: 0))
    }

    func getProvisioned(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let record = try functions.provisioned(ref.name, qualifier: ref.qualifier)
        let version = try functions.resolve(ref).version
        let state = await service.provisionedState(function: ref.name, version: version)
        return .json(200, FunctionJSON.provisioned(record, available: state.available, failure: state.failure))
    }

    func deleteProvisioned(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        try await service.deleteProvisioned(ref.name, qualifier: ref.qualifier)
        return APIResponse(status: 204)
    }
}
