import Foundation
@testable import HearthAuth
import XCTest

/// The key file: made, read back, deleted; a file that is not a list of keys is named and changes nothing,
/// and a daemon reading it then knows no key (every request is refused, none is let through).
final class AccessKeyFileTests: XCTestCase {
    func testKeysAreKeptAndABrokenFileIsRefusedNotIgnored() throws {
        let directory = NSTemporaryDirectory() + "hearth-keys-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = AccessKeyFile(stateDirectory: directory)
        let key = try file.create(description: "ci")
        XCTAssertEqual(try file.read(), [key])
        XCTAssertEqual(file.secret(for: key.id, now: 0), key.secret)
        var st = stat()
        XCTAssertEqual(stat(file.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "the secrets are readable by root only")
        XCTAssertFalse(try file.delete(id: "HRTHNOSUCHKEY0000000"))
        XCTAssertEqual(file.secret(for: key.id, now: 0.5), key.secret, "read again at most once a second")

        try Data("not json".utf8).write(to: URL(fileURLWithPath: file.path))
        XCTAssertThrowsError(try file.create(description: "x")) { XCTAssertTrue("\($0)".contains(file.path), "\($0)") }
        XCTAssertEqual(try String(contentsOfFile: file.path, encoding: .utf8), "not json", "a refused change writes nothing")
        XCTAssertNil(file.secret(for: key.id, now: 2), "a broken file knows no key")
    }
}
