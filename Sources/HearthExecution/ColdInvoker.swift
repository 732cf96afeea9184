#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthModel
import HearthRuntimeAPI
import HearthSandbox
import NIOCore

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
