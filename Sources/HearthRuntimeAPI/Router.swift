/// Maps a request to its route. Paths are Lambda's, version 2018-06-01.
enum Router {
    static let prefix = "/2018-06-01/runtime/"

    static func route(_ request: RuntimeAPIRequest, session: RuntimeSession, connection: ObjectIdentifier,
                      respond: @escaping (RuntimeAPIResponse) -> Void) {
        let path = pathBeforeQuery(request.path)
        guard path.utf8.starts(with: prefix.utf8) else { return respond(.error(404, "NotFound", "Unknown path \(path)")) }
        let parts = path.utf8.dropFirst(prefix.utf8.count).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map { String(Substring($0)) }
        switch (request.method, parts.count, parts.first) {
        case ("GET", 2, "invocation") where parts[1] == "next":
            NextRoute.handle(request, session: session, connection: connection, respond: respond)
        case ("POST", 3, "invocation") where parts[2] == "response" && !parts[1].isEmpty:
            respond(ResponseRoute.handle(request, requestId: parts[1], session: session))
        case ("POST", 3, "invocation") where parts[2] == "error" && !parts[1].isEmpty:
            respond(ErrorRoute.handle(request, requestId: parts[1], session: session))
        case ("POST", 2, "init") where parts[1] == "error":
            respond(InitErrorRoute.handle(request, session: session))
        case (_, 2, "invocation") where parts[1] == "next",
             (_, 3, "invocation") where parts[2] == "response" || parts[2] == "error",
             (_, 2, "init") where parts[1] == "error":
            respond(.error(405, "MethodNotAllowed", "\(request.method) is not allowed on \(path)"))
        default:
            respond(.error(404, "NotFound", "Unknown path \(path)"))
        }
    }

    /// The path without its query. Byte-wise, as everything on a request's path here: String's own
    /// `split`, `prefix(while:)` and a Substring's `hasPrefix` compare Characters (grapheme breaking),
    /// which cost ~15 us of every invocation's two Runtime API requests.
    static func pathBeforeQuery(_ uri: String) -> Substring {
        guard let query = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return uri[...] }
        return uri[..<query]
    }
}
