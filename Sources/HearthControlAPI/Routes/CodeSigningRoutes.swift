import Foundation
import HearthModel
import HearthRegistry

/// Code signing, read side: Hearth verifies no signatures, so there are no code signing configurations.
/// The reads answer as Lambda does for an account with none; creating one is refused in words that say why.
extension LambdaAPI {
    func getFunctionCodeSigningConfig(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        _ = try functions.resolve(FunctionReference(name: try reference(request, params).name))
        return .json(200, [:])
    }

    func deleteFunctionCodeSigningConfig(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        _ = try functions.resolve(FunctionReference(name: try reference(request, params).name))
        return APIResponse(status: 204)
    }

    func putFunctionCodeSigningConfig(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        guard let arn = try await request.json().string("CodeSigningConfigArn") else { throw .missing("codeSigningConfigArn") }
        throw ServiceError(status: 404, type: "CodeSigningConfigNotFoundException",
                           message: "The code signing configuration cannot be found. Check that the provided configuration is not deleted: \(arn).")
    }

    func listCodeSigningConfigs(_ request: APIRequest) throws(ServiceError) -> APIResponse {
        .json(200, ["CodeSigningConfigs": [Any]()])
    }

    /// GetCodeSigningConfig, UpdateCodeSigningConfig, DeleteCodeSigningConfig, ListFunctionsByCodeSigningConfig.
    func codeSigningConfigNotFound(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let arn = params["arn"] ?? ""
        throw .notFound("The Lambda code signing configuration \(arn) can not be found.")
    }

    func createCodeSigningConfig(_ request: APIRequest) throws(ServiceError) -> APIResponse {
        throw .invalidParameter("Hearth does not verify code signatures, so it keeps no code signing configurations.")
    }
}
