@testable import HearthExecution
import HearthModel
import Synchronization
import XCTest

/// A start pauses what makes spares ahead, and lets it go exactly once: at `end`, or when the pause goes
/// (a start that failed before its init).
final class SparePauseTests: XCTestCase {
    final class CountingSpares: PausedDuringStarts {
        let inFlight = Mutex(0)
        func startBegan() { inFlight.withLock { $0 += 1 } }
        func startEnded() { inFlight.withLock { $0 -= 1 } }
        var count: Int { inFlight.withLock { $0 } }
    }

    func testEndsOnceHoweverOftenEnded() {
        let disks = CountingSpares(), network = CountingSpares()
        let pause = SparePause([disks, network])
        XCTAssertEqual([disks.count, network.count], [1, 1])
        pause.end()
        pause.end()
        XCTAssertEqual([disks.count, network.count], [0, 0])
        withExtendedLifetime(pause) {}
        XCTAssertEqual([disks.count, network.count], [0, 0])
    }

    func testAPauseNeverEndedEndsWhenItGoes() {
        let disks = CountingSpares()
        var pause: SparePause? = SparePause([disks])
        XCTAssertEqual(disks.count, 1)
        XCTAssertNotNil(pause)
        pause = nil
        XCTAssertEqual(disks.count, 0)
    }
}
