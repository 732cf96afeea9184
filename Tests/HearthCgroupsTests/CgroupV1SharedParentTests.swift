@testable import HearthCgroups
import Foundation
import HearthModel
import Synchronization
import XCTest

/// Directories in a temporary tree, with another Hearth process's `releaseIfUnused` let in at the
/// worst moment: right after this process made sure the shared parent exists.
private final class RacedV1Filesystem: CgroupFilesystem, @unchecked Sendable {
    let root = NSTemporaryDirectory() + "fake-v1-" + UUID().uuidString
    private let racesLeft: Mutex<Int>

    init(races: Int) throws {
        racesLeft = Mutex(races)
        try FileManager.default.createDirectory(atPath: root + "/pids/shell", withIntermediateDirectories: true)
    }

    func destroy() { try? FileManager.default.removeItem(atPath: root) }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
    func write(_ value: String, to path: String) throws { try value.write(toFile: path, atomically: false, encoding: .utf8) }

    func makeDirectory(_ path: String, mayExist: Bool) throws {
        if mkdir(path, 0o755) != 0, !(errno == EEXIST && mayExist) {
            throw HearthError.cgroup("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        // The other process releases the parent it found empty.
        if mayExist, racesLeft.withLock({ left in defer { left -= 1 }; return left > 0 }) { rmdir(path) }
    }

    func removeDirectory(_ path: String, attempts: Int) throws {
        // A cgroup's interface files go with it (unlink leaves a child cgroup, a directory, alone).
        for file in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            unlink(path + "/" + file)
        }
        if rmdir(path) != 0, errno != ENOENT { throw HearthError.cgroup("cannot remove \(path): \(String(cString: strerror(errno)))") }
    }
}

final class CgroupV1SharedParentTests: XCTestCase {
    func testASandboxStartsWhenAnotherProcessReleasesTheSharedParentMeanwhile() throws {
        let fs = try RacedV1Filesystem(races: 2)
        defer { fs.destroy() }
        let manager = CgroupV1Manager(ownDirectories: [("pids", fs.root + "/pids/shell")], fs: fs)

        let cgroup = try manager.createSandboxCgroup(id: "sb-raced", limits: ResourceLimits(pids: 64))
        XCTAssertEqual(fs.read(fs.root + "/pids/shell/hearth/sb-raced/pids.max"), "64")
        try cgroup.remove()
    }

    func testAParentThatKeepsVanishingEndsInAnErrorNamingTheSandbox() throws {
        let fs = try RacedV1Filesystem(races: 100)
        defer { fs.destroy() }
        let manager = CgroupV1Manager(ownDirectories: [("pids", fs.root + "/pids/shell")], fs: fs)

        XCTAssertThrowsError(try manager.createSandboxCgroup(id: "sb-raced", limits: ResourceLimits(pids: 64))) { error in
            XCTAssertTrue("\(error)".contains("sb-raced"), "\(error)")
        }
    }
}
