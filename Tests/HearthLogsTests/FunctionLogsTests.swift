import Foundation
import XCTest
@testable import HearthLogs

final class FunctionLogsTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "hearth-logs-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func events(_ logs: FunctionLogs, _ function: String) -> [LogEvent] {
        var all: [LogEvent] = []
        logs.scan(function) { all.append($0); return true }
        return all
    }

    func testOutputIsStoredLineByLineWithTimeSequenceAndStream() throws {
        let logs = try FunctionLogs(directory: directory)
        logs.append("f", stream: "2026/12/03/[$LATEST]ab", Array("START x\nhello\n\nno newline".utf8), now: 1_000)
        logs.append("f", stream: "2026/12/03/[$LATEST]cd", Array("second\n".utf8), now: 2_000)
        let stored = events(logs, "f")
        XCTAssertEqual(stored.map(\.message), ["START x", "hello", "", "no newline", "second"])
        XCTAssertEqual(stored.map(\.sequence), [1, 2, 3, 4, 5])
        XCTAssertEqual(stored.map(\.timestamp), [1_000, 1_000, 1_000, 1_000, 2_000])
        XCTAssertEqual(stored.last?.stream, "2026/12/03/[$LATEST]cd")
        XCTAssertEqual(String(decoding: logs.read("f", from: 0).bytes, as: UTF8.self), "START x\nhello\n\nno newline\nsecond\n")
        XCTAssertEqual(String(decoding: logs.read("f", from: 0, timestamps: true).bytes, as: UTF8.self).split(separator: "\n").first,
                       "1970-01-01T00:00:01.000Z START x")
    }

    func testSequenceNumbersGoOnAfterARestartAndAcrossRotation() throws {
        do {
            let logs = try FunctionLogs(directory: directory, maxBytes: 80, keep: 1)
            for i in 0..<5 { logs.append("f", stream: "s", Array("line \(i) of the first daemon\n".utf8), now: Int64(i)) }
        }
        let logs = try FunctionLogs(directory: directory, maxBytes: 80, keep: 1)
        logs.append("f", stream: "s", Array("after the restart\n".utf8), now: 10)
        let stored = events(logs, "f")
        XCTAssertEqual(stored.last?.message, "after the restart")
        XCTAssertEqual(stored.last?.sequence, 6, "the sequence went on from the newest stored event")
        XCTAssertEqual(stored.map(\.sequence), stored.map(\.sequence).sorted())
        XCTAssertLessThan(stored.count, 6, "rotation dropped the oldest file")
        XCTAssertEqual(Set(stored.map(\.eventId)).count, stored.count)
    }

    func testLogsRotateAndReadFromAnOffset() throws {
        // Each stored line is "0 SEQ s " and the message and its newline: 67 bytes for 60 a's.
        let logs = try FunctionLogs(directory: directory, maxBytes: 120, keep: 2)
        logs.append("f", stream: "s", Array(String(repeating: "a", count: 60).utf8), now: 0)
        let (first, next) = logs.read("f", from: 0)
        XCTAssertEqual(first.count, 61)
        XCTAssertEqual(next, 67)
        logs.append("f", stream: "s", Array(String(repeating: "b", count: 30).utf8), now: 0)
        XCTAssertEqual(logs.read("f", from: next).bytes, Array((String(repeating: "b", count: 30) + "\n").utf8), "reading from an offset gives only what is new")
        logs.append("f", stream: "s", Array(String(repeating: "c", count: 30).utf8), now: 0)  // over 120: rotates first
        XCTAssertEqual(logs.read("f", from: 0).bytes, Array((String(repeating: "c", count: 30) + "\n").utf8))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/f.log.1"))
        for _ in 0..<5 { logs.append("f", stream: "s", Array(String(repeating: "d", count: 90).utf8), now: 0) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/f.log.3"), "only `keep` old files are kept")
        XCTAssertEqual(logs.read("f", from: 10_000).next, 97, "an offset past the end (after a rotation) reads from the start")
        logs.remove("f")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/f.log"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/f.log.1"))
    }

    func testLinesNotInTheStoredFormAreSkippedByScansAndPrintedAsTheyAre() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data("an old line\n".utf8).write(to: URL(fileURLWithPath: directory + "/f.log"))
        let logs = try FunctionLogs(directory: directory)
        logs.append("f", stream: "s", Array("new\n".utf8), now: 5)
        XCTAssertEqual(events(logs, "f").map(\.message), ["new"])
        XCTAssertEqual(String(decoding: logs.read("f", from: 0).bytes, as: UTF8.self), "an old line\nnew\n")
    }

    func testStreamNamesAreLambdas() {
        XCTAssertEqual(LogStreamName.make(version: "$LATEST", startedAt: 1_764_777_600, id: "0123456789abcdef0123456789ABCDEF"),
                       "2025/12/03/[$LATEST]0123456789abcdef0123456789abcdef")
        let random = LogStreamName.random(version: "3", startedAt: 0)
        XCTAssertNotNil(random.range(of: #"^1970/01/01/\[3\][0-9a-f]{32}$"#, options: .regularExpression), random)
        XCTAssertNotEqual(random, LogStreamName.random(version: "3", startedAt: 0))
        XCTAssertEqual(LogStreamName.make(version: "1 2\n", startedAt: 0, id: "x y"), "1970/01/01/[12]" + String(repeating: "0", count: 32))
    }
}
