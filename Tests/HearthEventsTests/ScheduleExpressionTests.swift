import Foundation
@testable import HearthEvents
import XCTest

/// Expressions as EventBridge Scheduler reads them, and their next fires across daylight-saving changes.
final class ScheduleExpressionTests: XCTestCase {
    let utc = TimeZone(identifier: "UTC")!
    let newYork = TimeZone(identifier: "America/New_York")!

    func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
    func iso(_ date: Date?) -> String? { date.map { ISO8601DateFormatter().string(from: $0) } }

    /// The next `count` fires after `start`.
    func fires(_ expression: String, after start: String, in zone: TimeZone, count: Int, anchor: String? = nil) throws -> [String] {
        let parsed = try ScheduleExpression.parse(expression)
        var out: [String] = [], after = date(start)
        let anchorDate = anchor.map(date) ?? after
        for _ in 0..<count {
            guard let next = parsed.next(after: after, timeZone: zone, anchor: anchorDate) else { break }
            out.append(iso(next) ?? "")
            after = next
        }
        return out
    }

    func testRatesFireAtTheirStartThenEveryPeriod() throws {
        XCTAssertEqual(try ScheduleExpression.parse("rate(5 minutes)"), .rate(seconds: 300))
        XCTAssertEqual(try ScheduleExpression.parse("rate(1 day)"), .rate(seconds: 86400))
        XCTAssertEqual(try fires("rate(1 minute)", after: "2026-03-01T10:00:30Z", in: utc, count: 3, anchor: "2026-03-01T10:00:00Z"),
                       ["2026-03-01T10:01:00Z", "2026-03-01T10:02:00Z", "2026-03-01T10:03:00Z"])
        // A start date in the future is the first fire.
        XCTAssertEqual(try fires("rate(2 hours)", after: "2026-03-01T10:00:00Z", in: utc, count: 2, anchor: "2026-03-02T00:00:00Z"),
                       ["2026-03-02T00:00:00Z", "2026-03-02T02:00:00Z"])
        // A day is 24 hours, across the spring change too.
        XCTAssertEqual(try fires("rate(1 day)", after: "2026-03-07T12:00:00Z", in: newYork, count: 2, anchor: "2026-03-07T12:00:00Z"),
                       ["2026-03-08T12:00:00Z", "2026-03-09T12:00:00Z"])
    }

    func testCronInATimeZoneAcrossTheSpringChangeSkipsTheMissingHour() throws {
        // 02:30 every day in New York: on 2026-03-08 the clock goes from 02:00 to 03:00, so that day has none.
        XCTAssertEqual(try fires("cron(30 2 * * ? *)", after: "2026-03-06T12:00:00Z", in: newYork, count: 3),
                       ["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"])
        // 09:00 on weekdays keeps its local time: 14:00 UTC before, 13:00 after.
        XCTAssertEqual(try fires("cron(0 9 ? * MON-FRI *)", after: "2026-03-05T00:00:00Z", in: newYork, count: 3),
                       ["2026-03-05T14:00:00Z", "2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z"])
    }

    func testCronAcrossTheAutumnChangeFiresTheRepeatedHourOnce() throws {
        // Every hour at :30 in New York: 01:30 happens twice on 2026-11-01 (EDT, then EST); it fires once.
        XCTAssertEqual(try fires("cron(30 * * * ? *)", after: "2026-11-01T04:00:00Z", in: newYork, count: 4),
                       ["2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:30:00Z", "2026-11-01T08:30:00Z"])
    }

    func testCronDayForms() throws {
        // The last day of the month, the last Friday, the second Tuesday, the weekday nearest the 15th, the last weekday.
        XCTAssertEqual(try fires("cron(0 12 L * ? 2026)", after: "2026-01-01T00:00:00Z", in: utc, count: 2),
                       ["2026-01-31T12:00:00Z", "2026-02-28T12:00:00Z"])
        XCTAssertEqual(try fires("cron(0 12 ? * 6L 2026)", after: "2026-01-01T00:00:00Z", in: utc, count: 2),
                       ["2026-01-30T12:00:00Z", "2026-02-27T12:00:00Z"])
        XCTAssertEqual(try fires("cron(0 12 ? * TUE#2 *)", after: "2026-01-01T00:00:00Z", in: utc, count: 2),
                       ["2026-01-13T12:00:00Z", "2026-02-10T12:00:00Z"])
        // 2026-02-15 is a Sunday: the Monday after; 2026-03-15 is a Sunday too.
        XCTAssertEqual(try fires("cron(0 12 15W * ? *)", after: "2026-02-01T00:00:00Z", in: utc, count: 2),
                       ["2026-02-16T12:00:00Z", "2026-03-16T12:00:00Z"])
        // 2026-05-31 is a Sunday: the last weekday is Friday the 29th.
        XCTAssertEqual(try fires("cron(0 12 LW * ? *)", after: "2026-05-01T00:00:00Z", in: utc, count: 1), ["2026-05-29T12:00:00Z"])
        XCTAssertEqual(try fires("cron(0/20 8-9 1,15 JAN-MAR ? 2027)", after: "2026-06-01T00:00:00Z", in: utc, count: 4),
                       ["2027-01-01T08:00:00Z", "2027-01-01T08:20:00Z", "2027-01-01T08:40:00Z", "2027-01-01T09:00:00Z"])
        XCTAssertEqual(try fires("cron(0 0 1 1 ? 2027)", after: "2027-06-01T00:00:00Z", in: utc, count: 1), [], "a cron past its years never fires")
    }

    func testAtIsOneTimeInItsTimeZone() throws {
        let at = try ScheduleExpression.parse("at(2026-07-04T09:30:00)")
        XCTAssertTrue(at.isOneTime)
        XCTAssertEqual(iso(at.next(after: date("2026-07-01T00:00:00Z"), timeZone: newYork, anchor: date("2026-07-01T00:00:00Z"))), "2026-07-04T13:30:00Z")
        XCTAssertNil(at.next(after: date("2026-07-05T00:00:00Z"), timeZone: newYork, anchor: date("2026-07-01T00:00:00Z")))
    }

    func testMalformedExpressionsAreRefused() {
        for bad in ["rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "rate(5 weeks)", "rate(-1 hours)", "rate(5)", "cron(* * * * * *)",
                    "cron(0 12 * * ? )", "cron(60 12 * * ? *)", "cron(0 24 * * ? *)", "cron(0 12 32 * ? *)", "cron(0 12 ? 13 * *)",
                    "cron(0 12 ? * 8 *)", "cron(0 12 ? * MON#6 *)", "cron(0 12 * * MON *)", "cron(0 12 ? * ? *)", "cron(0 12 5-1 * ? *)",
                    "cron(0/0 * * * ? *)", "at(2026-13-01T00:00:00)", "at(2026-07-04 09:30:00)", "at(2026-07-04T09:30)", "every(5 minutes)",
                    "rate(5 minutes", ""] {
            XCTAssertThrowsError(try ScheduleExpression.parse(bad), bad) { error in
                XCTAssertEqual("\(error)", "Invalid Schedule Expression \(bad).")
            }
        }
    }
}
