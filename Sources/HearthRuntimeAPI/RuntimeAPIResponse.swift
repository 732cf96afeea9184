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
    /// The body was passed on as it arrived (a streamed response), not kept; `trailers` came after it.
    var streamed = false
    var trailers: [(String, String)] = []

    /// Header names are ASCII; compared without Foundation's caseInsensitiveCompare (NSString, per call).
    func header(_ name: String) -> String? {
        headers.first { field in
            field.0.utf8.count == name.utf8.count
                && zip(field.0.utf8, name.utf8).allSatisfy { Self.lowercased($0) == Self.lowercased($1) }
        }?.1
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }
}
