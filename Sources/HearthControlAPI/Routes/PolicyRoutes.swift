import Foundation
import HearthModel
import HearthRegistry

/// AddPermission, GetPolicy and RemovePermission (/2015-03-31/functions/NAME/policy): the statement and the
/// policy go out as JSON text inside the JSON answer, as Lambda sends them.
extension LambdaAPI {
    func addPermission(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let body = try await request.json()
        guard let statementId = try body.string("StatementId") else { throw .missing("statementId") }
        guard let action = try body.string("Action") else { throw .missing("action") }
        guard let principal = try body.string("Principal") else { throw .missing("principal") }
        let permission = PermissionRequest(
            statementId: statementId, action: action, principal: principal, sourceArn: try body.string("SourceArn"),
            sourceAccount: try body.string("SourceAccount"), eventSourceToken: try body.string("EventSourceToken"),
            principalOrgId: try body.string("PrincipalOrgID"), functionUrlAuthType: try body.string("FunctionUrlAuthType"),
            revisionId: try body.string("RevisionId"))
        let statement = try await service.addPermission(ref, permission)
        return .json(201, ["Statement": statement])
    }

    func getPolicy(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let (policy, revisionId) = try functions.policy(try reference(request, params))
        return .json(200, ["Policy": policy, "RevisionId": revisionId])
    }

    func removePermission(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        try await service.removePermission(try reference(request, params), statementId: params["sid"] ?? "", revisionId: request.query["RevisionId"])
        return APIResponse(status: 204)
    }
}
