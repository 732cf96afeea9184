import HearthModel
import HearthState

/// What the durable queue reads to run an event: the version it names (its dead-letter target), its
/// event invoke configuration (none: Lambda's defaults) and the function's reserved concurrency.
public struct EventRunSettings: Sendable {
    public var record: FunctionRecord
    public var eventInvokeConfig: EventInvokeConfigRecord?
    public var reservedConcurrency: Int?

    public init(record: FunctionRecord, eventInvokeConfig: EventInvokeConfigRecord?, reservedConcurrency: Int?) {
        self.record = record
        self.eventInvokeConfig = eventInvokeConfig
        self.reservedConcurrency = reservedConcurrency
    }
}

extension FunctionRegistry {
    /// `ref`'s settings as stored now (`record`: the version it resolved to), without a cache.
    public func readEventRunSettings(_ ref: FunctionReference, record: FunctionRecord) throws(ServiceError) -> EventRunSettings {
        var config: EventInvokeConfigRecord?
        do { config = try eventInvokeConfig(ref) } catch where error.status == 404 { config = nil }
        return EventRunSettings(record: record, eventInvokeConfig: config, reservedConcurrency: try reservedConcurrency(ref.name))
    }
}
