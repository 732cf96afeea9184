import Foundation
import HearthSystemd
import Synchronization
import XCTest

/// The journal writer never makes its caller wait: while sending is stuck, entries beyond its capacity
/// are dropped and counted, and the count is sent once it moves again.
final class JournalWriterTests: XCTestCase {
    func testACallerNeverWaitsAndWhatDidNotFitIsCounted() {
        let stuck = DispatchSemaphore(value: 0)
        let sent = Mutex<[String]>([])
        let writer = JournalWriter(capacity: 3) { entry in
            let message = entry.first { $0.name == "MESSAGE" }.map { String(decoding: $0.value, as: UTF8.self) } ?? ""
            if message == "0" { stuck.wait() }
            sent.withLock { $0.append(message) }
        }
        let start = Date()
        writer.send([("MESSAGE", Array("0".utf8))])
        // The writer takes "0" and is stuck on it; 3 more wait, 6 are dropped.
        Thread.sleep(forTimeInterval: 0.1)
        for i in 1...9 { writer.send([("MESSAGE", Array(String(i).utf8))]) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1, "sending never waited for the stuck journal")
        stuck.signal()
        let deadline = Date().addingTimeInterval(5)
        while sent.withLock({ $0.count }) < 5 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let messages = sent.withLock { $0 }
        XCTAssertEqual(Array(messages.prefix(4)), ["0", "1", "2", "3"])
        XCTAssertEqual(messages.count, 5, "\(messages)")
        XCTAssertTrue(messages.last?.hasPrefix("hearth: 6 function log lines were not sent to the journal") == true, "\(messages)")
    }
}
