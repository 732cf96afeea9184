@testable import HearthSandbox
import Foundation
import XCTest

final class SeccompCacheTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "seccomp-cache-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    var path: String { dir + "/seccomp-" + SeccompCache.key(.default) + ".bpf" }
    /// One instruction no compiler makes (RET 0x1234): seen back only if the cached file was used.
    let planted: [UInt8] = [0x06, 0, 0, 0, 0x34, 0x12, 0, 0]

    func testAFirstUseCompilesAndLeavesTheProgramForTheNextProcess() throws {
        let program = try SeccompCache.program(.default, in: dir)
        XCTAssertEqual(program.bytes, try SeccompCompiler.compile(.default).bytes)
        XCTAssertEqual(FileManager.default.contents(atPath: path).map { [UInt8]($0) }, program.bytes)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? Int).map { $0 & 0o022 }, 0, "only its owner may write it")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [(path as NSString).lastPathComponent], "no temporary left")
    }

    func testARootOwnedFileOfWholeInstructionsIsReadInsteadOfCompiling() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(planted), attributes: [.posixPermissions: 0o600]))
        XCTAssertEqual(try SeccompCache.program(.default, in: dir).bytes, planted)
    }

    func testAWritableByOthersOrTornFileIsIgnoredAndReplaced() throws {
        let top = dir
        for (n, (contents, mode)) in [(planted, 0o666), (Array(planted.prefix(5)), 0o600)].enumerated() {
            dir = top + "/\(n)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(contents), attributes: [.posixPermissions: mode]))
            let program = try SeccompCache.program(.default, in: dir)
            XCTAssertGreaterThan(program.instructionCount, 100, "mode \(String(mode, radix: 8)), \(contents.count) bytes")
            XCTAssertEqual(FileManager.default.contents(atPath: path).map { [UInt8]($0) }, program.bytes)
        }
        dir = top
    }

    func testAnotherProfileHasAnotherFile() {
        var profile = SeccompProfile.default
        profile.enosys.append("io_uring_setup")
        XCTAssertNotEqual(SeccompCache.key(profile), SeccompCache.key(.default))
        XCTAssertEqual(SeccompCache.key(.default).count, 16)
    }

    /// A directory the program cannot be kept in costs only the next process a compile.
    func testAnUnwritableCacheStillGivesTheCompiledProgram() throws {
        let program = try SeccompCache.program(.default, in: dir + "/missing")
        XCTAssertEqual(program.bytes, try SeccompCompiler.compile(.default).bytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/missing"))
    }
}
