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
