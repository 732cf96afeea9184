import Foundation
@testable import HearthControlAPI
import XCTest

/// A stored zip's descriptor is closed exactly once: by whoever took it to send it, or when the response
/// is dropped unsent (a connection gone before its answer).
final class ResponseFileTests: XCTestCase {
    func testADroppedResponseClosesItsFile() {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        do { _ = ResponseFile(fd: fd, length: 0) }
        XCTAssertEqual(fcntl(fd, F_GETFD), -1, "the unsent response's descriptor is closed")
    }

    func testATakenFileIsTheTakersToClose() {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        do {
            let file = ResponseFile(fd: fd, length: 0)
            XCTAssertEqual(file.take(), fd)
            XCTAssertNil(file.take(), "taken once")
        }
        XCTAssertGreaterThanOrEqual(fcntl(fd, F_GETFD), 0, "dropping the response does not close what was taken")
        close(fd)
    }
}
