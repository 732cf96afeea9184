import Foundation
import HearthExecution
import HearthLogs
import HearthModel
import HearthRegistry
import HearthSandbox
import HearthState
import NIOCore

/// How the scheduler gets environments: what a record runs as, and a sandbox of it started from a
/// prepared sandbox or from nothing. The scheduler decides when; this decides how.
public protocol EnvironmentLauncher: Sendable {
    /// The runnable form of a record for an initialization type (may import an image: seconds, the first time).
    func build(_ record: FunctionRecord, initializationType: String) async throws(ServiceError) -> FunctionInstance
    /// Starts a sandbox of `instance` and runs its init phase; an init that fails still returns an
    /// (unhealthy) environment whose first invocation reports it. Throws when nothing could be started.
    func launch(_ instance: FunctionInstance) async throws -> any LaunchedEnvironment
    /// Refills what cold starts of `instance`'s runtime image take, in the background.
    func restock(for instance: FunctionInstance)
    /// Lets go of what was kept for runtime images no start has wanted since `cutoff`.
    func retire(unwantedSince cutoff: Date) async
    /// Pre-built sandboxes waiting for a cold start.
    func preparedCount() async -> Int
    func shutdown() async
}

/// The real launcher: the registry's builder, the sandbox engine and the prepared sandboxes of each
/// runtime image.
final class SandboxLauncher: EnvironmentLauncher {
    let registry: any FunctionRegistry
    let engine: SandboxEngine
    let logs: FunctionLogs
    let metrics: Metrics
    let prepared: PreparedSandboxes
    /// Whether an idle environment may be frozen now; nil, never.
    let mayFreeze: (@Sendable () -> Bool)?
    let networking: FunctionNetworking
    /// Namespaces on the bridge made ahead for starts without a pre-built sandbox; nil without a bridge.
    let networkSpares: NetworkSpares?
    static let networkSpareCount = 2

    init(registry: any FunctionRegistry, engine: SandboxEngine, logs: FunctionLogs, metrics: Metrics, preparedPerImage: Int,
         mayFreeze: (@Sendable () -> Bool)?, networking: FunctionNetworking) {
        self.registry = registry
        self.engine = engine
        self.logs = logs
        self.metrics = metrics
        self.mayFreeze = mayFreeze
        self.networking = networking
        prepared = PreparedSandboxes(engine: engine, perImage: preparedPerImage, network: networking.bridge)
        networkSpares = networking.bridge.map { NetworkSpares(bridge: $0, target: Self.networkSpareCount) }
    }

    func build(_ record: FunctionRecord, initializationType: String) async throws(ServiceError) -> FunctionInstance {
        // Building may import the runtime image: not on the scheduler's actor.
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in
            do {
                return try registry.instance(for: record, initializationType: initializationType)
            } catch let error as InvalidEntrypoint {
                throw ServiceError(status: 502, type: "InvalidRuntimeException", message: error.message)
            } catch {
                throw .service("cannot prepare \(record.name): \(error)")
            }
        }
    }

    /// A prepared sandbox of the runtime image specialised when there is one, else a new one. The
    /// scheduler restocks the image once the start's first event is answered, so that building the
    /// next one does not compete with this one on the CPU.
    func launch(_ instance: FunctionInstance) async throws -> any LaunchedEnvironment {
        let name = instance.name
        let stream = instance.logStream
        let idleOutput: @Sendable ([UInt8]) -> Void = { [logs] bytes in logs.append(name, stream: stream, bytes) }
        var instance = instance
        let network = try networking.plan(for: instance)
        if let network { instance.spec.environment += network.environment }
        var plan = network?.plan
        plan?.spares = networkSpares
        if let ready = await prepared.take(kind(of: instance)) {
            do {
                let env = try await ExecutionEnvironment.start(instance, engine: engine, prepared: ready, network: plan,
                                                               mayFreeze: mayFreeze, idleOutput: idleOutput)
                metrics.increment("hearth_prepared_starts_total", function: name)
                return env
            } catch {
                // A prepared sandbox that died or failed to specialise: the long way still works.
            }
        }
        return try await ExecutionEnvironment.start(instance, engine: engine, network: plan, mayFreeze: mayFreeze,
                                                    idleOutput: idleOutput)
    }

    /// Prepared sandboxes are kept per runtime image and per whether they are on the bridge.
    func kind(of instance: FunctionInstance) -> PreparedSandboxes.Kind {
        let networked = networking.bridge != nil && (instance.network ?? networking.defaultNetwork).hasInterface
        return PreparedSandboxes.Kind(layers: instance.spec.layers, networked: networked)
    }

    func restock(for instance: FunctionInstance) {
        let kind = kind(of: instance)
        Task(executorPreference: globalConcurrentExecutor) { [prepared] in await prepared.refill(kind) }
    }

    func retire(unwantedSince cutoff: Date) async { await prepared.retire(unwantedSince: cutoff) }

    func preparedCount() async -> Int { await prepared.count }

    func shutdown() async {
        await prepared.shutdown()
        networkSpares?.shutdown()
    }
}
