import Foundation
import HearthModel
import HearthRegistry
import HearthSupervisor

extension LambdaAPI {
    /// InvokeWithResponseStream (POST /2021-11-15/functions/NAME/response-streaming-invocations): 200 with the
    /// response in AWS's event-stream framing, a PayloadChunk per piece as the runtime streams it (a runtime
    /// that answers whole gives one), then InvokeComplete with the error, if any, and the log tail.
    func invokeWithResponseStream(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let type = request.headers["x-amz-invocation-type"] ?? "RequestResponse"
        guard type == "RequestResponse" || type == "DryRun" else {
            throw .validation("invocationType", type, "Member must satisfy enum value set: [RequestResponse, DryRun]")
        }
        let logType = request.headers["x-amz-log-type"] ?? "None"
        guard logType == "None" || logType == "Tail" else { throw .validation("logType", logType, "Member must satisfy enum value set: [None, Tail]") }
        let payload = try Self.jsonPayload(request)
        let clientContext = try Self.clientContext(request.headers["x-amz-client-context"])
        let record = try functions.resolve(ref)
        if type == "DryRun" { return APIResponse(status: 204, headers: [("X-Amz-Executed-Version", record.version)]) }

        let service = self.service, requestId = request.requestId
        let headers = [("Content-Type", "application/vnd.amazon.eventstream"), ("X-Amz-Executed-Version", record.version)]
        var response = APIResponse(status: 200, headers: headers)
        response.streamed = StreamedBody { emit in
            let sink = ResponseSink { bytes in emit(EventStream.payloadChunk(bytes)) }
            let outcome: InvokeOutcome
            do throws(ServiceError) {
                outcome = try await service.invoke(ref, requestId: requestId, payload: payload, clientContext: clientContext, stream: sink)
            } catch {
                // Refused before anything ran (a throttle): Lambda's error response, not a stream.
                return Self.errorResponse(error)
            }
            var complete: [String: Any] = [:]
            switch outcome.result.body {
            case .success(let bytes):
                if !bytes.isEmpty { emit(EventStream.payloadChunk(bytes)) }
            case .error(let document, let errorType):
                complete["ErrorCode"] = errorType
                complete["ErrorDetails"] = String(decoding: document, as: UTF8.self)
            }
            if logType == "Tail" { complete["LogResult"] = Data(outcome.logTail).base64EncodedString() }
            let json = (try? JSONSerialization.data(withJSONObject: complete, options: [.sortedKeys])) ?? Data("{}".utf8)
            emit(EventStream.invokeComplete(Array(json)))
            return nil
        }
        return response
    }
}
