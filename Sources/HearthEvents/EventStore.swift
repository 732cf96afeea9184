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
}
