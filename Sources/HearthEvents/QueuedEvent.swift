/// An event accepted for asynchronous invocation, as the queue keeps it. Times are Unix seconds.
public struct QueuedEvent: Sendable, Equatable {
    public var id: Int64
    /// The Invoke's request id: every attempt runs under it, as on Lambda.
    public var requestId: String
    public var function: String
    /// The version or alias invoked; nil for an unqualified name ($LATEST).
    public var qualifier: String?
    public var enqueuedAt: Double
    /// Not run before this time (a retry's delay).
    public var notBefore: Double
    /// Attempts the function made (throttles and Hearth's own failures are not attempts).
    public var attempts: Int
    /// What the last attempt answered, for a failure record.
    public var lastResponse: AttemptResponse?

    public init(id: Int64, requestId: String, function: String, qualifier: String?, enqueuedAt: Double, notBefore: Double,
                attempts: Int = 0, lastResponse: AttemptResponse? = nil) {
        self.id = id
        self.requestId = requestId
        self.function = function
        self.qualifier = qualifier
        self.enqueuedAt = enqueuedAt
        self.notBefore = notBefore
        self.attempts = attempts
        self.lastResponse = lastResponse
    }
}

/// An event to add to the queue.
public struct NewEvent: Sendable, Equatable {
    public var requestId: String
    public var function: String
    public var qualifier: String?
    public var payload: [UInt8]
    public var enqueuedAt: Double

    public init(requestId: String, function: String, qualifier: String?, payload: [UInt8], enqueuedAt: Double) {
        self.requestId = requestId
        self.function = function
        self.qualifier = qualifier
        self.payload = payload
        self.enqueuedAt = enqueuedAt
    }
}

/// One attempt's answer, as a destination record's responseContext and responsePayload give it.
public struct AttemptResponse: Codable, Sendable, Equatable {
    public var executedVersion: String
    /// "Unhandled" when the function failed.
    public var functionError: String?
    /// The function's result or error document.
    public var payload: [UInt8]

    public init(executedVersion: String, functionError: String?, payload: [UInt8]) {
        self.executedVersion = executedVersion
        self.functionError = functionError
        self.payload = payload
    }
}

/// An event whose failure could not be delivered anywhere (no destination, or one that refused it
/// past its retries): kept until re-driven or deleted.
public struct FailedEvent: Sendable, Equatable {
    public var id: Int64
    public var requestId: String
    public var function: String
    public var qualifier: String?
    public var payload: [UInt8]
    /// The destination record Lambda would have sent (its condition says why the event failed).
    public var record: [UInt8]
    /// Why it is here and not at a destination.
    public var reason: String
    public var failedAt: Double

    public init(id: Int64, requestId: String, function: String, qualifier: String?, payload: [UInt8], record: [UInt8], reason: String,
                failedAt: Double) {
        self.id = id
        self.requestId = requestId
        self.function = function
        self.qualifier = qualifier
        self.payload = payload
        self.record = record
        self.reason = reason
        self.failedAt = failedAt
    }
}

/// A message attribute of an SQS message (a dead-letter queue's RequestID, ErrorCode, ErrorMessage).
public struct MessageAttribute: Codable, Sendable, Equatable {
    public var name: String
    /// "String" or "Number".
    public var dataType: String
    public var value: String

    public init(name: String, dataType: String, value: String) {
        self.name = name
        self.dataType = dataType
        self.value = value
    }
}

/// A message for a target outside Hearth (an SQS queue), kept until it is sent.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    /// The function whose event it comes from, and that event's request id.
    public var function: String
    public var requestId: String
    /// The destination's ARN.
    public var target: String
    public var body: [UInt8]
    public var attributes: [MessageAttribute]
    /// The original event's payload, kept for re-driving if the delivery fails for good.
    public var payload: [UInt8]
    public var attempts: Int
    public var notBefore: Double
    public var lastError: String?

    public init(id: Int64, function: String, requestId: String, target: String, body: [UInt8], attributes: [MessageAttribute] = [],
                payload: [UInt8], attempts: Int = 0, notBefore: Double, lastError: String? = nil) {
        self.id = id
        self.function = function
        self.requestId = requestId
        self.target = target
        self.body = body
        self.attributes = attributes
        self.payload = payload
        self.attempts = attempts
        self.notBefore = notBefore
        self.lastError = lastError
    }
}

/// A schedule, by group and name.
public struct ScheduleKey: Sendable, Equatable, Hashable {
    public var group: String
    public var name: String
    public init(group: String, name: String) {
        self.group = group
        self.name = name
    }
}

public struct ScheduleAdvance: Sendable, Equatable {
    public var key: ScheduleKey
    public var nextFire: Double?
    public init(key: ScheduleKey, nextFire: Double?) {
        self.key = key
        self.nextFire = nextFire
    }
}

/// What a commit added, with the ids the store gave them.
public struct QueueCommit: Sendable, Equatable {
    public var events: [QueuedEvent] = []
    public var deliveries: [Delivery] = []
}

/// One outcome written as a whole: events removed, rescheduled or added (a destination that is a
/// function gets its record as a new event), deliveries to outside targets, failures kept. A crash
/// leaves all of it or none.
public struct QueueChange: Sendable, Equatable {
    public struct Reschedule: Sendable, Equatable {
        public var id: Int64
        public var notBefore: Double
        public var attempts: Int
        public var lastResponse: AttemptResponse?
    }

    public var remove: [Int64] = []
    public var reschedule: [Reschedule] = []
    public var add: [NewEvent] = []
    public var fail: [FailedEvent] = []
    /// Failures taken out (re-driven or deleted).
    public var removeFailures: [Int64] = []
    /// Messages for outside targets (ids are the store's), sent ones removed, failed ones rescheduled.
    public var deliver: [Delivery] = []
    public var removeDeliveries: [Int64] = []
    public var rescheduleDeliveries: [Delivery] = []
    /// Schedules that fired: their next fire time (nil when done), or removed (ActionAfterCompletion DELETE).
    public var advanceSchedules: [ScheduleAdvance] = []
    public var deleteSchedules: [ScheduleKey] = []

    public init(remove: [Int64] = [], reschedule: [Reschedule] = [], add: [NewEvent] = [], fail: [FailedEvent] = [],
                removeFailures: [Int64] = []) {
        self.remove = remove
        self.reschedule = reschedule
        self.add = add
        self.fail = fail
        self.removeFailures = removeFailures
    }

    /// Only removals of events that ran and of messages that were sent. Lost with the machine (a power
    /// cut before the WAL reached the disk), the event runs or the message is sent again, which at-least-once
    /// delivery allows; so such a commit need not wait for its own sync: the next commit that must be
    /// synced syncs it too (the WAL is written in order).
    public var mayWaitForTheNextSync: Bool {
        add.isEmpty && reschedule.isEmpty && fail.isEmpty && removeFailures.isEmpty && deliver.isEmpty
            && rescheduleDeliveries.isEmpty && advanceSchedules.isEmpty && deleteSchedules.isEmpty
    }

    /// Only removals of events that ran: nothing any caller needs written before it goes on.
    public var onlyRemovesEvents: Bool { !remove.isEmpty && removeDeliveries.isEmpty && mayWaitForTheNextSync }

    public var isEmpty: Bool {
        remove.isEmpty && reschedule.isEmpty && add.isEmpty && fail.isEmpty && removeFailures.isEmpty && deliver.isEmpty
            && removeDeliveries.isEmpty && rescheduleDeliveries.isEmpty && advanceSchedules.isEmpty && deleteSchedules.isEmpty
    }
}

/// A time something is due, in a heap ordered by time then id. An entry whose item has moved since is
/// stale and skipped when it comes up.
struct Due: Comparable {
    var at: Double
    var id: Int64
    static func < (a: Due, b: Due) -> Bool { (a.at, a.id) < (b.at, b.id) }
}
