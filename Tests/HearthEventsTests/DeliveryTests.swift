import XCTest
@testable import HearthEvents

/// A sender that fails its first `failures` sends of each target, recording what it was given.
actor FakeSender: DestinationSender {
    private(set) var sent: [Delivery] = []
    private(set) var tries = 0
    private let failures: Int
    init(failures: Int = 0) { self.failures = failures }

    nonisolated func refusal(for target: String) -> String? { target.hasPrefix("arn:aws:sqs:") ? nil : "only SQS queues" }

    func send(_ delivery: Delivery) async throws {
        tries += 1
        if tries <= failures { throw SQSTestError.down }
        sent.append(delivery)
    }
}

enum SQSTestError: Error { case down }

final class DeliveryTests: XCTestCase {
    var dir = ""
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    let fast = RetryRules(retryDelays: [0, 0], backoffBase: 0, backoffMax: 0)
    let error = AttemptOutcome.functionError(executedVersion: "$LATEST", document: Array(#"{"errorMessage":"boom","errorType":"Exception"}"#.utf8))

    func dispatcher(_ invoker: FakeInvoker, sender: FakeSender, clock: ManualClock) throws -> (EventDispatcher, SQLiteEventStore) {
        let (store, dir) = try temporaryStore()
        self.dir = dir
        var options = EventDispatcher.Options()
        options.rules = fast
        return (EventDispatcher(store: store, invoker: invoker, sender: sender, options: options, clock: { clock.now }), store)
    }

    /// The dead-letter queue gets the event itself with Lambda's attributes; the on-failure queue gets the record.
    func testAFailedEventReachesItsDeadLetterQueueAndItsOnFailureQueue() async throws {
        let invoker = FakeInvoker(), clock = ManualClock(), sender = FakeSender()
        let error = self.error
        await invoker.set("f", settings: AsyncSettings(maximumRetryAttempts: 1, onFailure: "arn:aws:sqs:us-east-1:000000000000:records",
                                                       deadLetter: "arn:aws:sqs:us-east-1:000000000000:dlq")) { _ in error }
        let (dispatcher, store) = try dispatcher(invoker, sender: sender, clock: clock)
        let accepted = try await dispatcher.enqueue([event("f", #"{"order":1}"#, at: clock.now)])
        await dispatcher.drained()
        await dispatcher.deliveries?.drained()
        let sent = await sender.sent
        XCTAssertEqual(Set(sent.map(\.target)), ["arn:aws:sqs:us-east-1:000000000000:records", "arn:aws:sqs:us-east-1:000000000000:dlq"])
        let dlq = try XCTUnwrap(sent.first { $0.target.hasSuffix(":dlq") })
        XCTAssertEqual(dlq.body, Array(#"{"order":1}"#.utf8), "a dead-letter queue gets the event as it was sent")
        XCTAssertEqual(dlq.attributes, [MessageAttribute(name: "RequestID", dataType: "String", value: accepted[0].requestId),
                                        MessageAttribute(name: "ErrorCode", dataType: "Number", value: "200"),
                                        MessageAttribute(name: "ErrorMessage", dataType: "String", value: "boom")])
        let record = json(try XCTUnwrap(sent.first { $0.target.hasSuffix(":records") }).body)
        XCTAssertEqual((record["requestContext"] as? [String: Any])?["approximateInvokeCount"] as? Int, 2)
        let pending = try await store.pendingDeliveries()
        XCTAssertEqual(pending, [], "sent deliveries are removed")
    }

    /// A target that is down is tried again; one that never answers ends as a kept failure naming why.
    func testAnUnreachableTargetIsRetriedThenKept() async throws {
        let invoker = FakeInvoker(), clock = ManualClock()
        let error = self.error
        let flaky = FakeSender(failures: 3)
        await invoker.set("f", settings: AsyncSettings(maximumRetryAttempts: 0, deadLetter: "arn:aws:sqs:us-east-1:000000000000:dlq")) { _ in error }
        var (dispatcher, store) = try self.dispatcher(invoker, sender: flaky, clock: clock)
        try await dispatcher.enqueue([event("f", at: clock.now)])
        await dispatcher.drained()
        await dispatcher.deliveries?.drained()
        let tries = await flaky.tries
        let sent = await flaky.sent
        XCTAssertEqual(tries, 4)
        XCTAssertEqual(sent.count, 1)

        let dead = FakeSender(failures: 1000)
        (dispatcher, store) = try self.dispatcher(invoker, sender: dead, clock: clock)
        try await dispatcher.enqueue([event("f", at: clock.now)])
        await dispatcher.drained()
        await dispatcher.deliveries?.drained()
        let deadTries = await dead.tries
        XCTAssertEqual(deadTries, DeliveryWorker.maxAttempts)
        let failures = try await store.failures(function: "f")
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures[0].reason.hasPrefix("delivery to arn:aws:sqs:us-east-1:000000000000:dlq failed 10 times"), failures[0].reason)
    }

    /// A delivery written before a crash is sent by the next daemon.
    func testUnsentDeliveriesSurviveARestart() async throws {
        let (store, dir) = try temporaryStore()
        self.dir = dir
        let delivery = Delivery(id: 0, function: "f", requestId: "r", target: "arn:aws:sqs:us-east-1:000000000000:q", body: Array("{}".utf8),
                                attributes: [MessageAttribute(name: "RequestID", dataType: "String", value: "r")], payload: Array("{}".utf8),
                                notBefore: 0)
        var change = QueueChange()
        change.deliver = [delivery]
        let committed = try await store.commit(change)
        let reopened = try SQLiteEventStore(path: dir + "/events.db")
        let pending = try await reopened.pendingDeliveries()
        XCTAssertEqual(pending.map(\.id), committed.deliveries.map(\.id))
        XCTAssertEqual(pending.first?.attributes, delivery.attributes)
        let sender = FakeSender()
        let worker = DeliveryWorker(store: reopened, sender: sender, rules: fast)
        try await worker.start()
        await worker.drained()
        let sent = await sender.sent
        XCTAssertEqual(sent.map(\.requestId), ["r"])
        let left = try await reopened.pendingDeliveries()
        XCTAssertEqual(left, [])
    }
}
