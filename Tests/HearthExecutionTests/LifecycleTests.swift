@testable import HearthExecution
import XCTest

/// An environment's one state: which moves are allowed, and that dead is for good.
final class LifecycleTests: XCTestCase {
    func testAnEnvironmentGoesIdleBusyIdleAndDeadForGood() {
        let life = Lifecycle()
        XCTAssertEqual(life.state, .starting)
        XCTAssertFalse(life.move(from: .idle, to: .busy), "not idle before its init ends")
        XCTAssertTrue(life.move(from: .starting, to: .idle))
        XCTAssertTrue(life.move(from: .idle, to: .busy))
        XCTAssertFalse(life.move(from: .idle, to: .busy), "one invocation at a time")
        XCTAssertTrue(life.move(from: .busy, to: .idle))
        life.markDead()
        XCTAssertEqual(life.state, .dead)
        XCTAssertFalse(life.move(from: .idle, to: .busy))
        XCTAssertFalse(life.move(from: .busy, to: .idle))
        XCTAssertEqual(life.state, .dead)
    }

    func testADrainedEnvironmentFinishesButIsNotIdleAgain() {
        let life = Lifecycle()
        life.move(from: .starting, to: .idle)
        life.move(from: .idle, to: .busy)
        life.drain()
        XCTAssertEqual(life.state, .draining)
        XCTAssertFalse(life.move(from: .busy, to: .idle), "the end of its invocation leaves it draining")
        XCTAssertEqual(life.state, .draining)
        XCTAssertFalse(life.move(from: .idle, to: .busy))
        let dead = Lifecycle()
        dead.markDead()
        dead.drain()
        XCTAssertEqual(dead.state, .dead, "a dead environment is not revived by a drain")
    }
}
