import HearthModel
import HearthRegistry
import HearthState
import HearthSupervisor

extension LambdaAPI {
    func publishVersion(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let body = try await request.json(required: false)
        let latest = try functions.latest(ref.name)
        if let expected = try body.string("CodeSha256"), expected != latest.codeSha256 {
            throw .invalidParameter("CodeSHA256 (\(expected)) is different from current CodeSHA256 in $LATEST (\(latest.codeSha256)). Please try again with the CodeSHA256 in $LATEST.")
        }
        if let revision = try body.string("RevisionId"), revision != latest.revisionId {
            throw ServiceError(status: 412, type: "PreconditionFailedException", message: "The Revision Id provided does not match the latest Revision Id.")
        }
        let version = try await service.publishVersion(ref.name, description: try body.string("Description"))
        return .json(201, configuration(version))
    }

    func listVersions(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let all = try functions.versions(ref.name)
        let (page, next) = try Self.page(all, marker: request.query["Marker"], maxItems: request.query["MaxItems"], key: \.version)
        var out: [String: Any] = ["Versions": page.map { configuration($0) }]
        if let next { out["NextMarker"] = next }
        return .json(200, out)
    }

    func putAlias(_ request: APIRequest, _ params: [String: String], create: Bool) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let body = try await request.json()
        let name = create ? (try body.string("Name") ?? "") : (params["alias"] ?? "")
        let version = try body.string("FunctionVersion")
        if create, version == nil { throw .missing("functionVersion") }
        let weights = try body.object("RoutingConfig").flatMap { (o: JSONBody) throws(ServiceError) -> [String: Double]? in try o.doubleMap("AdditionalVersionWeights") }
        let alias = try await service.putAlias(ref.name, name: name, version: version, description: try body.string("Description"),
                                                  weights: weights, create: create, revisionId: try body.string("RevisionId"))
        return .json(create ? 201 : 200, FunctionJSON.alias(alias, function: ref.name, region: region))
    }

    func getAlias(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        return .json(200, FunctionJSON.alias(try functions.alias(ref.name, params["alias"] ?? ""), function: ref.name, region: region))
    }

    func listAliases(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        var aliases = try functions.aliases(ref.name)
        if let version = request.query["FunctionVersion"] { aliases = aliases.filter { $0.functionVersion == version } }
        let (page, next) = try Self.page(aliases, marker: request.query["Marker"], maxItems: request.query["MaxItems"], key: \.name)
        var out: [String: Any] = ["Aliases": page.map { FunctionJSON.alias($0, function: ref.name, region: region) }]
        if let next { out["NextMarker"] = next }
        return .json(200, out)
    }

    func deleteAlias(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        try await service.deleteAlias(ref.name, params["alias"] ?? "")
        return APIResponse(status: 204)
    }

    /// Marker paging over an ordered list: items after the one whose key is `marker`.
    static func page<T>(_ items: [T], marker: String?, maxItems: String?, key: KeyPath<T, String>) throws(ServiceError) -> ([T], String?) {
        var limit = 50
        if let maxItems {
            guard let n = Int(maxItems), (1...10_000).contains(n) else { throw .validation("maxItems", maxItems, "Member must have value between 1 and 10000") }
            limit = n
        }
        var start = 0
        if let marker, let index = items.firstIndex(where: { $0[keyPath: key] == marker }) { start = index + 1 }
        let page = Array(items.dropFirst(start).prefix(limit))
        return (page, start + page.count < items.count ? page.last?[keyPath: key] : nil)
    }
}
