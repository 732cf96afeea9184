/// Where accepted events live until their outcome is recorded. Every write is durable (synced) when it
/// returns, so an acknowledged event survives `kill -9` and a power cut. `SQLiteEventStore` is the
/// one backend; a shared PostgreSQL one (`FOR UPDATE SKIP LOCKED`) would implement the same calls.
public protocol EventStore: Sendable {
    /// Writes `change` durably; the events and deliveries it added, with their ids.
    func commit(_ change: QueueChange) async throws -> QueueCommit
    /// Every queued event, without payloads, in id order (what a starting daemon resumes).
    func queuedEvents() async throws -> [QueuedEvent]
    func payload(of id: Int64) async throws -> [UInt8]?
    /// Deliveries not yet sent, in id order.
    func pendingDeliveries() async throws -> [Delivery]
    /// Kept failures, oldest first; one function's when `function` is given.
    func failures(function: String?) async throws -> [FailedEvent]
    /// Removes events that ran with a later write, and returns at once: lost with the process, they
    /// run again, which at-least-once delivery allows. Reads (`queuedEvents`) see them gone.
    func removeLater(_ ids: [Int64])
    /// Writes what `removeLater` still holds.
    func flush() async throws
}


/// Schedules and schedule groups, kept with the queue their fires go to (a fire and its schedule's next
/// time are one transaction).
public protocol ScheduleStore: Sendable {
    /// Every schedule with its next fire time (nil: done or never computed).
    func schedules() async throws -> [(record: ScheduleRecord, nextFire: Double?)]
    /// Adds a schedule (false when its name is taken in its group) or replaces one (false when it does not exist).
    func putSchedule(_ record: ScheduleRecord, nextFire: Double?, create: Bool) async throws -> Bool
    func deleteSchedule(_ key: ScheduleKey) async throws -> Bool
    func groups() async throws -> [(name: String, creationDate: Double)]
    func createGroup(_ name: String, creationDate: Double) async throws -> Bool
    /// Removes a group and its schedules.
    func deleteGroup(_ name: String) async throws -> Bool
}
