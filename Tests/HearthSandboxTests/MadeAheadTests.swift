import Foundation
import HearthModel
import Synchronization
import XCTest

/// The made-ahead pool the engine's slots and the network's spares share, with items that are plain
/// numbers: filled to its target, never refilled while a start is in flight, paused by a failed make
/// until the next take, and every item not taken discarded at shutdown.
final class MadeAheadTests: XCTestCase {
    private final class Maker: Sendable {
        let made = Mutex(0)
        let failing = Atomic(false)
        let discarded = Mutex<[Int]>([])
        func make() -> Int? {
            if failing.load(ordering: .relaxed) { return nil }
            return made.withLock { n in n += 1; return n }
        }
    }

    private func pool(_ maker: Maker, target: Int = 2) -> MadeAhead<Int> {
        MadeAhead(target: target, threadName: "test-made-ahead", make: { maker.make() },
                  discard: { item in maker.discarded.withLock { $0.append(item) } })
    }

    func testFilledToItsTargetAndNotRefilledWhileAStartIsInFlight() {
        let maker = Maker()
        let items = pool(maker)
        items.waitUntilFull()
        XCTAssertEqual(items.count, 2)
        items.startBegan()
        XCTAssertNotNil(items.take())
        usleep(100_000)
        XCTAssertEqual(items.count, 1, "no item is made while a start is in flight")
        XCTAssertEqual(maker.made.withLock { $0 }, 2)
        items.startEnded()
        items.waitUntilFull()
        XCTAssertEqual(items.count, 2)
        XCTAssertEqual(maker.made.withLock { $0 }, 3)
        items.shutdown()
        XCTAssertEqual(maker.discarded.withLock { $0 }.sorted(), [1, 3], "the items not taken are discarded at shutdown")
        items.shutdown()
        XCTAssertEqual(maker.discarded.withLock { $0 }.count, 2, "a second shutdown discards nothing again")
    }

    func testAFailedMakePausesTheRefillsUntilTheNextTake() {
        let maker = Maker()
        maker.failing.store(true, ordering: .relaxed)
        let items = pool(maker)
        items.waitUntilFull()  // returns once a make has failed
        XCTAssertEqual(items.count, 0)
        maker.failing.store(false, ordering: .relaxed)
        usleep(100_000)
        XCTAssertEqual(maker.made.withLock { $0 }, 0, "no retry before a start takes one")
        XCTAssertNil(items.take())
        items.waitUntilFull()
        XCTAssertEqual(items.count, 2, "a take resumes the refills")
        items.shutdown()
    }
}
