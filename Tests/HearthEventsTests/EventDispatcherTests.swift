import XCTest
@testable import HearthEvents

final class EventDispatcherTests: XCTestCase {
    var dir = ""
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func make(_ invoker: FakeInvoker, clock: ManualClock, rules: RetryRules = RetryRules(retryDelays: [0, 0], backoffBase: 0, backoffMax: 0))
        throws -> (EventDispatcher, SQLiteEventStore) {
        let (store, dir) = try temporaryStore()
        self.dir = dir
        var options = EventDispatcher.Options()
        options.rules = rules
        return (EventDispatcher(store: store, invoker: invoker, options: options, clock: { clock.now }), store)
    }

    let error = AttemptOutcome.functionError(executedVersion: "$LATEST", document: Array(#"{"errorMessage":"boom","errorType":"Exception"}"#.utf8))

    func testAnEventThatFailsTwiceThenSucceedsRunsThreeTimesAndIsGone() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        let error = self.error
        await invoker.set("f") { n in n < 3 ? error : .success(executedVersion: "$LATEST", payload: Array("1".utf8)) }
        let (dispatcher, store) = try make(invoker, clock: clock)
        try await dispatcher.enqueue([event("f", at: clock.now)])
        await dispatcher.drained()
        let attempts = await invoker.attempts["f"]
        XCTAssertEqual(attempts, 3)
        let left = try await store.queuedEvents()
        XCTAssertEqual(left, [])
        let failures = try await store.failures(function: nil)
        XCTAssertEqual(failures, [])
    }

    func testExhaustedRetriesReachTheOnFailureFunctionWithLambdasRecord() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        let error = self.error
        let target = invoker.functionARN("failures", qualifier: nil)
        await invoker.set("f", settings: AsyncSettings(onFailure: target)) { _ in error }
        await invoker.set("failures") { _ in .success(executedVersion: "$LATEST", payload: []) }
        let (dispatcher, _) = try make(invoker, clock: clock)
        let accepted = try await dispatcher.enqueue([event("f", #"{"order":7}"#, at: clock.now)])
        await dispatcher.drained()
        let attempts = await invoker.attempts["f"]
        XCTAssertEqual(attempts, 3)
        let delivered = await invoker.payloads["failures"] ?? []
        XCTAssertEqual(delivered.count, 1)
        let record = json(delivered.first ?? [])
        let context = record["requestContext"] as? [String: Any]
        XCTAssertEqual(record["version"] as? String, "1.0")
        XCTAssertEqual(context?["condition"] as? String, "RetriesExhausted")
        XCTAssertEqual(context?["approximateInvokeCount"] as? Int, 3)
        XCTAssertEqual(context?["requestId"] as? String, accepted[0].requestId)
        XCTAssertEqual(context?["functionArn"] as? String, invoker.functionARN("f", qualifier: "$LATEST"))
        XCTAssertEqual((record["requestPayload"] as? [String: Any])?["order"] as? Int, 7)
        XCTAssertEqual((record["responseContext"] as? [String: Any])?["functionError"] as? String, "Unhandled")
        XCTAssertEqual((record["responsePayload"] as? [String: Any])?["errorMessage"] as? String, "boom")
    }

    func testASuccessRecordReachesTheOnSuccessFunction() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        await invoker.set("f", settings: AsyncSettings(onSuccess: invoker.functionARN("audit", qualifier: "live"))) { _ in
            .success(executedVersion: "3", payload: Array(#"{"ok":true}"#.utf8))
        }
        await invoker.set("audit") { _ in .success(executedVersion: "1", payload: []) }
        let (dispatcher, _) = try make(invoker, clock: clock)
        try await dispatcher.enqueue([event("f", at: clock.now)])
        await dispatcher.drained()
        let record = json(await invoker.payloads["audit"]?.first ?? [])
        XCTAssertEqual((record["requestContext"] as? [String: Any])?["condition"] as? String, "Success")
        XCTAssertEqual((record["requestContext"] as? [String: Any])?["approximateInvokeCount"] as? Int, 1)
        XCTAssertEqual((record["responseContext"] as? [String: Any])?["executedVersion"] as? String, "3")
        XCTAssertNil((record["responseContext"] as? [String: Any])?["functionError"])
        XCTAssertEqual((record["responsePayload"] as? [String: Any])?["ok"] as? Bool, true)
    }

    func testFailuresWithNowhereToGoAreKeptWithTheirReason() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        let error = self.error
        await invoker.set("f", settings: AsyncSettings(maximumRetryAttempts: 0)) { _ in error }
        await invoker.set("sqs", settings: AsyncSettings(maximumRetryAttempts: 0, deadLetter: "arn:aws:sqs:us-east-1:000000000000:dlq")) { _ in error }
        let (dispatcher, store) = try make(invoker, clock: clock)
        try await dispatcher.enqueue([event("f", at: clock.now), event("sqs", at: clock.now)])
        await dispatcher.drained()
        let attempts = await invoker.attempts
        XCTAssertEqual(attempts, ["f": 1, "sqs": 1])
        // The two ran at once: their failures are kept in whichever order they ended.
        let failures = try await store.failures(function: nil).sorted { $0.function < $1.function }
        XCTAssertEqual(failures.map(\.function), ["f", "sqs"])
        XCTAssertEqual(failures[0].reason, "no destination or dead-letter queue is configured")
        XCTAssertTrue(failures[1].reason.contains("arn:aws:sqs:us-east-1:000000000000:dlq"), failures[1].reason)
        XCTAssertEqual((json(failures[0].record)["requestContext"] as? [String: Any])?["condition"] as? String, "RetriesExhausted")
    }

    func testReservedConcurrencyZeroSendsEventsStraightToFailureHandling() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        await invoker.set("f", settings: AsyncSettings(reservedZero: true)) { _ in .success(executedVersion: "$LATEST", payload: []) }
        let (dispatcher, store) = try make(invoker, clock: clock)
        try await dispatcher.enqueue([event("f", at: clock.now)])
        await dispatcher.drained()
        let attempts = await invoker.attempts["f"]
        XCTAssertNil(attempts)
        let failures = try await store.failures(function: "f")
        XCTAssertEqual((json(failures.first?.record ?? [])["requestContext"] as? [String: Any])?["condition"] as? String, "ZeroReservedConcurrency")
    }

    func testAnEventOlderThanItsMaximumAgeIsNotRunAndFailsWithEventAgeExceeded() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        await invoker.set("f", settings: AsyncSettings(maximumEventAgeSeconds: 60)) { _ in .success(executedVersion: "$LATEST", payload: []) }
        let (dispatcher, store) = try make(invoker, clock: clock)
        _ = try await store.commit(QueueChange(add: [event("f", at: clock.now - 61)]))
        try await dispatcher.load()
        await dispatcher.pump()
        await dispatcher.drained()
        let attempts = await invoker.attempts["f"]
        XCTAssertNil(attempts)
        let failures = try await store.failures(function: "f")
        let context = json(failures.first?.record ?? [])["requestContext"] as? [String: Any]
        XCTAssertEqual(context?["condition"] as? String, "EventAgeExceeded")
        XCTAssertEqual(context?["approximateInvokeCount"] as? Int, 0)
    }

    /// Ten events to a function that runs one at a time: each runs exactly once, and throttles are not attempts.
    func testEventsSentWhileThrottledAllRunOnceConcurrencyFrees() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        await invoker.set("f", capacity: 1) { _ in .success(executedVersion: "$LATEST", payload: []) }
        await invoker.setHold(0.01)
        let (dispatcher, store) = try make(invoker, clock: clock, rules: RetryRules(retryDelays: [0, 0], backoffBase: 0.0, backoffMax: 0))
        try await dispatcher.enqueue((0..<10).map { event("f", "\($0)", at: clock.now) })
        await dispatcher.drained()
        let payloads = await invoker.payloads["f"] ?? []
        XCTAssertEqual(payloads.map { String(decoding: $0, as: UTF8.self) }.sorted(), (0..<10).map(String.init).sorted())
        let left = try await store.queuedEvents()
        XCTAssertEqual(left, [])
    }

    /// A retry waits for its delay on the dispatcher's clock, and a new dispatcher resumes what the store holds.
    func testARetryWaitsForItsDelayAndARestartResumesTheQueue() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        let error = self.error
        await invoker.set("f") { n in n == 1 ? error : .success(executedVersion: "$LATEST", payload: []) }
        let (dispatcher, store) = try make(invoker, clock: clock, rules: RetryRules())
        try await dispatcher.enqueue([event("f", at: clock.now)])
        try await Task.sleep(nanoseconds: 50_000_000)
        var queued = try await store.queuedEvents()
        XCTAssertEqual(queued.first?.attempts, 1)
        XCTAssertEqual(queued.first?.notBefore, clock.now + 60)
        await dispatcher.stop()

        // A second daemon, 61 s later: it loads the event, runs it once, and it is gone.
        clock.advance(61)
        var options = EventDispatcher.Options()
        options.rules = RetryRules()
        let restarted = EventDispatcher(store: store, invoker: invoker, options: options, clock: { clock.now })
        try await restarted.load()
        await restarted.pump()
        await restarted.drained()
        let attempts = await invoker.attempts["f"]
        XCTAssertEqual(attempts, 2)
        queued = try await store.queuedEvents()
        XCTAssertEqual(queued, [])
    }

    func testAnEventOfADeletedFunctionIsDropped() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        let (dispatcher, store) = try make(invoker, clock: clock)
        try await dispatcher.enqueue([event("gone", at: clock.now)])
        await dispatcher.drained()
        let left = try await store.queuedEvents()
        let failures = try await store.failures(function: nil)
        XCTAssertEqual(left, [])
        XCTAssertEqual(failures, [])
    }
}

/// A store whose payload reads fail the first `failures` times, as a disk error would.
final class FlakyPayloadStore: EventStore, @unchecked Sendable {
    let inner: SQLiteEventStore
    private let lock = NSLock()
    private var failures: Int
    init(_ inner: SQLiteEventStore, failures: Int) {
        self.inner = inner
        self.failures = failures
    }
    func commit(_ change: QueueChange) async throws -> QueueCommit { try await inner.commit(change) }
    func queuedEvents() async throws -> [QueuedEvent] { try await inner.queuedEvents() }
    func removeLater(_ ids: [Int64]) { inner.removeLater(ids) }
    func flush() async throws { try await inner.flush() }
    func pendingDeliveries() async throws -> [Delivery] { try await inner.pendingDeliveries() }
    func failures(function: String?) async throws -> [FailedEvent] { try await inner.failures(function: function) }
    func payload(of id: Int64) async throws -> [UInt8]? {
        let fail = lock.withLock { () -> Bool in
            defer { failures -= 1 }
            return failures > 0
        }
        if fail { throw EventStoreError("disk error") }
        return try await inner.payload(of: id)
    }
}

final class EventDispatcherReadErrorTests: XCTestCase {
    var dir = ""
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A payload that cannot be read now is read again later: the event is not lost.
    func testAPayloadReadErrorBacksOffInsteadOfDroppingTheEvent() async throws {
        let (inner, dir) = try temporaryStore()
        self.dir = dir
        let store = FlakyPayloadStore(inner, failures: 2)
        let invoker = FakeInvoker(), clock = ManualClock()
        await invoker.set("f") { _ in .success(executedVersion: "$LATEST", payload: []) }
        // Written by an earlier daemon: no payload in memory, so the first attempt reads it.
        _ = try await inner.commit(QueueChange(add: [event("f", "[1]", at: clock.now)]))
        var options = EventDispatcher.Options()
        options.rules = RetryRules(retryDelays: [0, 0], backoffBase: 0, backoffMax: 0)
        let dispatcher = EventDispatcher(store: store, invoker: invoker, options: options, clock: { clock.now })
        try await dispatcher.load()
        await dispatcher.pump()
        await dispatcher.drained()
        let payloads = await invoker.payloads["f"]
        XCTAssertEqual(payloads, [Array("[1]".utf8)], "the event ran once its payload could be read")
    }

    /// Settings that cannot be read now (the registry's database busy or failing) are read again later.
    func testASettingsReadErrorBacksOffInsteadOfDroppingTheEvent() async throws {
        let (store, dir) = try temporaryStore()
        self.dir = dir
        let invoker = FakeInvoker(), clock = ManualClock()
        await invoker.set("f") { _ in .success(executedVersion: "$LATEST", payload: []) }
        await invoker.failSettings(2)
        var options = EventDispatcher.Options()
        options.rules = RetryRules(retryDelays: [0, 0], backoffBase: 0, backoffMax: 0)
        let dispatcher = EventDispatcher(store: store, invoker: invoker, options: options, clock: { clock.now })
        try await dispatcher.enqueue([event("f", at: clock.now)])
        await dispatcher.drained()
        let attempts = await invoker.attempts["f"]
        XCTAssertEqual(attempts, 1)
    }
}

extension EventDispatcherTests {
    /// Events held back by a function's learned limit wait for one of its events to finish; the timer
    /// loop does not spin meanwhile (it once went round as fast as it could while a throttled
    /// function's events were due and held back).
    func testEventsHeldBackByAThrottleDoNotSpinTheTimerLoop() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        await invoker.set("f", capacity: 1) { _ in .success(executedVersion: "$LATEST", payload: []) }
        await invoker.setHold(0.5)
        let (dispatcher, _) = try make(invoker, clock: clock, rules: RetryRules(retryDelays: [0, 0], backoffBase: 0, backoffMax: 0))
        try await dispatcher.start()
        try await dispatcher.enqueue((0..<3).map { event("f", "\($0)", at: clock.now) })
        try await Task.sleep(nanoseconds: 400_000_000)
        let rounds = await dispatcher.loopRounds
        await dispatcher.drained()
        await dispatcher.stop()
        let attempts = await invoker.attempts["f"]
        XCTAssertEqual(attempts, 3, "each event ran once")
        XCTAssertLessThan(rounds, 20, "the timer loop went round \(rounds) times in 0.4 s while two events were held back")
    }

    /// Events waiting for a throttled function are looked at about once each, not all of them again
    /// each time one of the function's events finishes: a queue of thousands once drained at ~230
    /// events/s in `scripts/bench async`, the dispatcher's actor busy re-parking them.
    func testEventsHeldBackByAThrottleAreNotAllLookedAtAgainOnEachFinish() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        await invoker.set("f", capacity: 2) { _ in .success(executedVersion: "$LATEST", payload: []) }
        await invoker.setHold(0.000_2)
        let (dispatcher, _) = try make(invoker, clock: clock, rules: RetryRules(retryDelays: [0, 0], backoffBase: 0, backoffMax: 0))
        let count = 400
        try await dispatcher.enqueue((0..<count).map { event("f", "\($0)", at: clock.now) })
        await dispatcher.drained()
        let attempts = await invoker.attempts["f"], heldBack = await dispatcher.heldBackChecks
        XCTAssertEqual(attempts, count, "each event ran once")
        XCTAssertLessThan(heldBack, 4 * count, "\(heldBack) looks at held-back events for \(count) events")
    }
}
