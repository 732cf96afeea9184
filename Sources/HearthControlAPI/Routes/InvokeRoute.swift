import Foundation
import HearthExecution
import HearthModel
import HearthRegistry
import HearthSupervisor

extension LambdaAPI {
    /// Invoke: RequestResponse (200, X-Amz-Function-Error on errors, X-Amz-Log-Result with Tail),
    /// DryRun (204), Event (202 once the event is synced to the durable queue).
    func invoke(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let type = request.headers["x-amz-invocation-type"] ?? "RequestResponse"
        guard ["RequestResponse", "Event", "DryRun"].contains(type) else {
            throw .validation("invocationType", type, "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
        }
        let logType = request.headers["x-amz-log-type"] ?? "None"
        guard logType == "None" || logType == "Tail" else {
            throw .validation("logType", logType, "Member must satisfy enum value set: [None, Tail]")
        }
        let payload = try Self.jsonPayload(request)
        if type == "Event" { _ = try Self.asyncPayload(payload) }
        let clientContext = try Self.clientContext(request.headers["x-amz-client-context"])

        if type == "DryRun" {
            let record = try functions.resolve(ref)
            return APIResponse(status: 204, headers: [("X-Amz-Executed-Version", record.version)])
        }
        if type == "Event" {
            _ = try functions.resolve(ref)
            try await service.enqueueEvent(ref, requestId: request.requestId, payload: payload)
            return APIResponse(status: 202)
        }

        let outcome = try await service.invoke(ref, requestId: request.requestId, payload: payload, clientContext: clientContext)
        var headers: [(String, String)] = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", outcome.executedVersion)]
        if logType == "Tail" { headers.append(("X-Amz-Log-Result", Data(outcome.logTail).base64EncodedString())) }
        switch outcome.result.body {
        case .success(let bytes):
            return APIResponse(status: 200, headers: headers, body: bytes)
        case .error(let document, _):
            headers.append(("X-Amz-Function-Error", "Unhandled"))
            return APIResponse(status: 200, headers: headers, body: document)
        }
    }

    /// The body as an invocation's payload: `{}` when empty, else JSON (Lambda refuses anything else).
    static func jsonPayload(_ request: APIRequest) throws(ServiceError) -> [UInt8] {
        var payload = try request.payload()
        if payload.isEmpty { payload = Array("{}".utf8) }
        do {
            _ = try JSONSerialization.jsonObject(with: Data(payload), options: [.fragmentsAllowed])
        } catch {
            throw .invalidContent("Could not parse request body into json: Could not parse payload into json: \(error.localizedDescription)")
        }
        return payload
    }

    /// An event's payload, within Lambda's limit for asynchronous invocations.
    static func asyncPayload(_ payload: [UInt8]) throws(ServiceError) -> [UInt8] {
        guard payload.count <= LambdaLimits.asyncPayloadBytes else {
            throw .tooLarge("\(payload.count) byte payload is too large for the Event invocation type (limit \(LambdaLimits.asyncPayloadBytes) bytes)")
        }
        return payload
    }

    /// InvokeAsync (deprecated, still sent by old clients): the body is the event; 202 {"Status": 202}.
    func invokeAsync(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let payload = try Self.asyncPayload(try Self.jsonPayload(request))
        _ = try functions.resolve(ref)
        try await service.enqueueEvent(ref, requestId: request.requestId, payload: payload)
        return .json(202, ["Status": 202])
    }

    /// X-Amz-Client-Context is base64 of a JSON document of at most 3,583 bytes; the runtime gets the JSON
    /// in a header, as ASCII: JSON's whitespace may hold CR and LF, which a header may not, and runtimes
    /// read header bytes as Latin-1, which turned UTF-8 text into mojibake. Non-ASCII characters (only
    /// ever inside strings) become \u escapes, which every JSON parser reads back as the same text.
    static func clientContext(_ header: String?) throws(ServiceError) -> String? {
        guard let header, !header.isEmpty else { return nil }
        guard header.utf8.count <= 3583 else { throw .invalidParameter("Client context must be at most 3583 bytes") }
        guard let data = Data(base64Encoded: header), let document = try? JSONSerialization.jsonObject(with: data) else {
            throw .invalidParameter("Client context must be a base64-encoded JSON object")
        }
        var text = String(decoding: data, as: UTF8.self)
        if data.contains(where: { $0 < 0x20 }) {
            guard let compact = try? JSONSerialization.data(withJSONObject: document) else {
                throw .invalidParameter("Client context must be a base64-encoded JSON object")
            }
            text = String(decoding: compact, as: UTF8.self)
        }
        return asciiJSON(text)
    }

    /// JSON text with every non-ASCII character as a \u escape (a surrogate pair above U+FFFF).
    static func asciiJSON(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= 0x80 }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                out.unicodeScalars.append(scalar)
            } else {
                for unit in String(scalar).utf16 {
                    let hex = String(unit, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
            }
        }
        return out
    }
}
