@testable import HearthRuntimeAPI
import XCTest

/// Paths are read byte-wise: the query goes, a multi-byte or combining character is not a separator.
final class RouterPathTests: XCTestCase {
    func testTheQueryIsCutAtTheFirstQuestionMark() {
        XCTAssertEqual(Router.pathBeforeQuery("/2018-06-01/runtime/invocation/next?a=1?b"), "/2018-06-01/runtime/invocation/next")
        XCTAssertEqual(Router.pathBeforeQuery("/2018-06-01/runtime/invocation/next"), "/2018-06-01/runtime/invocation/next")
        XCTAssertEqual(Router.pathBeforeQuery("?"), "")
        XCTAssertEqual(Router.pathBeforeQuery("/é\u{301}/x?y"), "/é\u{301}/x")
    }
}
