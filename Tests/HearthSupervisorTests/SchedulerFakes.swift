import Foundation
import HearthCgroups
@testable import HearthExecution
import HearthModel
import HearthPackages
@testable import HearthRegistry
@testable import HearthSupervisor
import HearthState
import NIOCore
import Synchronization

/// Fakes of the scheduler's three seams (registry, launcher, clock), for its unit tests: no root, no
/// sandboxes, no sleeps.

final class FakeClock: SchedulerClock {
    private let time = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    func now() -> Date { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

final class FakeRegistry: FunctionLookup {
    private struct State {
        var records: [String: FunctionRecord] = [:]
        var reserved: [String: Int] = [:]
        var provisioned: [(function: String, record: ProvisionedConcurrencyRecord)] = []
    }
    private let state = Mutex(State())

    /// Adds or replaces a version's record (a new revision when `revision` changes).
    @discardableResult
    func put(_ name: String, version: String = "$LATEST", memoryMB: Int = 128, revision: String = "r1") -> FunctionRecord {
        let record = FunctionRecord(
            name: name, version: version, packageType: "Zip", runtime: "provided.al2023", handler: "handler", role: "role",
            description: "", memorySize: memoryMB, timeout: 3, ephemeralStorage: 512, environment: [:], layers: [],
            codeSha256: "", codeSize: 0, zipDigest: nil, imageUri: nil, imageDigest: nil, imageConfig: nil,
            architectures: ["x86_64"], lastModified: "", revisionId: revision)
        state.withLock { $0.records[name + ":" + version] = record }
        return record
    }

    func reserve(_ name: String, _ value: Int) { state.withLock { $0.reserved[name] = value } }
    func unreserve(_ name: String) { state.withLock { $0.reserved[name] = nil } }
    func remove(_ name: String) {
        state.withLock { state in
            state.records = state.records.filter { $0.value.name != name }
            state.reserved[name] = nil
        }
    }

    func provision(_ name: String, qualifier: String, count: Int) {
        state.withLock {
            $0.provisioned.append((name, ProvisionedConcurrencyRecord(qualifier: qualifier, requested: count, lastModified: "")))
        }
    }

    func resolve(_ ref: FunctionReference) throws(ServiceError) -> FunctionRecord {
        let key = ref.name + ":" + (ref.qualifier ?? "$LATEST")
        guard let record = state.withLock({ $0.records[key] }) else { throw .functionNotFound(key) }
        return record
    }

    func latest(_ name: String) throws(ServiceError) -> FunctionRecord { try resolve(FunctionReference(name: name, qualifier: nil)) }
    func reservedConcurrencies() throws(ServiceError) -> [String: Int] { state.withLock { $0.reserved } }
    func provisionedConcurrencies() throws(ServiceError) -> [(function: String, record: ProvisionedConcurrencyRecord)] {
        state.withLock { $0.provisioned }
    }
    func functionCount() throws(ServiceError) -> Int { state.withLock { Set($0.records.values.map(\.name)).count } }
}

/// Opens once; until then every waiter is held (an invocation that is still running).
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state -> Bool in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// What a fake environment does with its next invocations.
enum FakeBehaviour: Sendable {
    case answer
    /// Waits for the gate, then answers.
    case hold(Gate)
    /// Ends as a timeout does: the environment is dead afterwards.
    case timeOut
    /// The function raises an error (the environment stays warm).
    case fail
}

final class FakeEnvironment: LaunchedEnvironment {
    let function: FunctionInstance
    let initDurationMs = 1.0
    let servingLoop: (any EventLoop)?
    private let lifecycle = Lifecycle()
    private let destroyedFlag = Atomic(false)
    private let invocationCount = Atomic(0)
    private let behaviour: FakeBehaviour
    /// The qualifier each invocation's caller named, in order.
    let qualifiers = Mutex<[String?]>([])

    init(function: FunctionInstance, healthy: Bool, loop: (any EventLoop)?, behaviour: FakeBehaviour) {
        self.function = function
        if healthy { lifecycle.move(from: .starting, to: .idle) } else { lifecycle.markDead() }
        servingLoop = loop
        self.behaviour = behaviour
    }

    var state: EnvironmentState { lifecycle.state }
    var isHealthy: Bool { state != .dead }
    var destroyed: Bool { destroyedFlag.load(ordering: .acquiring) }
    var invocations: Int { invocationCount.load(ordering: .acquiring) }
    /// Invocations running in it now.
    var running: Int { lifecycle.busyCount }
    /// The runtime exits while the environment waits for its next event.
    func die() { lifecycle.markDead() }
    func drain() { lifecycle.drain() }

    func invoke(_ request: ExecutionEnvironment.Request, log: InvocationLog) async -> InvocationResult {
        invocationCount.add(1, ordering: .acquiringAndReleasing)
        qualifiers.withLock { $0.append(request.qualifier) }
        guard lifecycle.acquire(limit: function.maxConcurrency) else {
            let report = InvocationLog.Report(durationMs: 0, memorySizeMB: 0, maxMemoryUsedMB: 0, initDurationMs: nil,
                                              end: .platform(.unknown("not idle")))
            return InvocationResult(requestId: request.requestId, end: .platform(.unknown("not idle")), body: .success([]), report: report)
        }
        defer { lifecycle.release() }
        var end = InvocationEnd.success
        switch behaviour {
        case .answer: break
        case .hold(let gate): await gate.wait()
        case .timeOut:
            // As the real one: alone in its environment a timeout ends it; beside others, it retires it.
            if function.maxConcurrency > 1 { lifecycle.drain() } else { lifecycle.markDead() }
            end = .platform(.timedOut)
        case .fail:
            let report = InvocationLog.Report(durationMs: 1, memorySizeMB: function.spec.limits.memoryMB, maxMemoryUsedMB: 1,
                                              initDurationMs: nil, end: .functionError(type: "Exception"))
            return InvocationResult(requestId: request.requestId, end: .functionError(type: "Exception"),
                                    body: .error(Array(#"{"errorMessage":"boom","errorType":"Exception"}"#.utf8), type: "Exception"),
                                    report: report)
        }
        let report = InvocationLog.Report(durationMs: 1, memorySizeMB: function.spec.limits.memoryMB, maxMemoryUsedMB: 1,
                                          initDurationMs: request.reportInit ? initDurationMs : nil, end: end)
        return InvocationResult(requestId: request.requestId, end: end, body: .success(request.payload), report: report)
    }

    func usage() -> CgroupUsage { CgroupUsage(memoryBytes: 1_000_000) }

    func destroy() async {
        lifecycle.markDead()
        destroyedFlag.store(true, ordering: .releasing)
    }
}

final class FakeLauncher: EnvironmentLauncher {
    private struct State {
        var launched: [FakeEnvironment] = []
        var builds = 0
        var restocks = 0
        /// Functions whose init fails.
        var failingInit: Set<String> = []
        var failingLaunch: String?
        var behaviour: [String: FakeBehaviour] = [:]
        /// Loops handed to new environments in turn.
        var loops: [any EventLoop] = []
        /// Launches wait for it (a start that takes a while).
        var launchGate: Gate?
        var launchesBegun = 0
        /// Builds wait for it (a first start that imports its runtime image).
        var buildGate: Gate?
        var buildsBegun = 0
    }
    private let state = Mutex(State())

    var launched: [FakeEnvironment] { state.withLock { $0.launched } }
    func launched(_ function: String) -> [FakeEnvironment] { launched.filter { $0.function.name == function } }
    var builds: Int { state.withLock { $0.builds } }
    var restocks: Int { state.withLock { $0.restocks } }
    func failInit(_ function: String) { state.withLock { _ = $0.failingInit.insert(function) } }
    /// Launches of `function` throw, as a sandbox that cannot be made does (nil: none do).
    func failLaunches(_ function: String?) { state.withLock { $0.failingLaunch = function } }
    func behave(_ function: String, _ behaviour: FakeBehaviour) { state.withLock { $0.behaviour[function] = behaviour } }
    func assignLoops(_ loops: [any EventLoop]) { state.withLock { $0.loops = loops } }
    func holdLaunches(_ gate: Gate) { state.withLock { $0.launchGate = gate } }
    func holdBuilds(_ gate: Gate) { state.withLock { $0.buildGate = gate } }
    var buildsBegun: Int { state.withLock { $0.buildsBegun } }
    var launchesBegun: Int { state.withLock { $0.launchesBegun } }

    func build(_ record: FunctionRecord, initializationType: String) async throws(ServiceError) -> FunctionInstance {
        let gate = state.withLock { state in
            state.builds += 1
            state.buildsBegun += 1
            return state.buildGate
        }
        await gate?.wait()
        let spec = SandboxSpec(id: "", layers: ["/images/" + (record.runtime ?? "")], command: ["/var/runtime/bootstrap"],
                               environment: [("AWS_LAMBDA_INITIALIZATION_TYPE", initializationType)],
                               limits: ResourceLimits(memoryMB: record.memorySize), uid: 0, gid: 0)
        return FunctionInstance(name: record.name, version: record.version, spec: spec, timeoutSeconds: Double(record.timeout))
    }

    func launch(_ instance: FunctionInstance) async throws -> any LaunchedEnvironment {
        let gate = state.withLock { state in
            state.launchesBegun += 1
            return state.launchGate
        }
        await gate?.wait()
        if state.withLock({ $0.failingLaunch == instance.name }) { throw HearthError.sandboxSetup("no sandbox for \(instance.name)") }
        return state.withLock { state in
            let loop = state.loops.isEmpty ? nil : state.loops[state.launched.count % state.loops.count]
            let env = FakeEnvironment(function: instance, healthy: !state.failingInit.contains(instance.name), loop: loop,
                                      behaviour: state.behaviour[instance.name] ?? .answer)
            state.launched.append(env)
            return env
        }
    }

    func restock(for instance: FunctionInstance) { state.withLock { $0.restocks += 1 } }
    func retire(unwantedSince cutoff: Date) async {}
    func preparedCount() async -> Int { 0 }
    func shutdown() async {}
}

/// The registry's writes, for the supervisor's tests: configuration and reserved-concurrency changes are
/// kept; a change can be made to fail, as a conflict does; what the tests do not use refuses with a 500.
final class FakeFunctionRegistry: FunctionRegistry {
    let records = FakeRegistry()
    private let failing = Mutex<ServiceError?>(nil)
    private let revisions = Atomic(1)
    private let eventConfigs = Mutex<[String: EventInvokeConfigRecord]>([:])
    let codeDirectory = "/nonexistent"

    func putEventInvokeConfig(_ ref: FunctionReference, _ change: EventInvokeConfigChange, replace: Bool) throws(ServiceError)
        -> EventInvokeConfigRecord {
        try check()
        _ = try records.resolve(ref)
        let qualifier = ref.qualifier ?? "$LATEST"
        let record = EventInvokeConfigRecord(qualifier: qualifier, maximumRetryAttempts: change.maximumRetryAttempts,
                                             maximumEventAgeInSeconds: change.maximumEventAgeInSeconds, onSuccess: change.onSuccess ?? nil,
                                             onFailure: change.onFailure ?? nil, lastModified: 1)
        eventConfigs.withLock { $0[ref.name + ":" + qualifier] = record }
        return record
    }
    func eventInvokeConfig(_ ref: FunctionReference) throws(ServiceError) -> EventInvokeConfigRecord {
        guard let record = eventConfigs.withLock({ $0[ref.name + ":" + (ref.qualifier ?? "$LATEST")] }) else { throw .notFound("no config") }
        return record
    }
    func eventInvokeConfigs(_ function: String) throws(ServiceError) -> [EventInvokeConfigRecord] {
        eventConfigs.withLock { configs in configs.filter { $0.key.hasPrefix(function + ":") }.map(\.value) }
    }
    func deleteEventInvokeConfig(_ ref: FunctionReference) throws(ServiceError) {
        eventConfigs.withLock { $0[ref.name + ":" + (ref.qualifier ?? "$LATEST")] = nil }
    }
    func eventRunSettings(_ ref: FunctionReference) throws(ServiceError) -> EventRunSettings {
        try readEventRunSettings(ref, record: try resolve(ref))
    }
    func createFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) throws(ServiceError) -> FunctionUrlRecord { throw Self.unused }
    func updateFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) throws(ServiceError) -> FunctionUrlRecord { throw Self.unused }
    func deleteFunctionUrl(_ ref: FunctionReference) throws(ServiceError) { throw Self.unused }
    func functionUrl(_ ref: FunctionReference) throws(ServiceError) -> FunctionUrlRecord { throw Self.unused }
    func functionUrls(_ function: String) throws(ServiceError) -> [FunctionUrlRecord] { [] }
    func functionUrl(id: String) -> FunctionUrlTarget? { nil }
    func addPermission(_ ref: FunctionReference, _ request: PermissionRequest) throws(ServiceError) -> String { throw Self.unused }
    func removePermission(_ ref: FunctionReference, statementId: String, revisionId: String?) throws(ServiceError) { throw Self.unused }
    func policy(_ ref: FunctionReference) throws(ServiceError) -> (policy: String, revisionId: String) { throw Self.unused }
    func addLayerVersionPermission(_ layer: String, version: Int, _ request: LayerPermissionRequest) throws(ServiceError)
        -> (statement: String, revisionId: String) { throw Self.unused }
    func removeLayerVersionPermission(_ layer: String, version: Int, statementId: String, revisionId: String?) throws(ServiceError) {
        throw Self.unused
    }
    func putRecursiveLoop(_ function: String, _ value: String) throws(ServiceError) -> String { throw Self.unused }
    func putRuntimeManagement(_ ref: FunctionReference, _ record: RuntimeManagementRecord) throws(ServiceError) -> RuntimeManagementRecord {
        throw Self.unused
    }
    func layerVersionPolicy(_ layer: String, version: Int) throws(ServiceError) -> (policy: String, revisionId: String) { throw Self.unused }
    func recursiveLoop(_ function: String) throws(ServiceError) -> String { throw Self.unused }
    func runtimeManagement(_ ref: FunctionReference) throws(ServiceError) -> RuntimeManagementRecord { throw Self.unused }

    /// The next changes fail with `error` (nil: they succeed again).
    func failChanges(with error: ServiceError?) { failing.withLock { $0 = error } }
    private func check() throws(ServiceError) { if let error = failing.withLock({ $0 }) { throw error } }

    func updateConfiguration(_ name: String, settings: FunctionSettings, revisionId: String?) throws(ServiceError) -> FunctionRecord {
        try check()
        let current = try records.latest(name)
        let revision = "r\(revisions.add(1, ordering: .relaxed).newValue)"
        return records.put(name, memoryMB: settings.memorySize ?? current.memorySize, revision: revision)
    }

    func putReservedConcurrency(_ function: String, _ value: Int) throws(ServiceError) {
        try check()
        records.reserve(function, value)
    }

    func deleteReservedConcurrency(_ function: String) throws(ServiceError) {
        try check()
        records.unreserve(function)
    }

    func delete(_ ref: FunctionReference) throws(ServiceError) {
        try check()
        records.remove(ref.name)
    }

    func resolve(_ ref: FunctionReference) throws(ServiceError) -> FunctionRecord { try records.resolve(ref) }
    func latest(_ name: String) throws(ServiceError) -> FunctionRecord { try records.latest(name) }
    func reservedConcurrencies() throws(ServiceError) -> [String: Int] { try records.reservedConcurrencies() }
    func provisionedConcurrencies() throws(ServiceError) -> [(function: String, record: ProvisionedConcurrencyRecord)] {
        try records.provisionedConcurrencies()
    }
    func functionCount() throws(ServiceError) -> Int { try records.functionCount() }
    func instance(for record: FunctionRecord, initializationType: String) throws -> FunctionInstance {
        throw ServiceError.service("the fake launcher builds instances")
    }

    private static let unused = ServiceError.service("not used by the supervisor's tests")
    func create(name: String, packageType: String?, code: FunctionCode, settings: FunctionSettings, publish: Bool) throws(ServiceError) -> FunctionRecord {
        throw Self.unused
    }
    func updateCode(_ name: String, code: FunctionCode, publish: Bool) throws(ServiceError) -> FunctionRecord { throw Self.unused }
    func publishVersion(_ name: String, description: String?) throws(ServiceError) -> FunctionRecord { throw Self.unused }
    func putAlias(_ function: String, name: String, version: String?, description: String?, weights: [String: Double]?,
                  create: Bool, revisionId: String?) throws(ServiceError) -> AliasRecord { throw Self.unused }
    func deleteAlias(_ function: String, _ name: String) throws(ServiceError) { throw Self.unused }
    func putProvisioned(_ function: String, qualifier: String?, count: Int, memoryBudgetMB: Int) throws(ServiceError) -> ProvisionedConcurrencyRecord {
        throw Self.unused
    }
    func deleteProvisioned(_ function: String, qualifier: String?) throws(ServiceError) { throw Self.unused }
    func publishLayerVersion(_ name: String, zip: UnnamedFile, description: String?, runtimes: [String], architectures: [String],
                             license: String?) throws(ServiceError) -> LayerVersionRecord { throw Self.unused }
    func deleteLayerVersion(_ name: String, _ version: Int) throws(ServiceError) { throw Self.unused }
    func uploadImage(name: String, archive: UnnamedFile) throws(ServiceError) -> String { throw Self.unused }
    func list(marker: String?, maxItems: Int?) throws(ServiceError) -> (functions: [FunctionRecord], nextMarker: String?) { throw Self.unused }
    func versions(_ name: String) throws(ServiceError) -> [FunctionRecord] { throw Self.unused }
    func alias(_ function: String, _ name: String) throws(ServiceError) -> AliasRecord { throw Self.unused }
    func aliases(_ function: String) throws(ServiceError) -> [AliasRecord] { throw Self.unused }
    func reservedConcurrency(_ function: String) throws(ServiceError) -> Int? { try records.reservedConcurrencies()[function] }
    func reservedConcurrencyTotal() throws(ServiceError) -> Int { try records.reservedConcurrencies().values.reduce(0, +) }
    func tags(_ function: String) throws(ServiceError) -> [String: String] { throw Self.unused }
    func tag(_ function: String, _ tags: [String: String]) throws(ServiceError) { throw Self.unused }
    func untag(_ function: String, keys: [String]) throws(ServiceError) { throw Self.unused }
    func provisioned(_ function: String, qualifier: String?) throws(ServiceError) -> ProvisionedConcurrencyRecord { throw Self.unused }
    func layerVersion(_ name: String, _ version: Int) throws(ServiceError) -> LayerVersionRecord { throw Self.unused }
    func layerVersions(_ name: String) throws(ServiceError) -> [LayerVersionRecord] { throw Self.unused }
    func layers() throws(ServiceError) -> [LayerVersionRecord] { throw Self.unused }
    func storedCodeBytes() -> Int64 { 0 }
    func openStoredZip(digest: String) -> (fd: Int32, length: Int)? { nil }
    func runtimeVersionArn(_ runtime: String) -> String? { nil }
}
