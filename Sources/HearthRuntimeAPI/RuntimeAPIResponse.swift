import Foundation

/// An HTTP response from the Runtime API.
struct RuntimeAPIResponse {
    var status: Int
    var headers: [(String, String)] = []
    var body: [UInt8] = []

    /// 202 {"status":"OK"}, as RIE answers every accepted POST.
    static let accepted = RuntimeAPIResponse(status: 202, headers: [("Content-Type", "application/json")], body: Array(#"{"status":"OK"}"#.utf8))

    /// The Runtime API's own error shape: {"errorMessage", "errorType"}.
    static func error(_ status: Int, _ errorType: String, _ message: String) -> RuntimeAPIResponse {
        let document = ["errorMessage": message, "errorType": errorType]
        let body = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])).map(Array.init) ?? []
        return RuntimeAPIResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    static func invalidRequestID() -> RuntimeAPIResponse { .error(400, "InvalidRequestID", "Invalid request ID") }

    static func invalidState(_ message: String) -> RuntimeAPIResponse { .error(403, "InvalidStateTransition", message) }
}

/// A request as the routes see it; the body is capped, its full length still counted.
struct RuntimeAPIRequest {
    var method: String
    var path: String
    var headers: [(String, String)]
    var body: [UInt8]
    var bodyLength: Int

    func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }
}
