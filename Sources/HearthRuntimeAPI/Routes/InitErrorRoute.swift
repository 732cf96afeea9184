/// POST /2018-06-01/runtime/init/error: the runtime could not start the function;
/// the error goes to the first invoke.
enum InitErrorRoute {
    static func handle(_ request: RuntimeAPIRequest, session: RuntimeSession) -> RuntimeAPIResponse {
        session.initError(body: request.body, errorType: ErrorRoute.errorType(request))
    }
}
