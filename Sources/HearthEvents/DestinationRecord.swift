import Foundation

/// Lambda's invocation record, as destinations receive it (lambda-api.md §6).
public enum DestinationRecord {
    /// The record for `event` ending with `condition` ("Success", "RetriesExhausted", ...). The event's
    /// payload and the response are embedded as JSON (a response that is not JSON, as a string).
    public static func make(event: QueuedEvent, payload: [UInt8], functionARN: String, condition: String, response: AttemptResponse?,
                            now: Double) -> [UInt8] {
        var out = #"{"version":"1.0","timestamp":"# + jsonString(timestamp(now))
        out += #","requestContext":{"requestId":"# + jsonString(event.requestId) + #","functionArn":"# + jsonString(functionARN)
        out += #","condition":"# + jsonString(condition) + #","approximateInvokeCount":\#(event.attempts)}"#
        out += #","requestPayload":"# + embedded(payload)
        if let response {
            out += #","responseContext":{"statusCode":200,"executedVersion":"# + jsonString(response.executedVersion)
            if let error = response.functionError { out += #","functionError":"# + jsonString(error) }
            out += "}"
            out += #","responsePayload":"# + embedded(response.payload)
        }
        out += "}"
        return Array(out.utf8)
    }

    /// ISO 8601 in UTC with milliseconds, as Lambda writes it.
    static func timestamp(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// JSON as it is, anything else (or nothing) as a JSON string.
    static func embedded(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "null" }
        let data = Data(bytes)
        if (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil {
            return String(decoding: bytes, as: UTF8.self)
        }
        return jsonString(String(decoding: bytes, as: UTF8.self))
    }

    static func jsonString(_ text: String) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]) else { return "\"\"" }
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
