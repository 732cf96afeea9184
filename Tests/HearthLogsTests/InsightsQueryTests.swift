import XCTest
@testable import HearthLogs

final class InsightsQueryTests: XCTestCase {
    /// Three invocations of one environment, one of them cold, as the stored log holds them.
    private let events: [(group: String, event: LogEvent)] = {
        let lines = [
            "START RequestId: r1 Version: $LATEST", "hello from r1", "END RequestId: r1",
            "REPORT RequestId: r1\tDuration: 10.50 ms\tBilled Duration: 11 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\tInit Duration: 100.00 ms\t",
            "START RequestId: r2 Version: $LATEST", "END RequestId: r2",
            "REPORT RequestId: r2\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 31 MB\t",
            #"{"level":"ERROR","message":"bad","n":7}"#,
            "REPORT RequestId: r3\tDuration: 3.50 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 32 MB\t",
        ]
        return lines.enumerated().map { i, line in
            ("/aws/lambda/f", LogEvent(timestamp: 1_764_777_600_000 + Int64(i) * 120_000, sequence: UInt64(i + 1), stream: "s", message: line))
        }
    }()

    private func rows(_ text: String) throws -> [[String: String]] {
        try InsightsQuery(text).run(events, account: "000000000000", limit: 10_000).rows.map { row in
            Dictionary(row.map { ($0.field, $0.value) }, uniquingKeysWith: { a, _ in a })
        }
    }

    func testReportLinesGiveLambdasFieldsForStats() throws {
        let stats = try rows("filter @type = \"REPORT\" | stats count(*) as n, avg(@duration), max(@maxMemoryUsed / 1000 / 1000) as mb, "
                             + "count(@initDuration) as cold, sum(@billedDuration) as billed, pct(@duration, 50) as p50")
        XCTAssertEqual(stats.count, 1)
        XCTAssertEqual(stats[0]["n"], "3")
        XCTAssertEqual(stats[0]["avg(@duration)"], "5.333333333333333")
        XCTAssertEqual(stats[0]["mb"], "32")
        XCTAssertEqual(stats[0]["cold"], "1")
        XCTAssertEqual(stats[0]["billed"], "17")
        XCTAssertEqual(stats[0]["p50"], "3.5")
    }

    func testBinsGroupByTime() throws {
        let binned = try rows("filter @type = \"REPORT\" | stats count() as n by bin(10m)")
        XCTAssertEqual(binned.map { $0["bin(10m)"] ?? "" }, ["2025-12-03 16:00:00.000", "2025-12-03 16:10:00.000"])
        XCTAssertEqual(binned.map { $0["n"] ?? "" }, ["1", "2"])
    }

    func testFieldsFilterSortLimitAndParse() throws {
        let latest = try rows("fields @timestamp, @message | filter @message like /RequestId: r[12]/ and not @message like \"END\" | sort @timestamp desc | limit 2")
        XCTAssertEqual(latest.map { $0["@message"] ?? "" }.map { String($0.prefix(20)) }, ["REPORT RequestId: r2", "START RequestId: r2 "])
        XCTAssertEqual(latest.first?["@timestamp"], "2025-12-03 16:12:00.000")
        XCTAssertNotNil(latest.first?["@ptr"])
        let parsed = try rows(#"filter @message like "hello" | parse @message "hello from *" as who | display who"#)
        XCTAssertEqual(parsed.map { $0.filter { $0.key != "@ptr" } }, [["who": "r1"]])
        let named = try rows(#"parse @message /Max Memory Used: (?<used>\d+) MB/ | filter ispresent(used) | stats max(used) as top"#)
        XCTAssertEqual(named.first?["top"], "32")
        let json = try rows(#"filter level = "ERROR" and n in [6, 7] | fields message"#)
        XCTAssertEqual(json.first?["message"], "bad")
    }

    func testMalformedQueriesSayWhere() {
        for (query, reason) in [("frobnicate", "unknown command"), ("filter (@a = 1", "not closed"), ("stats median(@x)", "stats takes"),
                                ("limit 0", "limit"), ("filter @message like /(/", "regular expression"), ("fields bin(5parsecs)", "time unit")] {
            XCTAssertThrowsError(try InsightsQuery(query), query) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(query): \(error)")
            }
        }
    }
}
