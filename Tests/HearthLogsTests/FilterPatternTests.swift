import XCTest
@testable import HearthLogs

final class FilterPatternTests: XCTestCase {
    private func matching(_ pattern: String, _ lines: [String]) throws -> [String] {
        let compiled = try FilterPattern(pattern)
        return lines.filter { compiled.matches($0) }
    }

    func testTermsPhrasesAlternativesAndExclusions() throws {
        let lines = ["ERROR disk full", "WARN disk slow", "ERROR Exiting now", "INFO all well", "error lower case"]
        XCTAssertEqual(try matching("", lines), lines)
        XCTAssertEqual(try matching("ERROR", lines), ["ERROR disk full", "ERROR Exiting now"], "terms are case-sensitive")
        XCTAssertEqual(try matching("ERROR disk", lines), ["ERROR disk full"], "every term must occur")
        XCTAssertEqual(try matching("?ERROR ?WARN", lines), ["ERROR disk full", "WARN disk slow", "ERROR Exiting now"])
        XCTAssertEqual(try matching("ERROR -Exiting", lines), ["ERROR disk full"])
        XCTAssertEqual(try matching(#""disk full""#, lines), ["ERROR disk full"])
        XCTAssertEqual(try matching(#""disk  full""#, lines), [], "a quoted phrase is matched exactly")
        XCTAssertEqual(try matching("%^[A-Z]+ disk%", lines), ["ERROR disk full", "WARN disk slow"])
    }

    func testJSONSelectors() throws {
        let lines = [#"{"level":"ERROR","latency":250,"user":{"id":"u-1"},"tags":["a","b"],"ok":false}"#,
                     #"{"level":"INFO","latency":50,"user":{"id":"x-2"},"tags":["c"],"ok":true,"gone":null}"#,
                     "not json at all"]
        XCTAssertEqual(try matching(#"{ $.level = "ERROR" }"#, lines).count, 1)
        XCTAssertEqual(try matching(#"{ $.level != "ERROR" }"#, lines).count, 1, "a line that is not JSON never matches")
        XCTAssertEqual(try matching("{ $.latency > 100 }", lines).count, 1)
        XCTAssertEqual(try matching("{ $.latency >= 50 && $.latency <= 50 }", lines), [lines[1]])
        XCTAssertEqual(try matching(#"{ $.user.id = "u-*" || $.tags[0] = "c" }"#, lines).count, 2)
        XCTAssertEqual(try matching(#"{ ($.level = "INFO" || $.level = "WARN") && $.ok IS TRUE }"#, lines), [lines[1]])
        XCTAssertEqual(try matching("{ $.ok IS FALSE }", lines), [lines[0]])
        XCTAssertEqual(try matching("{ $.gone IS NULL }", lines), [lines[1]])
        XCTAssertEqual(try matching("{ $.gone NOT EXISTS }", lines), [lines[0]])
    }

    func testBadPatternsAreRefusedWithTheReason() {
        for (pattern, reason) in [("{ $.a = }", "value"), ("{ a = 1 }", "'$'"), (#"{ $.a > "x" }"#, "numbers"), (#"say "hello"#, "quote"),
                                  ("[ip, user]", "space-delimited"), ("%(unclosed%", "regular expression")] {
            XCTAssertThrowsError(try FilterPattern(pattern), pattern) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(pattern): \(error)")
            }
        }
    }
}
