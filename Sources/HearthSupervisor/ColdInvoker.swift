#if canImport(Glibc)
import Glibc
#endif
import CSandboxInit
import Foundation
import HearthModel
import HearthRuntimeAPI
import HearthSandbox
import NIOCore
import Synchronization

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

    /// For callers that are not async (the CLI's main thread, benchmarks): blocks until done.
    public func invokeBlocking(_ function: FunctionInstance, payload: [UInt8], log: InvocationLog) throws -> InvocationResult {
        let outcome = Mutex<Result<InvocationResult, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result = await Result(catching: { try await invoke(function, payload: payload, log: log) })
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        guard let result = outcome.withLock({ $0 }) else { throw HearthError.system("the invocation ended without a result") }
        return try result.get()
    }

    /// An X-Ray header as Lambda sends one: Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0.
    /// Three random words (not one per digit: each draw is a getrandom call, and this is on the warm path).
    static func traceId() -> String {
        var rng = SystemRandomNumberGenerator()
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text.suffix(digits)
        }
        let root = hex(rng.next(), 16) + hex(rng.next(), 8)
        let epoch = String(UInt32(Date().timeIntervalSince1970), radix: 16)
        return "Root=1-\(epoch)-\(root);Parent=\(hex(rng.next(), 16));Sampled=0"
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
