import Foundation

/// POST /2018-06-01/runtime/invocation/{id}/error: the function failed.
enum ErrorRoute {
    static func handle(_ request: RuntimeAPIRequest, requestId: String, session: RuntimeSession) -> RuntimeAPIResponse {
        if let refusal = session.check(requestId: requestId) { return refusal }
        session.complete(requestId: requestId, with: .functionError(body: request.body, errorType: errorType(request)))
        return .accepted
    }

    /// The header if the runtime sent one (awslambdaric does not on /error), else the body's errorType.
    static func errorType(_ request: RuntimeAPIRequest) -> String {
        if let header = request.header("Lambda-Runtime-Function-Error-Type"), !header.isEmpty { return header }
        if let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
           let type = object["errorType"] as? String, !type.isEmpty {
            return type
        }
        return "Unhandled"
    }
}
