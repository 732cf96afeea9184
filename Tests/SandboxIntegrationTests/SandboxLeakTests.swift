import Foundation
import HearthModel
import HearthSandbox
import XCTest

/// Starting and tearing down sandboxes leaves the host exactly as it was.
final class SandboxLeakTests: XCTestCase {
    func testFiveHundredSandboxesLeaveNothingBehind() throws {
        let harness = try SandboxHarness.make()
        defer { harness.tearDown() }
        // One run first, so lazily created state (the cgroup parents) exists in both snapshots.
        let warm = try harness.run(["/bin/true"])
        XCTAssertEqual(warm.exit.status, .exited(0))

        let before = HostSnapshot.take()
        var failures = 0
        for i in 0..<500 {
            // Mix in every way a sandbox ends: success, failure, limit kill.
            let command: [String] = switch i % 5 {
            case 0: ["/bin/probe", "exit", "3"]
            case 1: ["/bin/sh", "-c", "sleep 100 & exit 0"]
            default: ["/bin/true"]
            }
            let result = try harness.run(command)
            if case .signaled = result.exit.status { failures += 1 }
        }
        let after = HostSnapshot.take()
        XCTAssertEqual(failures, 0)
        XCTAssertEqual(after.mounts, before.mounts, "mounts")
        XCTAssertEqual(after.cgroups, before.cgroups, "cgroups")
        XCTAssertEqual(after.networkNamespaces, before.networkNamespaces, "network namespaces")
        XCTAssertEqual(after.openFds, before.openFds, "file descriptors of the test process")
        XCTAssertEqual(zombieChildren(), 0)
    }

    func testFailedStartsLeaveNothingBehind() throws {
        let harness = try SandboxHarness.make()
        defer { harness.tearDown() }
        _ = try harness.run(["/bin/true"])
        let before = HostSnapshot.take()
        for _ in 0..<20 {
            // A working directory that does not exist fails in the child after the cgroup is made.
            var spec = harness.spec(["/bin/true"])
            spec.workingDirectory = "/no/such/dir"
            XCTAssertThrowsError(try harness.start(spec)) { error in
                XCTAssertTrue("\(error)".contains("chdir"), "\(error)")
            }
            // A layer that does not exist fails at the overlay mount.
            spec = harness.spec(["/bin/true"])
            spec.layers = ["/nonexistent-layer"]
            XCTAssertThrowsError(try harness.start(spec)) { error in
                XCTAssertTrue("\(error)".contains("overlay"), "\(error)")
            }
        }
        XCTAssertEqual(HostSnapshot.take(), before)
    }

    private func zombieChildren() -> Int {
        let me = getpid()
        var count = 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if fields.count > 1, fields[0] == "Z", Int32(fields[1]) == me { count += 1 }
        }
        return count
    }
}
