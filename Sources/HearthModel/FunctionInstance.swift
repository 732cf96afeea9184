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
    /// AWS_LAMBDA_INITIALIZATION_TYPE is in spec.environment; this is the ARN the runtime is told.
    public var arn: String { LambdaARN.function(name, region: region) }

    public init(name: String, version: String = "$LATEST", spec: SandboxSpec, timeoutSeconds: Double, region: String = "us-east-1") {
        self.name = name
        self.version = version
        self.spec = spec
        self.timeoutSeconds = timeoutSeconds
        self.region = region
    }
}
