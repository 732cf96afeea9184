import Foundation
@testable import HearthEvents
import XCTest

/// Schedules firing on the dispatcher's queue, with the clock the test moves.
final class ScheduleRunnerTests: XCTestCase {
    var dir = ""
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func iso(_ text: String) -> Double { ISO8601DateFormatter().date(from: text)!.timeIntervalSince1970 }

    func make(_ clock: ManualClock) async throws -> (ScheduleRunner, EventDispatcher, SQLiteEventStore, FakeInvoker) {
        let (store, dir) = try temporaryStore()
        self.dir = dir
        let invoker = FakeInvoker()
        await invoker.set("job") { _ in .success(executedVersion: "$LATEST", payload: []) }
        var options = EventDispatcher.Options()
        options.rules = RetryRules(retryDelays: [0, 0], backoffBase: 0, backoffMax: 0)
        let dispatcher = EventDispatcher(store: store, invoker: invoker, options: options, clock: { clock.now })
        return (ScheduleRunner(store: store, dispatcher: dispatcher, clock: { clock.now }), dispatcher, store, invoker)
    }

    func record(_ expression: String, name: String = "s", zone: String = "UTC", input: String? = nil, after: String = "NONE",
                created: Double) -> ScheduleRecord {
        ScheduleRecord(name: name, groupName: "default", expression: expression, timezone: zone, actionAfterCompletion: after,
                       target: .init(arn: "arn:aws:lambda:us-east-1:000000000000:function:job", roleArn: "arn:aws:iam::000000000000:role/r", input: input),
                       creationDate: created, lastModificationDate: created)
    }

    func testARateScheduleFiresAtOnceThenEveryPeriodWithItsInput() async throws {
        let clock = ManualClock(iso("2026-03-01T10:00:00Z"))
        let (runner, dispatcher, _, invoker) = try await make(clock)
        try await runner.put(record("rate(1 minute)", input: #"{"tick":true}"#, created: clock.now), create: true)
        await dispatcher.drained()
        var payloads = await invoker.payloads["job"] ?? []
        XCTAssertEqual(payloads, [Array(#"{"tick":true}"#.utf8)], "a rate schedule without a start date fires at once")
        clock.advance(59)
        await runner.fireDue(catchingUp: false)
        payloads = await invoker.payloads["job"] ?? []
        XCTAssertEqual(payloads.count, 1, "not before its minute")
        clock.advance(1)
        await runner.fireDue(catchingUp: false)
        await dispatcher.drained()
        payloads = await invoker.payloads["job"] ?? []
        XCTAssertEqual(payloads.count, 2)
        do {
            try await runner.put(record("rate(1 minute)", created: clock.now), create: true)
            XCTFail("a second create of the same name is refused")
        } catch {
            XCTAssertEqual(error.type, "ConflictException")
        }
    }

    /// EventBridge Scheduler's context attributes in a target's input: the schedule's ARN, the time it
    /// was due (even when it runs late), a fire id, the attempt.
    func testContextAttributesAreFilledIn() async throws {
        let clock = ManualClock(iso("2026-03-01T10:00:00Z"))
        let (runner, dispatcher, _, invoker) = try await make(clock)
        let input = #"{"arn":"<aws.scheduler.schedule-arn>","at":"<aws.scheduler.scheduled-time>","id":"<aws.scheduler.execution-id>","n":"<aws.scheduler.attempt-number>"}"#
        try await runner.put(record("cron(0 11 * * ? *)", input: input, created: clock.now), create: true)
        clock.advance(3600 + 7)  // seven seconds late
        await runner.fireDue(catchingUp: false)
        await dispatcher.drained()
        let payloads = await invoker.payloads["job"]
        let payload = try XCTUnwrap(payloads?.first)
        let event = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: String])
        XCTAssertEqual(event["arn"], "arn:aws:scheduler:us-east-1:000000000000:schedule/default/s")
        XCTAssertEqual(event["at"], "2026-03-01T11:00:00Z", "the time it was due")
        XCTAssertEqual(event["id"]?.count, 16)
        XCTAssertEqual(event["n"], "1")
        XCTAssertEqual(ScheduleRunner.input(record("rate(1 minute)", input: #"{"plain":1}"#, created: 0), key: ScheduleKey(group: "default", name: "s"),
                                            scheduledAt: 0, region: "eu-west-1"), #"{"plain":1}"#, "input without attributes is sent as it is")
    }

    /// cron(30 2 * * ? *) in New York: on 2026-03-08 02:30 does not exist, so that day has no fire; the
    /// stored next fire moves from the 7th to the 9th.
    func testACronInANonUTCZoneSkipsTheDayWhoseTimeDoesNotExist() async throws {
        let clock = ManualClock(iso("2026-03-07T05:00:00Z"))
        let (runner, dispatcher, store, invoker) = try await make(clock)
        try await runner.put(record("cron(30 2 * * ? *)", zone: "America/New_York", created: clock.now), create: true)
        var next = try await store.schedules().first?.nextFire
        XCTAssertEqual(next, iso("2026-03-07T07:30:00Z"))
        clock.advance(3 * 3600)  // 08:00Z on the 7th
        await runner.fireDue(catchingUp: false)
        await dispatcher.drained()
        next = try await store.schedules().first?.nextFire
        XCTAssertEqual(next, iso("2026-03-09T06:30:00Z"), "no 02:30 on the 8th; 02:30 EDT on the 9th")
        let fired = await invoker.attempts["job"]
        XCTAssertEqual(fired, 1)
    }

    func testAOneTimeScheduleWithDeleteFiresOnceAndIsGone() async throws {
        let clock = ManualClock(iso("2026-07-04T13:00:00Z"))
        let (runner, dispatcher, store, invoker) = try await make(clock)
        try await runner.put(record("at(2026-07-04T09:30:00)", zone: "America/New_York", after: "DELETE", created: clock.now), create: true)
        clock.advance(1800)
        await runner.fireDue(catchingUp: false)
        await dispatcher.drained()
        let fired = await invoker.attempts["job"]
        XCTAssertEqual(fired, 1)
        let left = try await store.schedules()
        XCTAssertTrue(left.isEmpty, "ActionAfterCompletion DELETE removed it")
        let known = await runner.all()
        XCTAssertEqual(known, [])
    }

    /// A daemon that was down through several fires runs the last one once at start when it is recent
    /// enough, and none when it is older than the target's maximum event age.
    func testMissedFiresRunOnceAtStartOnlyWithinTheirWindow() async throws {
        let clock = ManualClock(iso("2026-03-01T10:00:00Z"))
        let (runner, dispatcher, store, invoker) = try await make(clock)
        var recent = record("rate(5 minutes)", name: "recent", created: clock.now)
        recent.target.maximumEventAgeInSeconds = 3600
        var stale = record("rate(5 minutes)", name: "stale", created: clock.now)
        stale.target.maximumEventAgeInSeconds = 60
        try await runner.put(recent, create: true)
        try await runner.put(stale, create: true)
        await dispatcher.drained()
        await runner.stop()
        var fired = await invoker.attempts["job"]
        XCTAssertEqual(fired, 2, "both fired when created")

        // Down for 20 minutes: four fires of each were missed.
        clock.advance(20 * 60 + 30)
        let restarted = ScheduleRunner(store: store, dispatcher: dispatcher, clock: { clock.now })
        try await restarted.start()
        await dispatcher.drained()
        fired = await invoker.attempts["job"]
        XCTAssertEqual(fired, 3, "the recent schedule ran once, the stale one not at all")
        let next = try await store.schedules().map { $0.nextFire }
        XCTAssertEqual(next, [iso("2026-03-01T10:25:00Z"), iso("2026-03-01T10:25:00Z")], "both go on from now")
        await restarted.stop()
    }
}
