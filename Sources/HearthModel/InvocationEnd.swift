/// What the platform, not the function, ended an invocation with. Lambda's error type for each is
/// written here and nowhere else.
public enum PlatformFailure: Sendable, Equatable {
    /// The invocation ran past its timeout, or init past Lambda's 10 s (Sandbox.Timedout).
    case timedOut
    /// The runtime exited; `detail` says how, in Lambda's words ("exit status 1", "signal: killed").
    case runtimeExited(detail: String)
    /// The response was over Lambda's limit (Function.ResponseSizeTooLarge).
    case responseTooLarge(bytes: Int, limit: Int)
    /// The runtime asked for a response mode Lambda does not have.
    case invalidResponseMode(String)
    /// Anything else the platform could not do (Runtime.Unknown): the Runtime API gone, an environment
    /// already dead, one busy with another event.
    case unknown(String)

    /// Lambda's errorType.
    public var errorType: String {
        switch self {
        case .timedOut: "Sandbox.Timedout"
        case .runtimeExited: "Runtime.ExitError"
        case .responseTooLarge: "Function.ResponseSizeTooLarge"
        case .invalidResponseMode: "Runtime.InvalidResponseModeHeader"
        case .unknown: "Runtime.Unknown"
        }
    }

    /// What happened, for the error document's message.
    public var message: String {
        switch self {
        case .timedOut: "timed out"
        case .runtimeExited(let detail): detail
        case .responseTooLarge(let bytes, let limit):
            "Response payload size (\(bytes) bytes) exceeded maximum allowed payload size (\(limit) bytes)."
        case .invalidResponseMode(let mode): "Invalid response mode header value: \(mode)"
        case .unknown(let message): message
        }
    }
}

/// How one invocation ended, decided once (by the execution environment). The error type its caller
/// sees and its REPORT line's Status and Error Type are derived here, in one place.
public enum InvocationEnd: Sendable, Equatable {
    /// The function returned a result.
    case success
    /// The function's own error document (POST /error, or /init/error at init) of this type.
    case functionError(type: String)
    /// The runtime exited during the invocation or its init, killed for its memory when `outOfMemory`.
    case runtimeExit(outOfMemory: Bool)
    /// The platform ended it.
    case platform(PlatformFailure)

    /// The errorType of the document the caller gets; nil on success.
    public var errorType: String? {
        switch self {
        case .success: nil
        case .functionError(let type): type
        case .runtimeExit: "Runtime.ExitError"
        case .platform(let failure): failure.errorType
        }
    }

    /// REPORT's Status: "timeout" for a timeout, "error" for any other failure, none on success.
    public var reportStatus: String? {
        switch self {
        case .success: nil
        case .platform(.timedOut): "timeout"
        default: "error"
        }
    }

    /// REPORT's Error Type: the caller's, except that a timeout has none and a runtime the kernel killed
    /// for its memory says Runtime.OutOfMemory (its caller sees Runtime.ExitError, "signal: killed").
    public var reportErrorType: String? {
        switch self {
        case .success, .platform(.timedOut): nil
        case .runtimeExit(outOfMemory: true): "Runtime.OutOfMemory"
        default: errorType
        }
    }
}
