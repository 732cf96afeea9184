import Foundation
import HearthModel

/// EventBridge Scheduler's schedules on one box: each fire is an asynchronous invocation of the target
/// function, written to the durable queue in the same transaction as the schedule's next fire time, so a
/// crash neither loses a fire nor repeats one. A fire missed while the daemon was down runs once at
/// start if it is still within the target's maximum event age, and never more than once.
public actor ScheduleRunner {
    private let store: any ScheduleStore
    private let dispatcher: EventDispatcher
    private let clock: @Sendable () -> Double
    /// The clock's seconds per real second (a test's faster clock).
    private let pace: Double
    /// For the schedules' ARNs in their targets' input.
    private let region: String
    private let count: EventDispatcher.Counter
    private var entries: [ScheduleKey: (record: ScheduleRecord, nextFire: Double?)] = [:]
    private var timer: Task<Void, Never>?
    private var stopped = false
    /// A pass over the schedules is running (it waits on the queue's sync): another asks it to go again
    /// instead of firing the same schedule twice.
    private var firing = false
    private var again = false

    public init(store: any ScheduleStore, dispatcher: EventDispatcher, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                pace: Double = 1, region: String = "us-east-1", count: @escaping EventDispatcher.Counter = { _, _ in }) {
        self.region = region
        self.store = store
        self.dispatcher = dispatcher
        self.clock = clock
        self.pace = max(pace, 1e-6)
        self.count = count
    }

    /// Loads the schedules, runs what was missed (once each), and starts the timer.
    public func start() async throws {
        try await load()
        await fireDue(catchingUp: true)
    }

    func load() async throws {
        for (record, next) in try await store.schedules() { entries[key(record)] = (record, next) }
    }

    public func stop() {
        stopped = true
        timer?.cancel()
    }

    private func key(_ r: ScheduleRecord) -> ScheduleKey { ScheduleKey(group: r.groupName, name: r.name) }

    // MARK: the API's view

    public func schedule(_ key: ScheduleKey) -> ScheduleRecord? { entries[key]?.record }

    public func all() -> [ScheduleRecord] {
        entries.values.map(\.record).sorted { ($0.groupName, $0.name) < ($1.groupName, $1.name) }
    }

    /// Creates or replaces a schedule; its first fire is computed from now.
    public func put(_ record: ScheduleRecord, create: Bool) async throws(ServiceError) {
        let next = record.state == "ENABLED" ? record.nextFire(after: clock() - 1) : nil
        let stored: Bool
        do { stored = try await store.putSchedule(record, nextFire: next, create: create) } catch { throw .service("\(error)") }
        guard stored else {
            throw create ? ServiceError(status: 409, type: "ConflictException", message: "Schedule \(record.name) already exists.")
                : Self.notFound(record.name)
        }
        entries[key(record)] = (record, next)
        await fireDue(catchingUp: false)
    }

    public func delete(_ key: ScheduleKey) async throws(ServiceError) {
        let removed: Bool
        do { removed = try await store.deleteSchedule(key) } catch { throw .service("\(error)") }
        guard removed else { throw Self.notFound(key.name) }
        entries[key] = nil
    }

    /// A group's removal takes its schedules with it.
    public func deleteGroup(_ name: String) async throws(ServiceError) {
        let removed: Bool
        do { removed = try await store.deleteGroup(name) } catch { throw .service("\(error)") }
        guard removed else { throw ServiceError(status: 404, type: "ResourceNotFoundException", message: "Schedule group \(name) does not exist.") }
        for key in entries.keys where key.group == name { entries[key] = nil }
    }

    static func notFound(_ name: String) -> ServiceError {
        ServiceError(status: 404, type: "ResourceNotFoundException", message: "Schedule \(name) does not exist.")
    }

    /// When a schedule's next fire is due: its nominal time plus its flexible window's offset.
    private func dueTime(_ record: ScheduleRecord, _ next: Double) -> Double { next + record.offset(for: next) }

    // MARK: firing

    /// Fires every schedule that is due, each at most once; at start (`catchingUp`), a fire older than the
    /// target's maximum event age is skipped as missed. Then waits for the next one.
    func fireDue(catchingUp: Bool) async {
        guard !stopped else { return }
        if firing {
            again = true
            return
        }
        firing = true
        repeat {
            again = false
            await firePass(catchingUp: catchingUp)
        } while again && !stopped
        firing = false
        arm()
    }

    private func firePass(catchingUp: Bool) async {
        let now = clock()
        for (key, entry) in entries {
            guard entry.record.state == "ENABLED", let next = entry.nextFire, dueTime(entry.record, next) <= now else { continue }
            let record = entry.record
            let following = record.nextFire(after: max(now, next))
            var change = QueueChange()
            let done = following == nil
            if done && record.actionAfterCompletion == "DELETE" {
                change.deleteSchedules = [key]
            } else {
                change.advanceSchedules = [ScheduleAdvance(key: key, nextFire: following)]
            }
            let missed = catchingUp && now - next > Double(record.target.maximumEventAgeInSeconds)
            var events: [NewEvent] = []
            if !missed, let target = DestinationTarget.function(record.target.arn) {
                events = [NewEvent(requestId: RequestIdentifiers.uuid(), function: target.name, qualifier: target.qualifier,
                                   payload: Array(Self.input(record, key: key, scheduledAt: next, region: region).utf8), enqueuedAt: now)]
            }
            do {
                _ = try await dispatcher.enqueue(events, alongWith: change)
            } catch {
                // Not written: it stays due and is tried again at the next wake.
                count("hearth_schedule_errors_total", [])
                continue
            }
            count(missed ? "hearth_schedule_misses_total" : "hearth_schedule_fires_total", [("schedule", "\(key.group)/\(key.name)")])
            if done && record.actionAfterCompletion == "DELETE" {
                entries[key] = nil
            } else {
                entries[key]?.nextFire = following
            }
        }
    }

    /// Sleeps until the earliest due fire (at most a minute, so a changed wall clock is noticed).
    private func arm() {
        timer?.cancel()
        let dues = entries.values.compactMap { e in e.record.state == "ENABLED" ? e.nextFire.map { dueTime(e.record, $0) } : nil }
        guard !stopped, let earliest = dues.min() else { return }
        let delay = min(max(0, earliest - clock()), 60)
        timer = Task {
            try? await Task.sleep(nanoseconds: UInt64(delay / pace * 1e9) + 1_000_000)
            if !Task.isCancelled { await self.fireDue(catchingUp: false) }
        }
    }

    /// The target's input with EventBridge Scheduler's context attributes put in: the schedule's ARN,
    /// the time it was due (not when it ran: a late fire says when it should have been), an id for
    /// the fire, and its attempt (1: the queue's retries send the same event again).
    static func input(_ record: ScheduleRecord, key: ScheduleKey, scheduledAt: Double, region: String) -> String {
        let text = record.target.input ?? "{}"
        guard text.contains("<aws.scheduler.") else { return text }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let execution = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return text
            .replacingOccurrences(of: "<aws.scheduler.schedule-arn>", with: LambdaARN.schedule(group: key.group, name: key.name, region: region))
            .replacingOccurrences(of: "<aws.scheduler.scheduled-time>", with: formatter.string(from: Date(timeIntervalSince1970: scheduledAt)))
            .replacingOccurrences(of: "<aws.scheduler.execution-id>", with: execution)
            .replacingOccurrences(of: "<aws.scheduler.attempt-number>", with: "1")
    }
}
