/// A function ready to run: its sandbox spec (layers, mounts, command,
/// environment) and Lambda's knobs.
public struct FunctionInstance: Sendable {
    public var name: String
    public var version: String
    public var spec: SandboxSpec
    public var timeoutSeconds: Double
    public var region: String
    /// What its sandboxes may reach; nil: the daemon's default.
    public var network: FunctionNetwork?
    /// The log stream its sandbox's lines go to (one per execution environment, set at each launch).
    public private(set) var logStream = ""
    /// Invocations one environment of it runs at once: 1, as on Lambda; more for an always-on
    /// environment, whose runtime is told so (`runConcurrently`).
    public private(set) var maxConcurrency = 1
    /// AWS_LAMBDA_INITIALIZATION_TYPE is in spec.environment; this is the ARN the runtime is told.
    public var arn: String { LambdaARN.function(name, region: region) }

    public init(name: String, version: String = "$LATEST", spec: SandboxSpec, timeoutSeconds: Double, region: String = "us-east-1") {
        self.name = name
        self.version = version
        self.spec = spec
        self.timeoutSeconds = timeoutSeconds
        self.region = region
    }

    /// Names the log stream of the environment about to start from this instance, and tells its runtime
    /// (AWS_LAMBDA_LOG_STREAM_NAME, context.log_stream_name).
    public mutating func useLogStream(_ name: String) {
        logStream = name
        if let at = spec.environment.firstIndex(where: { $0.0 == "AWS_LAMBDA_LOG_STREAM_NAME" }) {
            spec.environment[at].1 = name
        }
    }

    /// Lets each environment run `count` invocations at once, as Lambda Managed Instances do: the runtime
    /// is told by AWS_LAMBDA_MAX_CONCURRENCY and runs that many workers, each asking for its own events.
    public mutating func runConcurrently(_ count: Int) {
        maxConcurrency = max(1, count)
        spec.environment.removeAll { $0.0 == "AWS_LAMBDA_MAX_CONCURRENCY" }
        spec.environment.append(("AWS_LAMBDA_MAX_CONCURRENCY", String(maxConcurrency)))
    }
}

/// How many invocations one environment may run at once: 1 on Lambda; up to 32 for an always-on one
/// (each a GET /next of its own, well within the Runtime API's 64 connections).
public enum RuntimeConcurrency {
    public static let range = 1...32
}
