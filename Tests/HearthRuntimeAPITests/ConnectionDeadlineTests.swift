@testable import HearthHTTP
import XCTest

/// The once-a-second sweep's deadlines: a connection is late only once its phase has lasted longer than
/// the phase's limit.
final class ConnectionDeadlineTests: XCTestCase {
    let limits = ConnectionLimits(maxConnections: 10, headerSeconds: 10, bodyIdleSeconds: 30, keepAliveSeconds: 60)
    let second: UInt64 = 1_000_000_000

    func testEachPhaseHasItsOwnLimit() {
        let start: UInt64 = 1_000 * second
        XCTAssertFalse(ConnectionRegistry.isLate(.head, since: start, now: start + 10 * second, limits: limits))
        XCTAssertTrue(ConnectionRegistry.isLate(.head, since: start, now: start + 11 * second, limits: limits))
        XCTAssertFalse(ConnectionRegistry.isLate(.body, since: start, now: start + 29 * second, limits: limits))
        XCTAssertTrue(ConnectionRegistry.isLate(.body, since: start, now: start + 31 * second, limits: limits))
        XCTAssertTrue(ConnectionRegistry.isLate(.idle, since: start, now: start + 61 * second, limits: limits))
        XCTAssertFalse(ConnectionRegistry.isLate(.handling, since: start, now: start + 3_600 * second, limits: limits),
                       "a request being handled (a 15-minute invocation) has no deadline")
    }

    /// A read on another event loop can store a time later than the sweep's clock: that connection is the
    /// least late of all. (The subtraction wrapped, and an upload in full flow got 408 mid-body.)
    func testAPhaseThatBeganAfterTheSweepsClockIsNotLate() {
        let now: UInt64 = 1_000 * second
        for phase in [ConnectionActivity.Phase.idle, .head, .body] {
            XCTAssertFalse(ConnectionRegistry.isLate(phase, since: now + 1, now: now, limits: limits), "\(phase)")
            XCTAssertFalse(ConnectionRegistry.isLate(phase, since: now + 5_000_000, now: now, limits: limits), "\(phase)")
        }
    }
}
