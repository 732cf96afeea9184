/// How one function (at the qualifier an event named) wants its events handled: its event invoke
/// configuration, its version's dead-letter queue, and whether it may run at all.
public struct AsyncSettings: Sendable, Equatable {
    /// Lambda's defaults: two retries, six hours.
    public static let defaultRetryAttempts = 2
    public static let defaultEventAgeSeconds = 21600

    public var maximumRetryAttempts: Int
    public var maximumEventAgeSeconds: Int
    public var onSuccess: String?
    public var onFailure: String?
    /// DeadLetterConfig.TargetArn of the version that ran (an SQS queue or SNS topic).
    public var deadLetter: String?
    /// Reserved concurrency 0: every event goes straight to failure handling.
    public var reservedZero: Bool

    public init(maximumRetryAttempts: Int = defaultRetryAttempts, maximumEventAgeSeconds: Int = defaultEventAgeSeconds,
                onSuccess: String? = nil, onFailure: String? = nil, deadLetter: String? = nil, reservedZero: Bool = false) {
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumEventAgeSeconds = maximumEventAgeSeconds
        self.onSuccess = onSuccess
        self.onFailure = onFailure
        self.deadLetter = deadLetter
        self.reservedZero = reservedZero
    }
}

/// A function's settings as the dispatcher asked for them.
public enum SettingsLookup: Sendable, Equatable {
    case found(AsyncSettings)
    /// The function, or the qualifier the event named, no longer exists: its events are dropped.
    case gone
    /// They could not be read now (a database error): the event waits and is tried again.
    case unavailable(String)
}

/// Where the dispatcher reads a function's settings and sends its events. The supervisor is the real one.
public protocol EventInvoker: Sendable {
    func asyncSettings(function: String, qualifier: String?) async -> SettingsLookup
    /// Runs one attempt.
    func invoke(function: String, qualifier: String?, requestId: String, payload: [UInt8]) async -> AttemptOutcome
    /// The function's ARN at `qualifier` ($LATEST when nil), for destination records.
    func functionARN(_ function: String, qualifier: String?) -> String
}

/// How one attempt went, as the queue sees it.
public enum AttemptOutcome: Sendable, Equatable {
    /// The function returned `payload`.
    case success(executedVersion: String, payload: [UInt8])
    /// An error, a timeout, running out of memory or a runtime exit: an attempt that counts.
    case functionError(executedVersion: String, document: [UInt8])
    /// Refused for concurrency (429): back to the queue, not an attempt.
    case throttled(reason: String)
    /// Hearth could not run it (a sandbox that could not start, a daemon stopping): back to the
    /// queue, not an attempt.
    case unavailable(String)
    /// The function or its qualifier no longer exists.
    case gone(String)
}
