import Foundation
import HearthHTTP
import HearthModel
import Synchronization

/// An answer made while it is sent (a RESPONSE_STREAM URL): `run` emits its pieces; when it returns an answer
/// without having emitted any, that answer is sent whole instead (the runtime did not stream, or failed first).
public struct URLStreamedBody: Sendable {
    public let run: @Sendable (_ emit: @escaping @Sendable (ResponsePiece) -> Void) async -> URLResponse?

    public init(run: @escaping @Sendable (_ emit: @escaping @Sendable (ResponsePiece) -> Void) async -> URLResponse?) { self.run = run }
}

/// Turns a streamed response into URL pieces as Lambda does: a runtime that declared Lambda's HTTP integration
/// content type (Node's `awslambda.HttpResponseStream.from`) starts with a JSON prelude (`statusCode`,
/// `headers`, `cookies`) ended by 8 NUL bytes; anything else is the body of a 200 `application/octet-stream`.
final class StreamPrelude: Sendable {
    private struct State {
        var integration = false
        var headSent = false
        var pending: [UInt8] = []
    }
    private let state = Mutex(State())

    /// A prelude larger than this is not one: what was held is sent as the body.
    static let maxPrelude = 64 * 1024
    private static let delimiter = [UInt8](repeating: 0, count: 8)

    func open(contentType: String?) {
        state.withLock { $0.integration = contentType?.lowercased().hasPrefix(ResponseSink.httpIntegrationContentType) ?? false }
    }

    /// Whether any piece was produced yet.
    var started: Bool { state.withLock { $0.headSent } }

    func feed(_ bytes: [UInt8]) -> [ResponsePiece] {
        state.withLock { s in
            if s.headSent { return [.body(bytes)] }
            guard s.integration else {
                s.headSent = true
                return [.head(status: 200, headers: [("Content-Type", "application/octet-stream")]), .body(bytes)]
            }
            s.pending += bytes
            if let end = Self.find(Self.delimiter, in: s.pending) {
                let prelude = Array(s.pending[..<end]), rest = Array(s.pending[(end + 8)...])
                s.pending = []
                s.headSent = true
                var out: [ResponsePiece] = [Self.head(prelude)]
                if !rest.isEmpty { out.append(.body(rest)) }
                return out
            }
            guard s.pending.count > Self.maxPrelude else { return [] }
            s.headSent = true
            defer { s.pending = [] }
            return [.head(status: 200, headers: [("Content-Type", "application/octet-stream")]), .body(s.pending)]
        }
    }

    /// At the end: a prelude never finished is sent as the body of a 200.
    func finish() -> [ResponsePiece] {
        state.withLock { s in
            guard !s.headSent, s.integration else { return [] }
            s.headSent = true
            let held = s.pending
            s.pending = []
            return [.head(status: 200, headers: [("Content-Type", "application/octet-stream")])] + (held.isEmpty ? [] : [.body(held)])
        }
    }

    /// The prelude's status, headers and cookies (one Set-Cookie each); a prelude that is not valid is a 502's head.
    static func head(_ prelude: [UInt8]) -> ResponsePiece {
        let mapped = URLResponse.mapping(result: Array(#"{"statusCode":200}"#.utf8))
        guard let object = (try? JSONSerialization.jsonObject(with: Data(prelude))) as? [String: Any] else {
            return .head(status: 502, headers: [("Content-Type", "application/json")])
        }
        var copy = object
        copy["body"] = nil
        copy["isBase64Encoded"] = nil
        if copy["statusCode"] == nil { copy["statusCode"] = 200 }
        guard let data = try? JSONSerialization.data(withJSONObject: copy) else { return .head(status: mapped.status, headers: mapped.headers) }
        let result = URLResponse.mapping(result: Array(data))
        var headers = result.headers
        // The content type the prelude left out is Lambda's default for a streamed body.
        if object["headers"].flatMap({ $0 as? [String: Any] }).map({ !$0.keys.contains { $0.lowercased() == "content-type" } }) ?? true {
            headers.removeAll { $0.0 == "Content-Type" }
            headers.append(("Content-Type", "application/octet-stream"))
        }
        return .head(status: result.status, headers: headers)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == 0 && Array(haystack[i..<(i + needle.count)]) == needle { return i }
        return nil
    }
}
