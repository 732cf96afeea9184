import Foundation
import HearthModel
import HearthState

/// What AddLayerVersionPermission carries.
public struct LayerPermissionRequest: Sendable, Equatable {
    public var statementId: String
    public var action: String
    public var principal: String
    public var organizationId: String?
    /// The policy's revision the caller last saw; the change is refused when it moved on.
    public var revisionId: String?

    public init(statementId: String, action: String, principal: String, organizationId: String? = nil, revisionId: String? = nil) {
        self.statementId = statementId
        self.action = action
        self.principal = principal
        self.organizationId = organizationId
        self.revisionId = revisionId
    }
}

/// Layer versions' policies (AddLayerVersionPermission, GetLayerVersionPolicy, RemoveLayerVersionPermission),
/// stored and answered as Lambda writes them; like functions' policies, kept for the tools that manage
/// them, not evaluated (Hearth is one account).
extension FunctionCatalog {
    static let layerActionPattern = "lambda:GetLayerVersion"
    static let layerPrincipalPattern = #"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root"#
    static let layerOrganizationPattern = "o-[a-z0-9]{10,32}"

    /// The statement added (JSON text) and the policy's new revision.
    public func addLayerVersionPermission(_ layer: String, version: Int, _ request: LayerPermissionRequest) throws(ServiceError)
        -> (statement: String, revisionId: String) {
        try Self.checkStatementId(request.statementId)
        guard request.action == Self.layerActionPattern else {
            throw .validation("action", request.action, "Member must satisfy regular expression pattern: " + Self.layerActionPattern)
        }
        if !Self.isLayerPrincipal(request.principal) {
            throw .validation("principal", request.principal, "Member must satisfy regular expression pattern: " + Self.layerPrincipalPattern)
        }
        if let org = request.organizationId, !Self.isOrganizationId(org) {
            throw .validation("organizationId", org, "Member must satisfy regular expression pattern: " + Self.layerOrganizationPattern)
        }
        if request.organizationId != nil, request.principal != "*" {
            throw .invalidParameter("OrganizationId can only be specified when the principal is *.")
        }
        try requireLayerVersion(layer, version)
        let principal: String = request.principal.count == 12 ? "arn:aws:iam::\(request.principal):root" : request.principal
        var statement: [String: Any] = ["Sid": request.statementId, "Effect": "Allow",
                                        "Principal": principal == "*" ? "*" : ["AWS": principal] as Any,
                                        "Action": request.action, "Resource": LambdaARN.layer(layer, version: version, region: region)]
        if let org = request.organizationId { statement["Condition"] = ["StringEquals": ["aws:PrincipalOrgID": org]] }
        let text = Self.jsonText(statement, order: ["Sid", "Effect", "Principal", "Action", "Resource", "Condition"])

        let current = try wrap { try state.layerPolicy(layer, version: version) }
        if let expected = request.revisionId, expected != current?.revisionId { throw Self.layerRevisionMoved }
        let stored = try PolicyStatements.adding(text, id: request.statementId, to: current?.statements ?? [])
        let revisionId = UUID().uuidString.lowercased()
        guard try wrap({ try state.setLayerPolicy(layer, version: version, statements: stored, expected: current?.revisionId,
                                                  revisionId: revisionId) }) else { throw Self.layerRevisionMoved }
        return (text, revisionId)
    }

    /// GetLayerVersionPolicy: the document (JSON text) and its revision.
    public func layerVersionPolicy(_ layer: String, version: Int) throws(ServiceError) -> (policy: String, revisionId: String) {
        try requireLayerVersion(layer, version)
        guard let current = try wrap({ try state.layerPolicy(layer, version: version) }) else {
            throw .notFound("No policy is associated with the given resource.")
        }
        return (PolicyStatements.document(current.statements), current.revisionId)
    }

    public func removeLayerVersionPermission(_ layer: String, version: Int, statementId: String, revisionId: String?) throws(ServiceError) {
        try requireLayerVersion(layer, version)
        guard let current = try wrap({ try state.layerPolicy(layer, version: version) }) else {
            throw .notFound("No policy is associated with the given resource.")
        }
        if let revisionId, revisionId != current.revisionId { throw Self.layerRevisionMoved }
        let kept = try PolicyStatements.removing(statementId, from: current.statements)
        guard try wrap({ try state.setLayerPolicy(layer, version: version, statements: kept, expected: current.revisionId,
                                                  revisionId: UUID().uuidString.lowercased()) }) else { throw Self.layerRevisionMoved }
    }

    /// \d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root
    static func isLayerPrincipal(_ text: String) -> Bool {
        func account(_ p: [UInt8]) -> Bool { p.count == 12 && p.allSatisfy(FunctionReference.isDigit) }
        if text == "*" || account(Array(text.utf8)) { return true }
        let p = text.split(separator: ":", omittingEmptySubsequences: false).map { Array($0.utf8) }
        return p.count == 6 && p[0] == Array("arn".utf8) && !p[1].isEmpty && FunctionReference.awsPartition(p[1]) && p[2] == Array("iam".utf8)
            && p[3].isEmpty && account(p[4]) && p[5] == Array("root".utf8)
    }

    /// o-[a-z0-9]{10,32}
    static func isOrganizationId(_ text: String) -> Bool {
        let p = Array(text.utf8)
        return p.starts(with: Array("o-".utf8)) && (10...32).contains(p.count - 2)
            && p.dropFirst(2).allSatisfy { FunctionReference.isLower($0) || FunctionReference.isDigit($0) }
    }

    static let layerRevisionMoved = ServiceError(
        status: 412, type: "PreconditionFailedException",
        message: "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id")

    private func requireLayerVersion(_ layer: String, _ version: Int) throws(ServiceError) {
        guard try wrap({ try state.layerVersion(layer, version) }) != nil else {
            throw .notFound("Layer version \(LambdaARN.layer(layer, version: version, region: region)) does not exist.")
        }
    }
}
