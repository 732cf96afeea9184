/// Maps a request to its route. Paths are Lambda's, version 2018-06-01.
enum Router {
    static let prefix = "/2018-06-01/runtime/"

    static func route(_ request: RuntimeAPIRequest, session: RuntimeSession, connection: ObjectIdentifier,
                      respond: @escaping (RuntimeAPIResponse) -> Void) {
        let path = request.path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.path
        guard path.hasPrefix(prefix) else { return respond(.error(404, "NotFound", "Unknown path \(path)")) }
        let parts = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
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
}
