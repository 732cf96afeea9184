import HearthHTTP
import XCTest

/// The order of a connection's requests, without a connection.
final class OneAtATimeTests: XCTestCase {
    func testRequestsAreHandledInTurnAndReadsWaitWhileOneIsHeld() {
        var order = OneAtATime<Int>()
        XCTAssertTrue(order.mayRead(), "nothing held: read on")
        XCTAssertEqual(order.admit(1), 1, "the first is handled at once")
        XCTAssertTrue(order.mayRead(), "one in hand, none held: read on")
        XCTAssertNil(order.admit(2), "the second waits for the first's answer")
        XCTAssertNil(order.admit(3))
        XCTAssertFalse(order.mayRead(), "requests held: the connection is not read")
        XCTAssertTrue(order.answerDue)

        var step = order.finish()
        XCTAssertEqual(step.next, 2)
        XCTAssertFalse(step.resumeReading, "3 is still held")
        step = order.finish()
        XCTAssertEqual(step.next, 3)
        XCTAssertTrue(step.resumeReading, "nothing held any more: the read put off is made")
        XCTAssertTrue(order.answerDue, "3 is in hand")
        step = order.finish()
        XCTAssertNil(step.next)
        XCTAssertFalse(step.resumeReading, "no read was put off since")
        XCTAssertFalse(order.answerDue)
        XCTAssertEqual(order.admit(4), 4, "idle again: handled at once")
    }
}
