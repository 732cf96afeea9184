@testable import HearthSupervisor
import XCTest

/// A daemon hands out uids from its own block only, reuses one only once it is given back, and says
/// so when the block is used up (the start is then refused with 429).
final class UIDAllocatorTests: XCTestCase {
    func testUidsComeFromTheBlockAndRunOut() {
        var uids = UIDAllocator(range: 2_000..<2_003)
        XCTAssertEqual([uids.take(), uids.take(), uids.take()], [2_000, 2_001, 2_002])
        XCTAssertNil(uids.take(), "every uid of the block is in use")
        uids.give(2_001)
        XCTAssertEqual(uids.take(), 2_001)
        XCTAssertNil(uids.take())
    }
}
