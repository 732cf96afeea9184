import HearthModel

/// One event handed to a runtime through GET /next.
public struct RuntimeInvocation: Sendable, Equatable {
    public var requestId: String
    public var payload: [UInt8]
    /// Absolute deadline, Unix epoch milliseconds (Lambda-Runtime-Deadline-Ms).
    public var deadlineMs: Int64
    public var invokedFunctionArn: String
    public var traceId: String
    public var clientContext: String?
    public var cognitoIdentity: String?
    public var contentType: String

    public init(requestId: String, payload: [UInt8], deadlineMs: Int64, invokedFunctionArn: String, traceId: String,
                clientContext: String? = nil, cognitoIdentity: String? = nil, contentType: String = "application/json") {
        self.requestId = requestId
        self.payload = payload
        self.deadlineMs = deadlineMs
        self.invokedFunctionArn = invokedFunctionArn
        self.traceId = traceId
        self.clientContext = clientContext
        self.cognitoIdentity = cognitoIdentity
        self.contentType = contentType
    }
}

/// How an invocation ended, as far as the Runtime API can tell.
public enum InvocationOutcome: Sendable, Equatable {
    /// POST /response: the function's result.
    case response([UInt8])
    /// POST /error: the runtime's error document, passed to the caller as is.
    case functionError(body: [UInt8], errorType: String)
    /// Something the platform decided (oversize response, the runtime died, a timeout).
    case platformError(PlatformFailure)
}

/// The init phase: the runtime reached GET /next, or reported an init error.
public enum InitOutcome: Sendable, Equatable {
    case ready
    case failed(body: [UInt8], errorType: String)
}

/// Lambda's limits as the Runtime API applies them.
public enum RuntimeAPILimits {
    /// RIE's MaxPayloadSize: 6 MB + 100 bytes.
    public static let maxResponseBytes = 6 * 1024 * 1024 + 100
}
