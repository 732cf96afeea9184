import Foundation
import HearthCgroups
import HearthModel
import HearthSandbox
import XCTest

/// The plain v1 implementation on real v1 hierarchies: no cgroup2 half, so no
/// cgroup.kill; limits, stats and teardown must still hold.
final class CgroupV1IntegrationTests: XCTestCase {
    func v1Harness() throws -> SandboxHarness {
        let layout = try CgroupLayout.current()
        guard layout.v1Directory(for: "memory") != nil, layout.v1Directory(for: "pids") != nil else {
            throw XCTSkip("no cgroup v1 memory and pids hierarchies on this machine (pure cgroup v2)")
        }
        return try SandboxHarness.make(cgroups: try CgroupV1Manager(layout: layout))
    }

    func testV1EnforcesMemoryPidsAndTimeoutAndLeavesNothing() throws {
        let before = HostResources.take()
        try {
            let h = try v1Harness()
            defer { h.tearDown() }
            XCTAssertEqual(h.engine.cgroups.kind, "v1")

            let oom = try h.run(["/bin/probe", "memhog"], limits: ResourceLimits(memoryMB: 48, timeoutSeconds: 30, pids: 64, tmpSizeMB: 8))
            XCTAssertEqual(oom.exit.limit, .outOfMemory(limitMB: 48))

            let bomb = try h.run(["/bin/probe", "forkbomb"], limits: ResourceLimits(memoryMB: 256, timeoutSeconds: 30, pids: 30, tmpSizeMB: 8))
            XCTAssertEqual(bomb.values["forks"], "28")
            XCTAssertEqual(bomb.exit.limit, .pidsLimit(max: 30))

            let marker = "hearth-v1-marker-\(UUID().uuidString)"
            let slow = try h.run(["/bin/probe", "daemon", marker], limits: ResourceLimits(memoryMB: 128, timeoutSeconds: 1, pids: 64, tmpSizeMB: 8))
            XCTAssertEqual(slow.exit.limit, .timeout(seconds: 1))
            XCTAssertEqual(hostProcesses(containing: marker), [])

            let ok = try h.run(["/bin/probe", "status"])
            XCTAssertEqual(ok.values["Seccomp"], "2")
            XCTAssertNotNil(ok.exit.stats.peakMemoryBytes)
        }()
        XCTAssertEqual(HostResources.take(), before)
    }

    func testV1KillAllEmptiesTheCgroupWithoutCgroupKill() throws {
        let h = try v1Harness()
        defer { h.tearDown() }
        let (sandbox, collect) = try h.start(h.spec(["/bin/sh", "-c", "sleep 100 & sleep 100 & sleep 100"]))
        usleep(100_000)
        sandbox.cgroup.killAll()
        let exit = sandbox.wait()
        _ = collect()
        XCTAssertEqual(exit.status, .signaled(SIGKILL))
        XCTAssertNoThrow(try sandbox.destroy())
    }
}
