import HearthEvents
import HearthExecution
import HearthLogs
import HearthModel
import HearthPackages
import HearthRegistry
import HearthState

/// Everything the control API asks of Hearth: changes that go through the registry and then the
/// scheduler, invocations, and what it reports. `Supervisor` is the real one; the API's route
/// tests use a fake.
public protocol FunctionService: Sendable {
    var region: String { get }
    /// Where request bodies too large for memory, and zips decoded from them, are written.
    var spillDirectory: String { get }
    var functions: any FunctionReader { get }

    func createFunction(name: String, packageType: String?, code: FunctionCode, settings: FunctionSettings,
                        publish: Bool) async throws(ServiceError) -> FunctionRecord
    func updateFunctionCode(_ name: String, code: FunctionCode, publish: Bool) async throws(ServiceError) -> FunctionRecord
    func updateFunctionConfiguration(_ name: String, settings: FunctionSettings, revisionId: String?) async throws(ServiceError) -> FunctionRecord
    func deleteFunction(_ ref: FunctionReference) async throws(ServiceError)
    func publishVersion(_ name: String, description: String?) async throws(ServiceError) -> FunctionRecord
    func putAlias(_ function: String, name: String, version: String?, description: String?, weights: [String: Double]?,
                  create: Bool, revisionId: String?) async throws(ServiceError) -> AliasRecord
    func deleteAlias(_ function: String, _ name: String) async throws(ServiceError)
    func publishLayerVersion(_ name: String, zip: UnnamedFile, description: String?, runtimes: [String],
                             architectures: [String], license: String?) async throws(ServiceError) -> LayerVersionRecord
    func deleteLayerVersion(_ name: String, _ version: Int) async throws(ServiceError)
    func uploadImage(name: String, archive: UnnamedFile) async throws(ServiceError) -> String
    func putReservedConcurrency(_ function: String, _ value: Int) async throws(ServiceError)
    func tag(_ function: String, _ tags: [String: String]) async throws(ServiceError)
    func untag(_ function: String, keys: [String]) async throws(ServiceError)
    func deleteReservedConcurrency(_ function: String) async throws(ServiceError)
    func putProvisioned(_ function: String, qualifier: String?, count: Int) async throws(ServiceError) -> ProvisionedConcurrencyRecord
    func deleteProvisioned(_ function: String, qualifier: String?) async throws(ServiceError)

    /// - Parameter requestId: the API request's id, which is also the invocation's (as on Lambda).
    /// - Parameter stream: where a response the runtime streams goes as it arrives (InvokeWithResponseStream, streaming URLs).
    func invoke(_ ref: FunctionReference, requestId: String, payload: [UInt8], clientContext: String?,
                stream: ResponseSink?) async throws(ServiceError) -> InvokeOutcome
    /// InvocationType Event: the event is on disk when this returns (then the 202 may be sent).
    func enqueueEvent(_ ref: FunctionReference, requestId: String, payload: [UInt8]) async throws(ServiceError)
    /// PutFunctionEventInvokeConfig (`replace`) or UpdateFunctionEventInvokeConfig.
    func putEventInvokeConfig(_ ref: FunctionReference, _ change: EventInvokeConfigChange, replace: Bool) async throws(ServiceError)
        -> EventInvokeConfigRecord
    func deleteEventInvokeConfig(_ ref: FunctionReference) async throws(ServiceError)
    func createFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) async throws(ServiceError) -> FunctionUrlRecord
    func updateFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) async throws(ServiceError) -> FunctionUrlRecord
    func deleteFunctionUrl(_ ref: FunctionReference) async throws(ServiceError)
    func addPermission(_ ref: FunctionReference, _ request: PermissionRequest) async throws(ServiceError) -> String
    func removePermission(_ ref: FunctionReference, statementId: String, revisionId: String?) async throws(ServiceError)
    func addLayerVersionPermission(_ layer: String, version: Int, _ request: LayerPermissionRequest) async throws(ServiceError)
        -> (statement: String, revisionId: String)
    func removeLayerVersionPermission(_ layer: String, version: Int, statementId: String, revisionId: String?) async throws(ServiceError)
    func putRecursiveLoop(_ function: String, _ value: String) async throws(ServiceError) -> String
    func putRuntimeManagement(_ ref: FunctionReference, _ record: RuntimeManagementRecord) async throws(ServiceError) -> RuntimeManagementRecord
    /// Events whose failure could not be delivered anywhere, oldest first.
    func eventFailures(_ function: String?) async throws(ServiceError) -> [FailedEvent]
    /// Kept failures sent back to their function (`redrive`) or deleted; how many.
    func settleFailures(_ function: String, ids: [Int64]?, redrive: Bool) async throws(ServiceError) -> Int
    /// CreateSchedule (`create`) or UpdateSchedule; the target function must exist.
    func putSchedule(_ record: ScheduleRecord, create: Bool) async throws(ServiceError)
    func schedule(_ key: ScheduleKey) async throws(ServiceError) -> ScheduleRecord
    func schedules() async -> [ScheduleRecord]
    func deleteSchedule(_ key: ScheduleKey) async throws(ServiceError)
    /// Schedule groups with their creation times; "default" always exists.
    func scheduleGroups() async throws(ServiceError) -> [(name: String, creationDate: Double)]
    func createScheduleGroup(_ name: String) async throws(ServiceError)
    func deleteScheduleGroup(_ name: String) async throws(ServiceError)
    /// What the event queue holds now; nil without one.
    func queueStats() async -> EventDispatcher.Stats?
    /// Ready provisioned environments of a version, and why they could not all be made.
    func provisionedState(function: String, version: String) async -> (available: Int, failure: String?)
    func status() async -> Scheduler.Status
    func metricsText() async -> String
    /// The functions' logs: `hearth logs` and the CloudWatch Logs API read them.
    var logStore: any FunctionLogStore { get }
}

extension FunctionService {
    /// A buffered invocation: the whole response is the outcome's result.
    public func invoke(_ ref: FunctionReference, requestId: String, payload: [UInt8], clientContext: String?) async throws(ServiceError)
        -> InvokeOutcome {
        try await invoke(ref, requestId: requestId, payload: payload, clientContext: clientContext, stream: nil)
    }
}
