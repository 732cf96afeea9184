import Foundation
import HearthModel
import HearthRegistry

/// AddLayerVersionPermission, GetLayerVersionPolicy and RemoveLayerVersionPermission
/// (/2018-10-31/layers/NAME/versions/N/policy): the statement and the policy go out as JSON text, as Lambda sends them.
extension LambdaAPI {
    func addLayerVersionPermission(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let version = try Self.layerVersionNumber(params["version"])
        let body = try await request.json()
        guard let statementId = try body.string("StatementId") else { throw .missing("statementId") }
        guard let action = try body.string("Action") else { throw .missing("action") }
        guard let principal = try body.string("Principal") else { throw .missing("principal") }
        let permission = LayerPermissionRequest(statementId: statementId, action: action, principal: principal,
                                                organizationId: try body.string("OrganizationId"), revisionId: request.query["RevisionId"])
        let (statement, revisionId) = try await service.addLayerVersionPermission(try Self.layerName(params["layer"]), version: version, permission)
        return .json(201, ["Statement": statement, "RevisionId": revisionId])
    }

    func getLayerVersionPolicy(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let (policy, revisionId) = try functions.layerVersionPolicy(try Self.layerName(params["layer"]), version: try Self.layerVersionNumber(params["version"]))
        return .json(200, ["Policy": policy, "RevisionId": revisionId])
    }

    func removeLayerVersionPermission(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        try await service.removeLayerVersionPermission(try Self.layerName(params["layer"]), version: try Self.layerVersionNumber(params["version"]),
                                                       statementId: params["sid"] ?? "", revisionId: request.query["RevisionId"])
        return APIResponse(status: 204)
    }
}
