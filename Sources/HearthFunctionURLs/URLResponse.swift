import Foundation
import HearthHTTP

/// An answer on the URL listener.
public struct URLResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Sent as it is made instead of `body` (a RESPONSE_STREAM URL).
    public var streamed: URLStreamedBody?

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func == (a: URLResponse, b: URLResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.map { "\($0.0): \($0.1)" } == b.headers.map { "\($0.0): \($0.1)" }
    }

    /// Lambda's JSON error answer with its error type, as function URLs send them.
    public static func error(_ status: Int, _ type: String, _ message: String) -> URLResponse {
        let body = (try? JSONSerialization.data(withJSONObject: ["Message": message], options: [.withoutEscapingSlashes])) ?? Data()
        return URLResponse(status: status, headers: [("Content-Type", "application/json"), ("x-amzn-ErrorType", type)], body: Array(body))
    }

    /// What the client sees when the function failed, timed out or answered something that is not an HTTP response.
    public static let functionFailed = URLResponse(status: 502, headers: [("Content-Type", "application/json")],
                                                   body: Array("Internal Server Error".utf8))

    public static let forbidden = URLResponse.error(
        403, "AccessDeniedException", "Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html")

    /// A function's result mapped as Lambda maps payload format 2.0 answers: an object with `statusCode` gives
    /// the status, headers, cookies (one Set-Cookie each) and body (base64-decoded when `isBase64Encoded`);
    /// any other JSON is a 200 whose body is that JSON (a JSON string's text, unquoted). A result that cannot
    /// be an HTTP response (a bad status, a header that would break the message, base64 that is not) is a 502.
    public static func mapping(result bytes: [UInt8]) -> URLResponse {
        let json = "application/json"
        guard let value = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
            return URLResponse(status: 200, headers: [("Content-Type", json)], body: bytes)
        }
        if let text = value as? String { return URLResponse(status: 200, headers: [("Content-Type", json)], body: Array(text.utf8)) }
        guard let object = value as? [String: Any], let code = object["statusCode"] else {
            return URLResponse(status: 200, headers: [("Content-Type", json)], body: bytes)
        }
        guard let status = (code as? NSNumber)?.intValue ?? (code as? String).flatMap(Int.init), (100...599).contains(status) else {
            return functionFailed
        }
        var headers: [(String, String)] = []
        if let given = object["headers"] as? [String: Any] {
            for (name, raw) in given.sorted(by: { $0.key < $1.key }) {
                let value = (raw as? String) ?? (raw as? NSNumber).map { "\($0)" } ?? ""
                guard HTTPResponseBytes.isToken(name), HTTPResponseBytes.isFieldValue(value) else { return functionFailed }
                headers.append((name, value))
            }
        } else if object["headers"] != nil, !(object["headers"] is NSNull) {
            return functionFailed
        }
        if !headers.contains(where: { $0.0.lowercased() == "content-type" }) { headers.append(("Content-Type", json)) }
        for case let cookie as String in (object["cookies"] as? [Any]) ?? [] {
            guard HTTPResponseBytes.isFieldValue(cookie) else { return functionFailed }
            headers.append(("Set-Cookie", cookie))
        }
        var body: [UInt8] = []
        if let text = object["body"] as? String {
            if (object["isBase64Encoded"] as? Bool) == true {
                guard let decoded = Data(base64Encoded: text) else { return functionFailed }
                body = Array(decoded)
            } else {
                body = Array(text.utf8)
            }
        }
        // Hop-by-hop framing is the listener's to decide.
        headers.removeAll { ["content-length", "transfer-encoding", "connection"].contains($0.0.lowercased()) }
        return URLResponse(status: status, headers: headers, body: body)
    }
}
