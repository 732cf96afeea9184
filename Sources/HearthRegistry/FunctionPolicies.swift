import Foundation
import HearthModel
import HearthState

/// What AddPermission carries.
public struct PermissionRequest: Sendable, Equatable {
    public var statementId: String
    public var action: String
    public var principal: String
    public var sourceArn: String?
    public var sourceAccount: String?
    public var eventSourceToken: String?
    public var principalOrgId: String?
    public var functionUrlAuthType: String?
    /// The policy's revision the caller last saw; the change is refused when it moved on.
    public var revisionId: String?

    public init(statementId: String, action: String, principal: String, sourceArn: String? = nil, sourceAccount: String? = nil,
                eventSourceToken: String? = nil, principalOrgId: String? = nil, functionUrlAuthType: String? = nil, revisionId: String? = nil) {
        self.statementId = statementId
        self.action = action
        self.principal = principal
        self.sourceArn = sourceArn
        self.sourceAccount = sourceAccount
        self.eventSourceToken = eventSourceToken
        self.principalOrgId = principalOrgId
        self.functionUrlAuthType = functionUrlAuthType
        self.revisionId = revisionId
    }
}

/// Resource-based policies (AddPermission, GetPolicy, RemovePermission), per function, version or alias,
/// stored and answered as Lambda writes them. Hearth is one account: the statements are kept for the
/// clients and tools that manage them, not evaluated (who may call is the access keys' business).
extension FunctionCatalog {
    /// The statement added, as JSON text.
    public func addPermission(_ ref: FunctionReference, _ request: PermissionRequest) throws(ServiceError) -> String {
        try Self.checkStatementId(request.statementId)
        let actionPattern = #"(lambda:[*]|lambda:[a-zA-Z]+|[*])"#
        if let regex = try? Regex(actionPattern), request.action.wholeMatch(of: regex) == nil {
            throw .validation("action", request.action, "Member must satisfy regular expression pattern: " + actionPattern)
        }
        if let type = request.functionUrlAuthType, !Self.urlAuthTypes.contains(type) {
            throw .validation("functionUrlAuthType", type, "Member must satisfy enum value set: [AWS_IAM, NONE]")
        }
        if ref.qualifier == "$LATEST" { throw .invalidParameter("We currently do not support adding policies for $LATEST.") }
        try requirePolicyTarget(ref, missingFunction: .functionNotFound(arn(ref.name)))
        let principal = try Self.principal(request.principal)

        var statement: [String: Any] = ["Sid": request.statementId, "Effect": "Allow", "Principal": principal, "Action": request.action,
                                        "Resource": arn(ref.name, ref.qualifier)]
        var equals: [String: String] = [:]
        if let v = request.sourceAccount { equals["AWS:SourceAccount"] = v }
        if let v = request.functionUrlAuthType { equals["lambda:FunctionUrlAuthType"] = v }
        if let v = request.principalOrgId { equals["aws:PrincipalOrgID"] = v }
        if let v = request.eventSourceToken { equals["lambda:EventSourceToken"] = v }
        var condition: [String: Any] = [:]
        if !equals.isEmpty { condition["StringEquals"] = equals }
        if let v = request.sourceArn { condition["ArnLike"] = ["AWS:SourceArn": v] }
        if !condition.isEmpty { statement["Condition"] = condition }
        let text = Self.jsonText(statement, order: ["Sid", "Effect", "Principal", "Action", "Resource", "Condition"])

        let current = try wrap { try state.policy(ref.name, qualifier: ref.qualifier) }
        if let expected = request.revisionId, expected != current?.revisionId { throw Self.revisionMoved }
        let stored = try PolicyStatements.adding(text, id: request.statementId, to: current?.statements ?? [])
        guard try wrap({ try state.setPolicy(ref.name, qualifier: ref.qualifier, statements: stored, expected: current?.revisionId,
                                             revisionId: UUID().uuidString.lowercased()) }) else { throw Self.revisionMoved }
        return text
    }

    /// GetPolicy: the policy document as JSON text, and its revision.
    public func policy(_ ref: FunctionReference) throws(ServiceError) -> (policy: String, revisionId: String) {
        let missing = ServiceError.notFound("The resource you requested does not exist.")
        guard (try? resolve(ref)) != nil, let current = try wrap({ try state.policy(ref.name, qualifier: ref.qualifier) }) else { throw missing }
        return (PolicyStatements.document(current.statements), current.revisionId)
    }

    public func removePermission(_ ref: FunctionReference, statementId: String, revisionId: String?) throws(ServiceError) {
        try requirePolicyTarget(ref, missingFunction: .notFound("No policy found for: \(arn(ref.name, ref.qualifier))"))
        guard let current = try wrap({ try state.policy(ref.name, qualifier: ref.qualifier) }) else {
            throw .notFound("No policy is associated with the given resource.")
        }
        if let revisionId, revisionId != current.revisionId { throw Self.revisionMoved }
        let kept = try PolicyStatements.removing(statementId, from: current.statements)
        guard try wrap({ try state.setPolicy(ref.name, qualifier: ref.qualifier, statements: kept, expected: current.revisionId,
                                             revisionId: UUID().uuidString.lowercased()) }) else { throw Self.revisionMoved }
    }

    /// A statement id as both kinds of policy take it.
    static func checkStatementId(_ id: String) throws(ServiceError) {
        guard !id.isEmpty, id.count <= 100, id.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSetASCII.alnum($0) || $0 == "-" || $0 == "_") }) else {
            throw .validation("statementId", id, "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)")
        }
    }

    static let revisionMoved = ServiceError(status: 412, type: "PreconditionFailedException",
                                            message: "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")

    /// The function, and the version or alias a qualifier names, exist (in Lambda's words for each).
    private func requirePolicyTarget(_ ref: FunctionReference, missingFunction: ServiceError) throws(ServiceError) {
        guard try wrap({ try state.function(ref.name) }) != nil else { throw missingFunction }
        guard let q = ref.qualifier, q != "$LATEST" else { return }
        if let number = Int(q) {
            guard try wrap({ try state.version(ref.name, number) }) != nil else { throw .functionNotFound(arn(ref.name, q)) }
        } else if try wrap({ try state.alias(ref.name, q) }) == nil {
            throw .notFound("Cannot find alias arn: \(arn(ref.name, q))")
        }
    }

    /// A principal as a statement writes it: "*", a service, an account (its root) or an IAM ARN.
    static func principal(_ text: String) throws(ServiceError) -> Any {
        if text == "*" { return "*" }
        if text.count == 12, text.allSatisfy(\.isNumber) { return ["AWS": "arn:aws:iam::\(text):root"] }
        if text.hasPrefix("arn:aws:iam::") || text.hasPrefix("arn:aws:sts::") { return ["AWS": text] }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } }) {
            return ["Service": text]
        }
        throw .invalidParameter("The provided principal was invalid. Please check the principal and try again.")
    }

    static func sid(of statement: String) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(statement.utf8))) as? [String: Any])?["Sid"] as? String
    }

    /// An object's JSON with its keys in Lambda's order (JSONSerialization sorts or scrambles them).
    static func jsonText(_ object: [String: Any], order: [String]) -> String {
        let parts = order.compactMap { key -> String? in
            guard let value = object[key], let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
            else { return nil }
            return "\"\(key)\":" + String(decoding: data, as: UTF8.self)
        }
        return "{" + parts.joined(separator: ",") + "}"
    }
}

/// The statement list both kinds of policy keep (each statement a JSON object's text), and its edits in Lambda's words.
enum PolicyStatements {
    static func document(_ statements: [String]) -> String {
        #"{"Version":"2012-10-17","Id":"default","Statement":["# + statements.joined(separator: ",") + "]}"
    }

    static func adding(_ statement: String, id: String, to statements: [String]) throws(ServiceError) -> [String] {
        if statements.contains(where: { FunctionCatalog.sid(of: $0) == id }) {
            throw .conflict("The statement id (\(id)) provided already exists. Please provide a new statement id, or remove the existing statement.")
        }
        return statements + [statement]
    }

    static func removing(_ id: String, from statements: [String]) throws(ServiceError) -> [String] {
        let kept = statements.filter { FunctionCatalog.sid(of: $0) != id }
        guard kept.count < statements.count else { throw .notFound("Statement \(id) is not found in resource policy.") }
        return kept
    }
}
