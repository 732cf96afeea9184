/// Lambda's ranges for a function's settings, in one place: the API words a violation as Lambda's
/// ValidationException, the CLI as a HearthError, both from these.
public enum LambdaLimits {
    public static let memoryMB = 128...10_240
    public static let timeoutSeconds = 1...900
    public static let ephemeralStorageMB = 512...10_240
    /// Tags one function may carry.
    public static let tagsPerFunction = 50
    /// The largest event an asynchronous invocation (Event, InvokeAsync) takes.
    public static let asyncPayloadBytes = 1_048_576
}
