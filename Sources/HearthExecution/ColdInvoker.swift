#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthModel
import HearthRuntimeAPI
import HearthSandbox
import NIOCore

/// A function ready to run: its sandbox spec (layers, mounts, command,
/// environment) and Lambda's knobs.
public struct FunctionInstance: Sendable {
    public var name: String
    public var version: String
    public var spec: SandboxSpec
    public var timeoutSeconds: Double
    public var region: String
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

/// The caller's view of an invocation.
public struct InvocationResult: Sendable {
    public enum Body: Sendable, Equatable {
        case success([UInt8])
        /// An error document and its type (X-Amz-Function-Error: Unhandled).
        case error([UInt8], type: String)
    }

    public var requestId: String
    /// How it ended; `body` and `report` say it as Lambda does.
    public var end: InvocationEnd
    public var body: Body
    public var report: InvocationLog.Report
}

/// One cold invocation from start to teardown, as `hearth run` does it: a
/// fresh execution environment, one event, then the environment is destroyed.
public struct ColdInvoker: Sendable {
    public let engine: SandboxEngine

    public init(engine: SandboxEngine) { self.engine = engine }

    public func invoke(_ function: FunctionInstance, payload: [UInt8], log: InvocationLog) async throws -> InvocationResult {
        let environment = try await ExecutionEnvironment.start(function, engine: engine, idleOutput: { log.append($0) })
        let result = await environment.invoke(.init(payload: payload, reportInit: true), log: log)
        await environment.destroy()
        return result
    }
}
