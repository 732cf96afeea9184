import Foundation
@testable import HearthCgroups
import XCTest

/// The fallback without cgroup.kill (cgroup v1, v2 before 5.14): SIGKILL to every listed pid.
final class KillListedTests: XCTestCase {
    private func sleeper() throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sleep")
        p.arguments = ["30"]
        try p.run()
        return p
    }

    func testEveryListedProcessIsKilled() throws {
        let fs = try FakeCgroupV2Filesystem()
        defer { fs.destroy() }
        let sleepers = try (0..<2).map { _ in try sleeper() }
        defer { for p in sleepers where p.isRunning { p.terminate() } }
        let procs = fs.root + "/cgroup.procs"
        try fs.set(procs, sleepers.map { String($0.processIdentifier) }.joined(separator: "\n"))
        // The fake file never empties, so this also shows the tries end.
        fs.killListed(procs)
        for p in sleepers {
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .uncaughtSignal)
            XCTAssertEqual(p.terminationStatus, SIGKILL)
        }
    }

    func testAnEmptyListSignalsNoOne() throws {
        let fs = try FakeCgroupV2Filesystem()
        defer { fs.destroy() }
        let p = try sleeper()
        defer { p.terminate(); p.waitUntilExit() }
        try fs.set(fs.root + "/cgroup.procs", "")
        fs.killListed(fs.root + "/cgroup.procs")
        XCTAssertTrue(p.isRunning)
    }
}
