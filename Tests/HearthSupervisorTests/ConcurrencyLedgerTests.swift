@testable import HearthSupervisor
import XCTest

/// The ledger's arithmetic, which the scheduler's tests reach only through whole invocations.
final class ConcurrencyLedgerTests: XCTestCase {
    func testReservationsChangedAndRemovedKeepTheAccountShareRight() {
        var ledger = ConcurrencyLedger(accountLimit: 10, reserved: ["a": 4])
        ledger.setReserved("b", 3)
        ledger.setReserved("a", 5)
        // 10 - 5 - 3 = 2 for everyone else.
        XCTAssertNil(ledger.admit("x"))
        XCTAssertNil(ledger.admit("y"))
        XCTAssertEqual(ledger.admit("x"), "ConcurrentInvocationLimitExceeded")
        ledger.setReserved("a", nil)
        // 10 - 3 = 7, of which 2 are taken.
        for _ in 0..<5 { XCTAssertNil(ledger.admit("x")) }
        XCTAssertEqual(ledger.admit("a"), "ConcurrentInvocationLimitExceeded", "a has no reservation left: it shares the rest")
        XCTAssertEqual(ledger.total, 7)
    }

    func testLeavingCountsOutAndForgetsIdleFunctions() {
        var ledger = ConcurrencyLedger(accountLimit: 2, reserved: ["r": 1])
        XCTAssertNil(ledger.admit("r"))
        XCTAssertEqual(ledger.admit("r"), "ReservedFunctionConcurrentInvocationLimitExceeded")
        XCTAssertNil(ledger.admit("f"))
        XCTAssertEqual(ledger.admit("f"), "ConcurrentInvocationLimitExceeded")
        ledger.leave("r")
        ledger.leave("f")
        XCTAssertEqual(ledger.total, 0)
        XCTAssertTrue(ledger.running.isEmpty)
        XCTAssertNil(ledger.admit("r"))
    }
}
