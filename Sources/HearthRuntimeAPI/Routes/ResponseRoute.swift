import Foundation
import HearthModel

/// POST /2018-06-01/runtime/invocation/{id}/response: the function's result.
enum ResponseRoute {
    static func handle(_ request: RuntimeAPIRequest, requestId: String, session: RuntimeSession) -> RuntimeAPIResponse {
        if let refusal = session.check(requestId: requestId) { return refusal }
        if let mode = request.header("Lambda-Runtime-Function-Response-Mode"), mode.lowercased() != "streaming" {
            session.complete(requestId: requestId, with: .platformError(.invalidResponseMode(mode)))
            return .error(400, "InvalidFunctionResponseMode", "Invalid function response mode: \(mode)")
        }
        if request.streamed {
            guard request.bodyLength <= ResponseSink.maxBytes else {
                let limit = ResponseSink.maxBytes
                session.complete(requestId: requestId, with: .platformError(.responseTooLarge(bytes: request.bodyLength, limit: limit)))
                return .error(413, "RequestEntityTooLarge", "Exceeded maximum allowed payload size (\(limit) bytes).")
            }
            // An error in the middle of a stream comes as trailers: its type, and its document in base64.
            func trailer(_ name: String) -> String? { request.trailers.first { $0.0.lowercased() == name }?.1 }
            if let type = trailer("lambda-runtime-function-error-type") {
                let body = trailer("lambda-runtime-function-error-body").flatMap { Data(base64Encoded: $0) }.map { Array($0) } ?? []
                session.complete(requestId: requestId, with: .functionError(body: body, errorType: type))
            } else {
                // What was streamed has been delivered; the result itself is empty.
                session.complete(requestId: requestId, with: .response([]))
            }
            return .accepted
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
