import Foundation
import HearthEvents
@testable import HearthExecution
import HearthLogs
import HearthModel
import HearthPackages
import HearthState
import HearthRegistry
@testable import HearthSupervisor
import Synchronization

/// A `FunctionService` kept in memory, for the route tests: it records what the routes asked for and
/// answers invocations as the test scripts them. What a test does not use refuses with a 500.
final class FakeFunctionService: FunctionService {
    struct Calls {
        var invocations: [(ref: FunctionReference, requestId: String, payload: [UInt8], clientContext: String?)] = []
        var created: [(name: String, settings: FunctionSettings, code: FunctionCode)] = []
        var reserved: [(String, Int?)] = []
        var tagged: [(String, [String: String])] = []
        var untagged: [(String, [String])] = []
        var deletedLayers: [(String, Int)] = []
        var events: [(ref: FunctionReference, requestId: String, payload: [UInt8])] = []
        var eventConfigs: [(ref: FunctionReference, change: EventInvokeConfigChange, replace: Bool)] = []
        var urlChanges: [(ref: FunctionReference, change: FunctionUrlChange, create: Bool)] = []
    }
    let calls = Mutex(Calls())
    let reader = FakeFunctionReader()
    let region = "eu-west-1"
    let spillDirectory: String
    var functions: any FunctionReader { reader }
    /// How an invocation ends; by default it answers its payload.
    let onInvoke = Mutex<@Sendable (FunctionReference, [UInt8]) throws(ServiceError) -> InvokeOutcome>({ ref, payload in
        FakeFunctionService.outcome(.success(payload), version: ref.qualifier ?? "$LATEST")
    })
    let statusValue = Mutex(Scheduler.Status(pools: [], busy: 0, liveMemoryMB: 0, memoryBudgetMB: 1024, accountConcurrency: 1000,
                                             functions: 0, prepared: 0))

    init(spillDirectory: String) {
        self.spillDirectory = spillDirectory
        // The real store on files: the Logs routes are tested against what the daemon writes.
        logs = try! FunctionLogs(directory: spillDirectory + "/logs")
    }

    let logs: FunctionLogs
    var logStore: any FunctionLogStore { logs }

    static func outcome(_ body: InvocationResult.Body, version: String = "$LATEST", tail: String = "") -> InvokeOutcome {
        let end: InvocationEnd = if case .error(_, let type) = body { .functionError(type: type) } else { .success }
        let report = InvocationLog.Report(durationMs: 1, memorySizeMB: 128, maxMemoryUsedMB: 1, initDurationMs: nil, end: end)
        return InvokeOutcome(result: InvocationResult(requestId: "", end: end, body: body, report: report), executedVersion: version,
                             logTail: Array(tail.utf8), coldStart: false)
    }

    func invoke(_ ref: FunctionReference, requestId: String, payload: [UInt8], clientContext: String?,
                stream: ResponseSink?) async throws(ServiceError) -> InvokeOutcome {
        calls.withLock { $0.invocations.append((ref, requestId, payload, clientContext)) }
        _ = try reader.resolve(ref)
        let answer = onInvoke.withLock { $0 }
        return try answer(ref, payload)
    }

    func enqueueEvent(_ ref: FunctionReference, requestId: String, payload: [UInt8]) async throws(ServiceError) {
        calls.withLock { $0.events.append((ref, requestId, payload)) }
    }

    func putEventInvokeConfig(_ ref: FunctionReference, _ change: EventInvokeConfigChange, replace: Bool) async throws(ServiceError)
        -> EventInvokeConfigRecord {
        calls.withLock { $0.eventConfigs.append((ref, change, replace)) }
        _ = try reader.resolve(ref)
        return EventInvokeConfigRecord(qualifier: ref.qualifier ?? "$LATEST", maximumRetryAttempts: change.maximumRetryAttempts,
                                       maximumEventAgeInSeconds: change.maximumEventAgeInSeconds, onSuccess: change.onSuccess ?? nil,
                                       onFailure: change.onFailure ?? nil, lastModified: 1_700_000_000.5)
    }

    func deleteEventInvokeConfig(_ ref: FunctionReference) async throws(ServiceError) { throw Self.unused }

    func createFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) async throws(ServiceError) -> FunctionUrlRecord {
        calls.withLock { $0.urlChanges.append((ref, change, true)) }
        _ = try reader.resolve(ref)
        return FunctionUrlRecord(urlId: "abcdefghijklmnopqrstuvwxyz012345", qualifier: ref.qualifier, authType: change.authType ?? "NONE",
                                 invokeMode: change.invokeMode, cors: change.cors ?? nil, creationTime: "2026-12-02T10:00:00.000001Z",
                                 lastModifiedTime: "2026-12-02T10:00:00.000001Z")
    }

    func updateFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) async throws(ServiceError) -> FunctionUrlRecord {
        calls.withLock { $0.urlChanges.append((ref, change, false)) }
        throw Self.unused
    }

    func deleteFunctionUrl(_ ref: FunctionReference) async throws(ServiceError) { throw Self.unused }
    func addPermission(_ ref: FunctionReference, _ request: PermissionRequest) async throws(ServiceError) -> String { throw Self.unused }
    func removePermission(_ ref: FunctionReference, statementId: String, revisionId: String?) async throws(ServiceError) { throw Self.unused }
    func addLayerVersionPermission(_ layer: String, version: Int, _ request: LayerPermissionRequest) async throws(ServiceError)
        -> (statement: String, revisionId: String) { throw Self.unused }
    func removeLayerVersionPermission(_ layer: String, version: Int, statementId: String, revisionId: String?) async throws(ServiceError) {
        throw Self.unused
    }
    func putRecursiveLoop(_ function: String, _ value: String) async throws(ServiceError) -> String { throw Self.unused }
    func putRuntimeManagement(_ ref: FunctionReference, _ record: RuntimeManagementRecord) async throws(ServiceError) -> RuntimeManagementRecord {
        throw Self.unused
    }
    func eventFailures(_ function: String?) async throws(ServiceError) -> [FailedEvent] { [] }
    func settleFailures(_ function: String, ids: [Int64]?, redrive: Bool) async throws(ServiceError) -> Int { 0 }
    func queueStats() async -> EventDispatcher.Stats? { nil }
    func putSchedule(_ record: ScheduleRecord, create: Bool) async throws(ServiceError) { throw Self.unused }
    func schedule(_ key: ScheduleKey) async throws(ServiceError) -> ScheduleRecord { throw Self.unused }
    func schedules() async -> [ScheduleRecord] { [] }
    func deleteSchedule(_ key: ScheduleKey) async throws(ServiceError) { throw Self.unused }
    func scheduleGroups() async throws(ServiceError) -> [(name: String, creationDate: Double)] { [("default", 0)] }
    func createScheduleGroup(_ name: String) async throws(ServiceError) { throw Self.unused }
    func deleteScheduleGroup(_ name: String) async throws(ServiceError) { throw Self.unused }

    func createFunction(name: String, packageType: String?, code: FunctionCode, settings: FunctionSettings,
                        publish: Bool) async throws(ServiceError) -> FunctionRecord {
        calls.withLock { $0.created.append((name, settings, code)) }
        return reader.put(name, memoryMB: settings.memorySize ?? 128)
    }

    func putReservedConcurrency(_ function: String, _ value: Int) async throws(ServiceError) {
        _ = try reader.latest(function)
        calls.withLock { $0.reserved.append((function, value)) }
    }

    func deleteReservedConcurrency(_ function: String) async throws(ServiceError) {
        calls.withLock { $0.reserved.append((function, nil)) }
    }

    func tag(_ function: String, _ tags: [String: String]) async throws(ServiceError) {
        _ = try reader.latest(function)
        calls.withLock { $0.tagged.append((function, tags)) }
        reader.setTags(function, (try reader.tags(function)).merging(tags) { $1 })
    }

    func untag(_ function: String, keys: [String]) async throws(ServiceError) {
        _ = try reader.latest(function)
        calls.withLock { $0.untagged.append((function, keys)) }
        reader.setTags(function, (try reader.tags(function)).filter { !keys.contains($0.key) })
    }

    func deleteLayerVersion(_ name: String, _ version: Int) async throws(ServiceError) {
        calls.withLock { $0.deletedLayers.append((name, version)) }
    }

    func provisionedState(function: String, version: String) async -> (available: Int, failure: String?) { (0, nil) }
    func status() async -> Scheduler.Status { statusValue.withLock { $0 } }
    func metricsText() async -> String { "hearth_up 1\n" }

    private static let unused = ServiceError.service("not used by the route tests")
    func updateFunctionCode(_ name: String, code: FunctionCode, publish: Bool) async throws(ServiceError) -> FunctionRecord { throw Self.unused }
    func updateFunctionConfiguration(_ name: String, settings: FunctionSettings, revisionId: String?) async throws(ServiceError) -> FunctionRecord {
        throw Self.unused
    }
    func deleteFunction(_ ref: FunctionReference) async throws(ServiceError) { throw Self.unused }
    func publishVersion(_ name: String, description: String?) async throws(ServiceError) -> FunctionRecord { throw Self.unused }
    func putAlias(_ function: String, name: String, version: String?, description: String?, weights: [String: Double]?,
                  create: Bool, revisionId: String?) async throws(ServiceError) -> AliasRecord { throw Self.unused }
    func deleteAlias(_ function: String, _ name: String) async throws(ServiceError) { throw Self.unused }
    func publishLayerVersion(_ name: String, zip: UnnamedFile, description: String?, runtimes: [String],
                             architectures: [String], license: String?) async throws(ServiceError) -> LayerVersionRecord { throw Self.unused }
    func uploadImage(name: String, archive: UnnamedFile) async throws(ServiceError) -> String { throw Self.unused }
    func putProvisioned(_ function: String, qualifier: String?, count: Int) async throws(ServiceError) -> ProvisionedConcurrencyRecord {
        throw Self.unused
    }
    func deleteProvisioned(_ function: String, qualifier: String?) async throws(ServiceError) { throw Self.unused }
}

/// Records by function and version, in memory.
final class FakeFunctionReader: FunctionReader {
    /// A fixed build, as a runtime image's index would give.
    func runtimeVersionArn(_ runtime: String) -> String? { "arn:aws:lambda:us-east-1::runtime:" + String(repeating: "ab", count: 32) }
    private struct State {
        var records: [String: [String: FunctionRecord]] = [:]
        var reserved: [String: Int] = [:]
        var tags: [String: [String: String]] = [:]
        var codeBytes: Int64 = 0
    }
    private let state = Mutex(State())

    @discardableResult
    func put(_ name: String, version: String = "$LATEST", memoryMB: Int = 128, zipDigest: String? = nil, logGroup: String? = nil) -> FunctionRecord {
        var record = FunctionRecord(
            name: name, version: version, packageType: "Zip", runtime: "python3.11", handler: "app.handler", role: "arn:aws:iam::123456789012:role/r",
            description: "", memorySize: memoryMB, timeout: 3, ephemeralStorage: 512, environment: [:], layers: [],
            codeSha256: "", codeSize: 10, zipDigest: zipDigest, imageUri: nil, imageDigest: nil, imageConfig: nil,
            architectures: ["x86_64"], lastModified: "2026-12-02T00:00:00.000+0000", revisionId: "r1")
        if let logGroup { record.loggingConfig = LoggingConfig(logFormat: "Text", logGroup: logGroup) }
        state.withLock { $0.records[name, default: [:]][version] = record }
        return record
    }

    func reserve(_ name: String, _ value: Int) { state.withLock { $0.reserved[name] = value } }
    func setCodeBytes(_ bytes: Int64) { state.withLock { $0.codeBytes = bytes } }

    func resolve(_ ref: FunctionReference) throws(ServiceError) -> FunctionRecord {
        let qualifier = ref.qualifier ?? "$LATEST"
        guard let record = state.withLock({ $0.records[ref.name]?[qualifier] }) else {
            throw .functionNotFound(LambdaARN.function(ref.name, qualifier: ref.qualifier, region: "eu-west-1"))
        }
        return record
    }

    func latest(_ name: String) throws(ServiceError) -> FunctionRecord { try resolve(FunctionReference(name: name, qualifier: nil)) }

    func list(marker: String?, maxItems: Int?) throws(ServiceError) -> (functions: [FunctionRecord], nextMarker: String?) {
        let all = state.withLock { $0.records.keys.sorted() }.filter { marker == nil || $0 > marker! }
        let page = Array(all.prefix(maxItems ?? 50))
        var records: [FunctionRecord] = []
        for name in page { records.append(try latest(name)) }
        return (records, page.count < all.count ? page.last : nil)
    }

    func versions(_ name: String) throws(ServiceError) -> [FunctionRecord] {
        let versions = state.withLock { $0.records[name] ?? [:] }
        return versions.keys.sorted { ($0 == "$LATEST" ? 0 : Int($0) ?? 0) < ($1 == "$LATEST" ? 0 : Int($1) ?? 0) }.compactMap { versions[$0] }
    }

    func reservedConcurrency(_ function: String) throws(ServiceError) -> Int? { state.withLock { $0.reserved[function] } }
    func tags(_ function: String) throws(ServiceError) -> [String: String] {
        _ = try latest(function)
        return state.withLock { $0.tags[function] ?? [:] }
    }
    func setTags(_ function: String, _ tags: [String: String]) { state.withLock { $0.tags[function] = tags } }
    func reservedConcurrencyTotal() throws(ServiceError) -> Int { state.withLock { $0.reserved.values.reduce(0, +) } }
    func reservedConcurrencies() throws(ServiceError) -> [String: Int] { state.withLock { $0.reserved } }
    func provisionedConcurrencies() throws(ServiceError) -> [(function: String, record: ProvisionedConcurrencyRecord)] { [] }
    func functionCount() throws(ServiceError) -> Int { state.withLock { $0.records.count } }
    func storedCodeBytes() -> Int64 { state.withLock { $0.codeBytes } }
    func openStoredZip(digest: String) -> (fd: Int32, length: Int)? { nil }

    func alias(_ function: String, _ name: String) throws(ServiceError) -> AliasRecord { throw .notFound("Alias not found") }
    func aliases(_ function: String) throws(ServiceError) -> [AliasRecord] { [] }
    func provisioned(_ function: String, qualifier: String?) throws(ServiceError) -> ProvisionedConcurrencyRecord {
        throw .notFound("No Provisioned Concurrency Config found for this function")
    }
    func layerVersion(_ name: String, _ version: Int) throws(ServiceError) -> LayerVersionRecord { throw .notFound("Layer version not found") }
    func layerVersions(_ name: String) throws(ServiceError) -> [LayerVersionRecord] { [] }
    func layers() throws(ServiceError) -> [LayerVersionRecord] { [] }
    func eventInvokeConfig(_ ref: FunctionReference) throws(ServiceError) -> EventInvokeConfigRecord {
        throw .notFound("The function \(ref.name) doesn't have an EventInvokeConfig")
    }
    func eventInvokeConfigs(_ function: String) throws(ServiceError) -> [EventInvokeConfigRecord] { [] }
    func functionUrl(_ ref: FunctionReference) throws(ServiceError) -> FunctionUrlRecord { throw .notFound("The resource you requested does not exist.") }
    func functionUrls(_ function: String) throws(ServiceError) -> [FunctionUrlRecord] { [] }
    func functionUrl(id: String) -> FunctionUrlTarget? { nil }
    func policy(_ ref: FunctionReference) throws(ServiceError) -> (policy: String, revisionId: String) {
        throw .notFound("The resource you requested does not exist.")
    }
    func layerVersionPolicy(_ layer: String, version: Int) throws(ServiceError) -> (policy: String, revisionId: String) {
        throw .notFound("No policy is associated with the given resource.")
    }
    func recursiveLoop(_ function: String) throws(ServiceError) -> String { "Terminate" }
    func runtimeManagement(_ ref: FunctionReference) throws(ServiceError) -> RuntimeManagementRecord { .init(updateRuntimeOn: "Auto") }
}
