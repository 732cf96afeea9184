@testable import HearthRuntimeAPI
import XCTest

/// A session's memory of answered request ids is a window of the last 16, so it does not grow with
/// every invocation a warm sandbox answers.
final class RecentIDsTests: XCTestCase {
    func testTheOldestIdIsForgottenOnceTheWindowIsFull() {
        var recent = RecentIDs(capacity: 16)
        for n in 0..<16 { recent.insert("id-\(n)") }
        XCTAssertTrue(recent.contains("id-0"))
        recent.insert("id-16")
        XCTAssertFalse(recent.contains("id-0"), "the oldest went to make room")
        XCTAssertTrue(recent.contains("id-1") && recent.contains("id-16"))
        for n in 17..<1000 { recent.insert("id-\(n)") }
        XCTAssertEqual((984..<1000).filter { recent.contains("id-\($0)") }.count, 16)
        XCTAssertFalse(recent.contains("id-983"))
    }
}
