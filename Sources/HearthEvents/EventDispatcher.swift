import DequeModule
import Foundation
import HeapModule
import HearthModel

/// Runs queued events as concurrency allows and records each outcome before forgetting the event
/// (at-least-once). It holds the queue's index in memory (what is due when, what runs); the store
/// holds the events. Throttles are learned per function: after a 429 the dispatcher keeps no more of
/// that function's events running than it had then, and opens one more slot each time one finishes
/// without a throttle, so events sent to a throttled function run as concurrency frees instead of
/// backing off for minutes.
public actor EventDispatcher {
    public struct Options: Sendable {
        public var rules = RetryRules()
        /// Events running at once, across functions.
        public var maxInFlight = 1000
        /// Payloads of fresh events kept in memory, so the first attempt does not read them back.
        public var payloadCacheBytes = 64 << 20
        /// The clock's seconds per real second (a test's faster clock): waits are divided by it.
        public var pace = 1.0
        public init() {}
    }

    /// What the queue holds and has done, for /metrics and `hearth status`.
    public struct Stats: Sendable, Equatable, Codable {
        /// Events waiting (for their time or for concurrency), by function.
        public var queued: [String: Int] = [:]
        /// Seconds since the oldest waiting event of each function was accepted.
        public var oldestAge: [String: Double] = [:]
        public var running = 0
    }

    /// Counts a thing that happened (a metric name and its labels).
    public typealias Counter = @Sendable (_ name: String, _ labels: [(String, String)]) -> Void
    /// Records a duration in seconds for a function (a histogram).
    public typealias Timer = @Sendable (_ name: String, _ function: String, _ seconds: Double) -> Void

    private struct Tracked {
        var event: QueuedEvent
        var running = false
        /// Throttles and Hearth's failures in a row.
        var backoffs = 0
    }

    private let store: any EventStore
    private let invoker: any EventInvoker
    /// Sends to targets outside Hearth; nil when none is configured (their records are kept as failures).
    private let sender: (any DestinationSender)?
    public let deliveries: DeliveryWorker?
    private let clock: @Sendable () -> Double
    private let count: Counter
    private let time: Timer
    private var options: Options
    private var events: [Int64: Tracked] = [:]
    private var due = Heap<Due>()
    private var payloads: [Int64: [UInt8]] = [:]
    private var payloadBytes = 0
    private var inFlight = 0
    private var runningByFunction: [String: Int] = [:]
    /// Per function, how many of its events may run since its last throttle.
    private var learnedLimit: [String: Int] = [:]
    private var stopping = false
    /// Due events of a function held back by its learned limit, until one of its events finishes.
    private var parked: [String: Deque<Due>] = [:]
    private var loop: Task<Void, Never>?
    private var sleeper: CheckedContinuation<Void, Never>?
    /// When the sleeping timer loop wakes by itself (on the dispatcher's clock).
    private var sleepingUntil = Double.infinity
    private var timer: Task<Void, Never>?
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    public init(store: any EventStore, invoker: any EventInvoker, sender: (any DestinationSender)? = nil, options: Options = Options(),
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }, count: @escaping Counter = { _, _ in },
                time: @escaping Timer = { _, _, _ in }) {
        self.store = store
        self.invoker = invoker
        self.options = options
        self.clock = clock
        self.count = count
        self.time = time
        self.sender = sender
        deliveries = sender.map { DeliveryWorker(store: store, sender: $0, rules: options.rules, clock: clock, pace: options.pace, count: count) }
    }

    /// Loads what the store holds (a restart resumes it) and starts dispatching.
    public func start() async throws {
        try await load()
        try await deliveries?.start()
        loop = Task { await self.runLoop() }
    }

    /// Loads what the store holds without starting the timer loop (unit tests call `pump`).
    func load() async throws {
        for event in try await store.queuedEvents() { track(event) }
    }

    /// Stops starting events; outcomes that arrive from now on are recorded only when they are
    /// successes (a failure seen while stopping may be the daemon's own kill: the event runs again).
    public func stop() async {
        await deliveries?.stop()
        stopping = true
        loop?.cancel()
        timer?.cancel()
        sleeper?.resume()
        sleeper = nil
    }

    /// Writes the removals of events that ended while stopping (a graceful stop runs none of them again).
    public func flush() async {
        do { try await store.flush() } catch { count("hearth_async_store_errors_total", []) }
    }

    /// Adds events durably; when this returns they survive a crash.
    @discardableResult
    public func enqueue(_ new: [NewEvent], alongWith extra: QueueChange = QueueChange()) async throws -> [QueuedEvent] {
        var change = extra
        change.add = new
        let added = try await store.commit(change).events
        for (event, source) in zip(added, new) { adopt(event, payload: source.payload) }
        return added
    }

    /// One event from an Invoke (InvocationType Event): on disk when this returns, so its 202 may go.
    /// The dispatcher takes it up after, off the caller's path: the 202 waits for the commit's thread
    /// and no actor (the queue runs events by acceptance time, whichever is taken up first).
    public nonisolated func accept(_ event: NewEvent) async throws -> QueuedEvent {
        guard let queued = try await store.commit(QueueChange(add: [event])).events.first else {
            throw EventStoreError("the event queue gave no id to an event it stored")
        }
        Task { await self.adopt(queued, payload: event.payload) }
        return queued
    }

    /// An event just stored: tracked, its payload kept while the cache has room, started if it may.
    private func adopt(_ event: QueuedEvent, payload: [UInt8]) {
        if payloadBytes + payload.count <= options.payloadCacheBytes {
            payloads[event.id] = payload
            payloadBytes += payload.count
        }
        track(event)
        count("hearth_async_events_accepted_total", [("function", event.function)])
        pumpAndRearm()
    }

    public func failures(function: String?) async throws -> [FailedEvent] {
        try await store.failures(function: function)
    }

    /// Kept failures of `function` (those of `ids`, or all) sent back to their function as new events
    /// (`redrive`) or deleted, in one transaction; how many.
    public func settleFailures(function: String, ids: [Int64]?, redrive: Bool) async throws -> Int {
        var chosen = try await store.failures(function: function)
        if let ids { chosen = chosen.filter { ids.contains($0.id) } }
        guard !chosen.isEmpty else { return 0 }
        let now = clock()
        var change = QueueChange(removeFailures: chosen.map(\.id))
        if redrive {
            change.add = chosen.map { NewEvent(requestId: RequestIdentifiers.uuid(), function: $0.function, qualifier: $0.qualifier,
                                               payload: $0.payload, enqueuedAt: now) }
        }
        for event in try await store.commit(change).events { track(event) }
        pumpAndRearm()
        return chosen.count
    }

    public func stats() -> Stats {
        var stats = Stats()
        let now = clock()
        for tracked in events.values {
            let f = tracked.event.function
            if tracked.running { stats.running += 1; continue }
            stats.queued[f, default: 0] += 1
            stats.oldestAge[f] = max(stats.oldestAge[f] ?? 0, now - tracked.event.enqueuedAt)
        }
        return stats
    }

    /// Waits until no event is queued or running (tests).
    func drained() async {
        if events.isEmpty { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    /// Starts every due event that concurrency allows; when the next one is due, or nil when the rest
    /// wait for a running event to finish (its `finish` pumps again). A function's events held back by
    /// its learned limit are parked until one of its events finishes, so they never make the timer
    /// loop go round while they wait.
    @discardableResult
    func pump() -> Double? {
        guard !stopping else { return nil }
        let now = clock()
        while let next = due.min, next.at <= now {
            guard inFlight < options.maxInFlight else { return nil }
            _ = due.removeMin()
            guard var tracked = events[next.id], !tracked.running, tracked.event.notBefore == next.at else { continue }
            let function = tracked.event.function
            if let limit = learnedLimit[function], runningByFunction[function, default: 0] >= max(limit, 1) {
                heldBackChecks += 1
                parked[function, default: []].append(next)
                continue
            }
            tracked.running = true
            events[next.id] = tracked
            inFlight += 1
            runningByFunction[function, default: 0] += 1
            let event = tracked.event
            Task { await self.run(event) }
        }
        return due.min?.at
    }

    /// Pumps, and wakes the timer loop only when what is due next comes before the loop would wake.
    private func pumpAndRearm() {
        guard let next = pump(), sleeper != nil, next < sleepingUntil else { return }
        wake()
    }

    /// Puts back as many of `function`'s parked events as it has free slots now (all of them once it has
    /// no learned limit), oldest first; the rest stay parked without being looked at.
    private func unpark(_ function: String) {
        guard var waiting = parked.removeValue(forKey: function) else { return }
        var free = learnedLimit[function].map { max($0, 1) - runningByFunction[function, default: 0] } ?? waiting.count
        while free > 0, let entry = waiting.popFirst() {
            guard let tracked = events[entry.id], !tracked.running, tracked.event.notBefore == entry.at else { continue }
            due.insert(entry)
            free -= 1
        }
        if !waiting.isEmpty { parked[function] = waiting }
    }

    private func track(_ event: QueuedEvent) {
        events[event.id] = Tracked(event: event)
        due.insert(Due(at: event.notBefore, id: event.id))
    }

    /// One attempt of `event` (unless it may no longer run) and the recording of its outcome.
    private func run(_ event: QueuedEvent) async {
        let settings: AsyncSettings
        switch await invoker.asyncSettings(function: event.function, qualifier: event.qualifier) {
        case .found(let found): settings = found
        case .gone: return await finish(event, outcome: nil, decision: .dropped("the function is gone"), settings: AsyncSettings(), payload: [])
        case .unavailable(let why): return await waitAndRetry(event, because: why)
        }
        var payload = payloads[event.id]
        if payload == nil {
            // A read that fails is not the event's end: it waits and is read again (nothing acknowledged is lost).
            do { payload = try await store.payload(of: event.id) } catch { return await waitAndRetry(event, because: "\(error)") }
        }
        guard let payload else {
            return await finish(event, outcome: nil, decision: .dropped("its payload is gone"), settings: settings, payload: [])
        }
        if settings.reservedZero {
            return await finish(event, outcome: nil, decision: .failed(.zeroReservedConcurrency), settings: settings, payload: payload)
        }
        if options.rules.expired(event, settings: settings, now: clock()) {
            return await finish(event, outcome: nil, decision: .failed(.eventAgeExceeded), settings: settings, payload: payload)
        }
        count("hearth_async_attempts_total", [("function", event.function)])
        if event.attempts == 0, (events[event.id]?.backoffs ?? 0) == 0 {
            // From acceptance (before the sync) to the first attempt's start: what the queue adds to an invocation.
            time("hearth_async_start_delay_seconds", event.function, max(0, clock() - event.enqueuedAt))
        }
        let outcome = await invoker.invoke(function: event.function, qualifier: event.qualifier, requestId: event.requestId, payload: payload)
        var backoffs = 0
        switch outcome {
        case .throttled, .unavailable: backoffs = (events[event.id]?.backoffs ?? 0) + 1
        default: break
        }
        events[event.id]?.backoffs = backoffs
        let decision = options.rules.decide(event, outcome: outcome, settings: settings, backoffs: backoffs, now: clock())
        await finish(event, outcome: outcome, decision: decision, settings: settings, payload: payload)
    }

    /// What the queue could not read now: the event backs off as a throttle does (not an attempt).
    private func waitAndRetry(_ event: QueuedEvent, because why: String) async {
        let backoffs = (events[event.id]?.backoffs ?? 0) + 1
        events[event.id]?.backoffs = backoffs
        count("hearth_async_read_errors_total", [])
        let decision = options.rules.decide(event, outcome: .unavailable(why), settings: AsyncSettings(), backoffs: backoffs, now: clock())
        await finish(event, outcome: .unavailable(why), decision: decision, settings: AsyncSettings(), payload: [])
    }

    /// Records what became of `event` (one transaction), then updates the index.
    private func finish(_ event: QueuedEvent, outcome: AttemptOutcome?, decision: RetryRules.Decision, settings: AsyncSettings,
                        payload: [UInt8]) async {
        let now = clock()
        let function = event.function
        var tracked = events[event.id] ?? Tracked(event: event)

        var change = QueueChange()
        var next = event
        var keep = true
        switch decision {
        case .succeeded:
            change.remove = [event.id]
            keep = false
            if case .success(let version, let result)? = outcome, let target = settings.onSuccess {
                next.attempts += 1
                let response = AttemptResponse(executedVersion: version, functionError: nil, payload: result)
                deliver(record(next, payload, "Success", response, now), original: payload, to: target, event: next, dlq: false, into: &change)
            }
        case .retry(let at, let attempts):
            next.attempts = attempts
            next.notBefore = at
            next.lastResponse = outcome.flatMap(Self.response)
            change.reschedule = [.init(id: event.id, notBefore: at, attempts: attempts, lastResponse: next.lastResponse)]
            count("hearth_async_retries_total", [("function", function)])
        case .backOff(let at):
            // Not an attempt: nothing to write (a crash runs it again at once, which is what it waits for).
            next.notBefore = at
        case .failed(let condition):
            change.remove = [event.id]
            keep = false
            if case .functionError? = outcome { next.attempts += 1 }
            let response = outcome.flatMap(Self.response) ?? event.lastResponse
            failure(next, payload: payload, condition: condition, response: response, settings: settings, now: now, into: &change)
            count("hearth_async_failures_total", [("function", function), ("condition", condition.rawValue)])
        case .dropped:
            change.remove = [event.id]
            keep = false
            count("hearth_async_dropped_total", [("function", function), ("reason", "function_deleted")])
        }

        if stopping, !(decision == .succeeded) {
            // Leave the stored event as it is: it runs again after the restart.
            change = QueueChange()
            keep = false
        }
        var added = QueueCommit()
        if change.onlyRemovesEvents {
            store.removeLater(change.remove)
        } else if !change.isEmpty {
            do {
                added = try await store.commit(change)
            } catch {
                // Not recorded: the event stays queued as it was and runs again after a backoff.
                next = event
                next.notBefore = now + options.rules.backoffBase
                keep = !stopping
                count("hearth_async_store_errors_total", [])
            }
        }

        inFlight -= 1
        let busy = runningByFunction[function, default: 1] - 1
        runningByFunction[function] = busy > 0 ? busy : nil
        if case .throttled? = outcome {
            learnedLimit[function] = busy
            count("hearth_async_throttles_total", [("function", function)])
        } else if let limit = learnedLimit[function], busy + 1 >= limit {
            // It ran at the cap without a throttle: one more may fit. Below the cap there is nothing to learn.
            learnedLimit[function] = limit + 1 > options.maxInFlight ? nil : limit + 1
        }
        if keep {
            tracked.event = next
            tracked.running = false
            events[event.id] = tracked
            due.insert(Due(at: next.notBefore, id: event.id))
        } else {
            events[event.id] = nil
            if let bytes = payloads.removeValue(forKey: event.id) { payloadBytes -= bytes.count }
        }
        unpark(function)
        for event in added.events { track(event) }
        if !added.deliveries.isEmpty { await deliveries?.add(added.deliveries) }
        pumpAndRearm()
        if events.isEmpty {
            for waiter in idleWaiters { waiter.resume() }
            idleWaiters = []
        }
    }

    private static func response(_ outcome: AttemptOutcome) -> AttemptResponse? {
        switch outcome {
        case .success(let version, let payload): AttemptResponse(executedVersion: version, functionError: nil, payload: payload)
        case .functionError(let version, let document): AttemptResponse(executedVersion: version, functionError: "Unhandled", payload: document)
        default: nil
        }
    }

    private func record(_ event: QueuedEvent, _ payload: [UInt8], _ condition: String, _ response: AttemptResponse?, _ now: Double) -> [UInt8] {
        DestinationRecord.make(event: event, payload: payload, functionARN: invoker.functionARN(event.function, qualifier: event.qualifier ?? "$LATEST"),
                               condition: condition, response: response, now: now)
    }

    /// Failure handling: the record to the on-failure destination, the event to the dead-letter queue;
    /// with neither (or one Hearth cannot reach), the failure is kept for `hearth events`.
    private func failure(_ event: QueuedEvent, payload: [UInt8], condition: RetryRules.FailureCondition, response: AttemptResponse?,
                         settings: AsyncSettings, now: Double, into change: inout QueueChange) {
        let record = record(event, payload, condition.rawValue, response, now)
        if let target = settings.onFailure { deliver(record, original: payload, to: target, event: event, dlq: false, into: &change) }
        if let target = settings.deadLetter {
            deliver(record, original: payload, to: target, event: event, dlq: true, into: &change,
                    attributes: Self.deadLetterAttributes(event, response: response))
        }
        if settings.onFailure == nil, settings.deadLetter == nil {
            change.fail.append(FailedEvent(id: 0, requestId: event.requestId, function: event.function, qualifier: event.qualifier, payload: payload,
                                           record: record, reason: "no destination or dead-letter queue is configured", failedAt: now))
        }
    }

    /// What a dead-letter queue's message carries besides the event (lambda-api.md §6): the request id, the
    /// status (200: the function ran and failed) and the first 1 KB of the error message.
    static func deadLetterAttributes(_ event: QueuedEvent, response: AttemptResponse?) -> [MessageAttribute] {
        let document = response.flatMap { try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any] }
        let message = (document?["errorMessage"] as? String) ?? (response == nil ? "The event was not run" : "")
        return [MessageAttribute(name: "RequestID", dataType: "String", value: event.requestId),
                MessageAttribute(name: "ErrorCode", dataType: "Number", value: "200"),
                MessageAttribute(name: "ErrorMessage", dataType: "String", value: String(decoding: message.utf8.prefix(1024), as: UTF8.self))]
    }

    /// Sends a record (or, for a dead-letter queue, the original event) to `target`. A function gets it
    /// as a new event, an SQS queue as a delivery, both in the same transaction; a target Hearth cannot
    /// reach keeps it as a failure.
    private func deliver(_ record: [UInt8], original: [UInt8], to target: String, event: QueuedEvent, dlq: Bool,
                         into change: inout QueueChange, attributes: [MessageAttribute] = []) {
        let now = clock()
        if let function = DestinationTarget.function(target) {
            change.add.append(NewEvent(requestId: RequestIdentifiers.uuid(), function: function.name, qualifier: function.qualifier,
                                       payload: dlq ? original : record, enqueuedAt: now))
            count("hearth_async_destination_deliveries_total", [("function", event.function)])
            return
        }
        let refusal = sender.map { $0.refusal(for: target) } ?? "no endpoint for its service is configured"
        if refusal == nil {
            change.deliver.append(Delivery(id: 0, function: event.function, requestId: event.requestId, target: target, body: dlq ? original : record,
                                           attributes: attributes, payload: original, notBefore: now))
            return
        }
        change.fail.append(FailedEvent(id: 0, requestId: event.requestId, function: event.function, qualifier: event.qualifier, payload: original,
                                       record: record, reason: "Hearth cannot deliver to \(target): \(refusal ?? "")", failedAt: now))
        count("hearth_async_destination_failures_total", [("function", event.function)])
    }

    // MARK: the timer loop

    /// Rounds of the timer loop so far (tests: a loop that spins shows here).
    private(set) var loopRounds = 0
    /// Due events found held back by their function's learned limit (tests: re-examining them all on
    /// every finish shows here).
    private(set) var heldBackChecks = 0

    private func runLoop() async {
        while !Task.isCancelled && !stopping {
            loopRounds += 1
            let next = pump()
            let delay = min(next.map { max(0, $0 - clock()) } ?? 3600, 3600)
            sleepingUntil = clock() + delay
            await sleep(delay)
        }
    }

    /// Sleeps `seconds` of the dispatcher's clock, or until `wake`.
    private func sleep(_ seconds: Double) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            sleeper = continuation
            timer = Task {
                try? await Task.sleep(nanoseconds: UInt64(seconds / max(self.options.pace, 1e-6) * 1e9))
                // Cancelled: the loop was woken already, and may be asleep again on a new timer.
                guard !Task.isCancelled else { return }
                self.wake()
            }
        }
    }

    private func wake() {
        guard let sleeper else { return }
        self.sleeper = nil
        timer?.cancel()
        sleeper.resume()
    }
}

/// A destination ARN as the dispatcher sends to it.
enum DestinationTarget {
    /// arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    static func function(_ arn: String) -> (name: String, qualifier: String?)? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 7 || parts.count == 8, parts[0] == "arn", parts[2] == "lambda", parts[5] == "function", !parts[6].isEmpty else {
            return nil
        }
        return (parts[6], parts.count == 8 ? parts[7] : nil)
    }
}
