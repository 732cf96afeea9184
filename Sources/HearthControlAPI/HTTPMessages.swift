import Foundation
import HearthModel
import HearthRegistry
import Synchronization
import HearthPackages
import HearthSupervisor

/// A request as the routes see it: decoded path segments, query, headers, whole body (in memory, or
/// spooled to a file when it was larger than 64 KB).
public struct APIRequest: Sendable {
    public var method: String
    /// Percent-decoded segments of the path ("/2015-03-31/functions/f" → ["2015-03-31", "functions", "f"]).
    public var segments: [String]
    public var query: [String: String]
    /// Every query parameter in order, repeated names included (UntagResource's tagKeys).
    public var queryItems: [(name: String, value: String)] = []
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]
    /// The Host header, for URLs the response points back to.
    public var host: String?
    /// x-amzn-RequestId of the answer; an invocation runs under the same id, as on Lambda.
    public var requestId = ""
    /// The body, when it was too large to keep in memory (`body` is then empty).
    public var spooled: UnnamedFile?
    /// Where files made from the body go (decoded zips): the state directory's code/.
    public var spillDirectory = ""

    public init(method: String, uri: String, headers: [String: String], body: [UInt8]) {
        self.method = method
        self.headers = headers
        self.body = body
        self.host = headers["host"]
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        segments = parts[0].split(separator: "/").map(Self.percentDecoded)
        query = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = Self.formDecoded(kv[0]), value = kv.count == 2 ? Self.formDecoded(kv[1]) : ""
                query[name] = value
                queryItems.append((name, value))
            }
        }
    }

    /// The body's bytes, read back from its file if it was spooled (an Invoke's payload, at most 6 MB).
    func payload() throws(ServiceError) -> [UInt8] {
        guard let spooled else { return body }
        do {
            return try spooled.readAll(limit: LambdaAPI.invokeBodyLimit)
        } catch {
            throw .service("cannot read the request body back: \(error)")
        }
    }

    /// The body as a JSON object. A spooled body is scanned from its file, its long strings (base64 zips)
    /// decoded into files of their own as they are read (`JSONBody.upload`): seconds for a 50 MB zip, on
    /// `BlockingWork`'s threads.
    func json(required: Bool = true) async throws(ServiceError) -> JSONBody {
        guard let spooled else { return try JSONBody(body, required: required) }
        let directory = spillDirectory
        let scanned = try await BlockingWork.run { () throws(ServiceError) -> SpilledJSON in
            do {
                return try SpilledJSON.scan(spillDirectory: directory, spooled.blocks())
            } catch {
                throw ServiceError(status: 400, type: "InvalidRequestContentException", message: "Could not parse request body into json: \(error)")
            }
        }
        return try JSONBody(scanned.document, required: required, spills: scanned)
    }

    /// POST /2015-03-31/functions/NAME/invocations
    var isInvoke: Bool {
        method == "POST" && segments.count == 4 && segments[1] == "functions" && segments[3] == "invocations"
    }

    /// A path segment without its percent escapes; Foundation's decoder only when there is one
    /// (it goes through NSString, and every Invoke's path passes here).
    static func percentDecoded(_ part: Substring) -> String {
        guard part.utf8.contains(UInt8(ascii: "%")) else { return String(part) }
        return part.removingPercentEncoding ?? String(part)
    }

    /// A query key or value: "+" is a space, then percent escapes.
    static func formDecoded(_ part: Substring) -> String {
        percentDecoded(Substring(part.replacingOccurrences(of: "+", with: " ")))
    }
}

public struct APIResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// A body sent from a file instead (a stored zip), never read into memory.
    public var file: ResponseFile?
    /// A body sent as it is made (chunked), after this response's status and headers.
    public var streamed: StreamedBody?

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON document (sorted keys, so responses are stable).
    public static func json(_ status: Int, _ object: Any) -> APIResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])) ?? Data("{}".utf8)
        return APIResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(data))
    }

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> APIResponse {
        APIResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }
}

/// A body made while it is sent: `run` emits its pieces; the head goes out before the first. When `run` returns
/// a response without having emitted anything, that response is sent instead (an error found before the stream began).
public struct StreamedBody: Sendable {
    public let run: @Sendable (_ emit: @escaping @Sendable ([UInt8]) -> Void) async -> APIResponse?

    public init(run: @escaping @Sendable (_ emit: @escaping @Sendable ([UInt8]) -> Void) async -> APIResponse?) { self.run = run }
}

/// An open file to send as a response body; closed when the response is written, or dropped unsent.
public final class ResponseFile: Sendable {
    private let descriptor: Mutex<Int32>
    public let length: Int

    /// Takes ownership of `fd`.
    public init(fd: Int32, length: Int) {
        descriptor = Mutex(fd)
        self.length = length
    }

    /// The descriptor, once: its taker closes it.
    func take() -> Int32? {
        descriptor.withLock { fd in
            defer { fd = -1 }
            return fd >= 0 ? fd : nil
        }
    }

    deinit {
        if let fd = take() { close(fd) }
    }
}
