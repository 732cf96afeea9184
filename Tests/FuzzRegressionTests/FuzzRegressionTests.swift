import Foundation
import XCTest

/// Every input that ever crashed a fuzz target (Tests/Fuzz/regressions/TARGET/), and the seeds,
/// replayed through `hearth-fuzz` as built for the tests (uninstrumented): each must run to the end.
final class FuzzRegressionTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var fuzzer: URL { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("hearth-fuzz") }

    func replay(_ target: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var inputs: [String] = []
        for kind in ["regressions", "seeds"] {
            let dir = Self.repository.appendingPathComponent("Tests/Fuzz/\(kind)/\(target)").path
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where !name.hasPrefix(".") {
                inputs.append(dir + "/" + name)
            }
        }
        guard !inputs.isEmpty else { throw XCTSkip("no inputs for \(target)") }
        let process = Process()
        process.executableURL = Self.fuzzer
        process.arguments = [target] + inputs.sorted()
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit, "\(target) crashed: \(text.suffix(2000))", file: file, line: line)
        XCTAssertEqual(process.terminationStatus, 0, text, file: file, line: line)
        XCTAssertEqual(text.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count, inputs.count, text, file: file, line: line)
    }

    func testZipInputs() throws { try replay("zip") }
    func testImageInputs() throws { try replay("image") }
    func testRuntimeAPIInputs() throws { try replay("runtime-api") }
    func testControlAPIInputs() throws { try replay("control-api") }
}
