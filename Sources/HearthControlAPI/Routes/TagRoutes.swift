import HearthModel
import HearthRegistry

/// TagResource, UntagResource and ListTags (/2017-03-31/tags/ARN): tags belong to a function, never to one
/// of its versions or aliases, and an ARN is checked as Lambda checks it.
extension LambdaAPI {
    func tagResource(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let function = try taggedFunction(params)
        let body = try await request.json()
        guard let tags = try body.stringMap("Tags"), !tags.isEmpty else {
            // Lambda's own words for an empty or missing Tags.
            throw .invalidParameter("An error occurred and the request cannot be processed.")
        }
        try await service.tag(function, tags)
        return APIResponse(status: 204)
    }

    func listTags(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        .json(200, ["Tags": try functions.tags(try taggedFunction(params))])
    }

    func untagResource(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let function = try taggedFunction(params)
        let keys = request.queryItems.filter { $0.name == "tagKeys" }.map(\.value)
        guard !keys.isEmpty else { throw .missing("tagKeys") }
        try await service.untag(function, keys: keys)
        return APIResponse(status: 204)
    }

    /// The function a tag call's ARN names.
    func taggedFunction(_ params: [String: String]) throws(ServiceError) -> String {
        let arn = params["arn"] ?? ""
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 7 || parts.count == 8, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "lambda",
              Self.isRegion(parts[3]), parts[4].count == 12, parts[4].allSatisfy(\.isNumber), parts[5] == "function",
              !parts[6].isEmpty, parts[6].allSatisfy(Self.isNameCharacter),
              parts.count == 7 || (!parts[7].isEmpty && (parts[7] == "$LATEST" || parts[7].allSatisfy(Self.isNameCharacter))) else {
            throw .validation("resource", arn, "Member must satisfy regular expression pattern: " + Self.taggableARNPattern)
        }
        guard parts.count == 7 else {
            throw .invalidParameter("Tags on function aliases and versions are not supported. Please specify a function ARN.")
        }
        // Another region or account is a function this daemon does not have.
        guard parts[3] == service.region, parts[4] == LambdaARN.accountId else { throw .functionNotFound(arn) }
        return parts[6]
    }

    static let taggableARNPattern = "arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:"
        + "(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{17}|"
        + "event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)"

    static func isNameCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_")
    }

    /// us-east-1, eu-west-3, us-gov-west-1: letters, a dash, letters (and dashes), a dash, a digit.
    static func isRegion(_ text: String) -> Bool {
        let words = text.split(separator: "-", omittingEmptySubsequences: false)
        guard words.count >= 3, let last = words.last, last.count == 1, last.allSatisfy(\.isNumber), words[0].count == 2 else { return false }
        return words.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isLowercase } }
    }
}
