import Foundation
import HearthPackages
import XCTest

/// The zips Hearth makes for its built-in functions, read back by Info-ZIP's unzip.
final class ZipWriterTests: XCTestCase {
    func testAZipUnzipReads() throws {
        let dir = NSTemporaryDirectory() + "hearth-zipwriter-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let zip = dir + "/f.zip"
        try ZipWriter.write([.init(path: "handler.py", contents: Array("print('hi')\n".utf8)),
                             .init(path: "lib/data.bin", contents: (0..<70_000).map { UInt8($0 % 251) }, mode: 0o755)], to: zip)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unzip") else {
            throw XCTSkip("unzip is not installed (scripts/setup installs it)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unzip")
        p.arguments = ["-q", zip, "-d", dir + "/out"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try String(contentsOfFile: dir + "/out/handler.py", encoding: .utf8), "print('hi')\n")
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/out/lib/data.bin").map { Array($0) }, (0..<70_000).map { UInt8($0 % 251) })
        XCTAssertThrowsError(try ZipWriter.write([], to: dir + "/no/such/dir/x.zip")) { XCTAssertTrue("\($0)".contains("open"), "\($0)") }
    }
}
