import Foundation
import Synchronization
import HearthModel
import XCTest

final class NamedThreadTests: XCTestCase {
    /// The kernel's name of the thread (what top -H and perf show) is the one given.
    func testAThreadCarriesItsNameWhereTheKernelShowsIt() throws {
        let seen = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.startNamed("hearth-test-name-that-is-long") {
            seen.withLock { $0 = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(seen.withLock { $0 }, "hearth-test-nam\n", "Linux keeps the first 15 bytes")
    }
}
