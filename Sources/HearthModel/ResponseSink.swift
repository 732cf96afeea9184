/// Where a streamed response's bytes go as the runtime writes them (Lambda's response streaming): the
/// Runtime API calls `write` with each chunk, on the sandbox's event loop, in order; the invocation's
/// end says the stream is over. A runtime that answers without streaming writes nothing here: its whole
/// response is the invocation's result, as usual.
public struct ResponseSink: Sendable {
    /// Once, when the runtime starts streaming: the Content-Type it declared (Node's HTTP responses
    /// declare `application/vnd.awslambda.http-integration-response`: a JSON prelude, 8 NULs, the body).
    public let open: @Sendable (_ contentType: String?) -> Void
    public let write: @Sendable ([UInt8]) -> Void

    public init(open: @escaping @Sendable (String?) -> Void = { _ in }, write: @escaping @Sendable ([UInt8]) -> Void) {
        self.open = open
        self.write = write
    }

    public static let httpIntegrationContentType = "application/vnd.awslambda.http-integration-response"

    /// Lambda's limit on a streamed response.
    public static let maxBytes = 200 * 1024 * 1024
}
