import HearthModel

/// POST /2018-06-01/runtime/invocation/{id}/response: the function's result.
enum ResponseRoute {
    static func handle(_ request: RuntimeAPIRequest, requestId: String, session: RuntimeSession) -> RuntimeAPIResponse {
        if let refusal = session.check(requestId: requestId) { return refusal }
        if let mode = request.header("Lambda-Runtime-Function-Response-Mode"), mode.lowercased() != "streaming" {
            session.complete(requestId: requestId, with: .platformError(.invalidResponseMode(mode)))
            return .error(400, "InvalidFunctionResponseMode", "Invalid function response mode: \(mode)")
        }
        guard request.bodyLength <= RuntimeAPILimits.maxResponseBytes else {
            let limit = RuntimeAPILimits.maxResponseBytes
            session.complete(requestId: requestId, with: .platformError(.responseTooLarge(bytes: request.bodyLength, limit: limit)))
            return .error(413, "RequestEntityTooLarge", "Exceeded maximum allowed payload size (\(limit) bytes).")
        }
        session.complete(requestId: requestId, with: .response(request.body))
        return .accepted
    }
}
