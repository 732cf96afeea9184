import Crypto
import Foundation
import HearthAuth
import HearthHTTP
import HearthModel
import HearthRegistry
import HearthState
import HearthSupervisor

/// One request on the URL listener, start to end: which URL it names (host or path form), its auth, CORS,
/// the payload 2.0 event, the invocation (through `FunctionService`, as Invoke does), and the answer.
public final class FunctionUrlHandler: Sendable {
    public struct Request: Sendable {
        public var method: String
        /// The request target exactly as received.
        public var target: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        public var sourceIp: String
        public var httpVersion: String

        public init(method: String, target: String, headers: [(name: String, value: String)], body: [UInt8], sourceIp: String, httpVersion: String) {
            self.method = method
            self.target = target
            self.headers = headers
            self.body = body
            self.sourceIp = sourceIp
            self.httpVersion = httpVersion
        }
    }

    let service: any FunctionService
    public let address: FunctionUrlAddress
    /// Checks AWS_IAM URLs' signatures against the daemon's access keys.
    let verifier: SigV4Verifier

    public init(service: any FunctionService, address: FunctionUrlAddress, verifier: SigV4Verifier) {
        self.service = service
        self.address = address
        self.verifier = verifier
    }

    public func handle(_ request: Request) async -> URLResponse {
        let requestId = RequestIdentifiers.uuid()
        var response = await answer(request, requestId: requestId)
        if response.streamed == nil { response.headers.append(("x-amzn-RequestId", requestId)) }
        return response
    }

    private func answer(_ request: Request, requestId: String) async -> URLResponse {
        var headers: [String: String] = [:]
        for (name, value) in request.headers { headers[name.lowercased()] = value }
        let host = headers["host"] ?? ""
        // The host form first; the path form (no DNS needed) on any other host name.
        var id = address.id(fromHost: host)
        var target = FunctionUrlAddress.originForm(request.target)
        if id == nil, let byPath = FunctionUrlAddress.id(fromPath: Substring(target)) {
            id = byPath.id
            target = String(byPath.rest)
        }
        guard let id else {
            return .error(404, "ResourceNotFoundException",
                          "No function URL is named here: use http://URL-ID.\(address.domain):\(address.port)/ or http://HOST:\(address.port)/\(FunctionUrlAddress.pathPrefix)/URL-ID/")
        }
        guard let url = service.functions.functionUrl(id: id) else {
            return .error(404, "ResourceNotFoundException", "No function URL has the id \(id)")
        }
        var caller: String?
        if url.record.authType == "AWS_IAM" {
            do {
                let pending = try verifier.verifyHead(method: request.method, rawTarget: request.target, headers: request.headers, now: Date())
                caller = try pending.verify(payloadSHA256: SigV4Verifier.hex(SHA256.hash(data: request.body)))
            } catch {
                return .error(403, error.type, error.message)
            }
        }
        let cors = url.record.cors.map(CorsRules.init)
        if let cors, CorsRules.isPreflight(method: request.method, headers: headers) { return cors.preflight(headers: headers) }

        var forFunction = request
        forFunction.target = target
        let event = URLRequestEvent(request: forFunction, urlId: id, domainName: host.split(separator: ":").first.map(String.init) ?? host,
                                    requestId: requestId, timeEpochMs: Int64(Date().timeIntervalSince1970 * 1000), callerAccessKey: caller,
                                    accountId: LambdaARN.accountId)
        let origin = headers["origin"]
        let finished: @Sendable (URLResponse) -> URLResponse = { response in cors.map { $0.apply(to: response, origin: origin) } ?? response }
        if url.record.invokeMode == "RESPONSE_STREAM" {
            return streamed(url, event: event, requestId: requestId, finished: finished)
        }
        do {
            let outcome = try await service.invoke(url.reference, requestId: requestId, payload: event.json(), clientContext: nil)
            switch outcome.result.body {
            case .success(let bytes): return finished(URLResponse.mapping(result: bytes))
            case .error: return finished(URLResponse.functionFailed)
            }
        } catch {
            return finished(Self.refusal(error))
        }
    }

    /// A RESPONSE_STREAM URL: the head once the runtime's prelude is in, then the body as the function writes it.
    /// A runtime that answers whole (or fails before streaming) is answered as a buffered URL would be.
    private func streamed(_ url: FunctionUrlTarget, event: URLRequestEvent, requestId: String,
                          finished: @escaping @Sendable (URLResponse) -> URLResponse) -> URLResponse {
        let service = self.service
        var response = URLResponse(status: 200)
        response.streamed = URLStreamedBody { emit in
            let prelude = StreamPrelude()
            @Sendable func send(_ pieces: [ResponsePiece]) {
                for piece in pieces {
                    if case .head(let status, let headers) = piece {
                        let head = finished(URLResponse(status: status, headers: headers))
                        emit(.head(status: head.status, headers: head.headers + [("x-amzn-RequestId", requestId)]))
                    } else {
                        emit(piece)
                    }
                }
            }
            let sink = ResponseSink(open: { prelude.open(contentType: $0) }, write: { send(prelude.feed($0)) })
            let outcome: InvokeOutcome
            do throws(ServiceError) {
                outcome = try await service.invoke(url.reference, requestId: requestId, payload: event.json(), clientContext: nil, stream: sink)
            } catch {
                return finished(Self.refusal(error))
            }
            send(prelude.finish())
            switch outcome.result.body {
            case .success(let bytes):
                guard prelude.started else { return finished(URLResponse.mapping(result: bytes)) }
                if !bytes.isEmpty { emit(.body(bytes)) }
            case .error:
                // After the head has gone out the status cannot change: the stream just ends.
                guard prelude.started else { return finished(URLResponse.functionFailed) }
            }
            return nil
        }
        return response
    }

    /// A refused invocation as the URL's client sees it.
    static func refusal(_ error: ServiceError) -> URLResponse {
        switch error.status {
        case 429: .error(429, error.type, "Rate Exceeded.")
        // The alias it named is gone (Lambda keeps such a URL and refuses its requests).
        case 404: .forbidden
        case 400..<500: .error(error.status, error.type, error.message)
        default: .error(500, error.type, error.message)
        }
    }
}
