import HearthCgroups
import HearthModel
@testable import HearthSandbox
import XCTest

final class SandboxSpecTests: XCTestCase {
    func make(_ change: (inout SandboxSpec) -> Void) -> SandboxSpec {
        var s = SandboxSpec(id: "sb-x", layers: ["/r"], command: ["/bin/true"], uid: 5000, gid: 5000)
        change(&s)
        return s
    }

    func testValidSpecPasses() throws {
        try make { _ in }.validate()
    }

    func testBadValuesNameWhatIsWrong() {
        let cases: [(SandboxSpec, String)] = [
            (make { $0.limits.memoryMB = 0 }, "memory"),
            (make { $0.limits.memoryMB = 10_000_000 }, "memory"),
            (make { $0.limits.pids = 0 }, "pids"),
            (make { $0.limits.tmpSizeMB = -1 }, "tmp size"),
            (make { $0.limits.timeoutSeconds = -1 }, "timeout"),
            (make { $0.limits.timeoutSeconds = .infinity }, "timeout"),
            (make { $0.environment = [("A=B", "x")] }, "A=B"),
            (make { $0.environment = [("", "x")] }, "''"),
            (make { $0.environment = [("K", "a\0b")] }, "NUL"),
            (make { $0.workingDirectory = "relative" }, "working directory"),
            (make { $0.workingDirectory = "/proc/self/fd/7" }, "/proc"),
            (make { $0.workingDirectory = "/a/../.." }, "'..'"),
            (make { $0.uid = 0 }, "uid"),
            (make { $0.command = [] }, "no command"),
            (make { $0.hostname = "bad host" }, "hostname"),
        ]
        for (spec, fragment) in cases {
            XCTAssertThrowsError(try spec.validate(), fragment) { error in
                XCTAssertTrue("\(error)".contains(fragment), "'\(error)' should mention \(fragment)")
            }
        }
    }

    func testLimitReasonPriority() {
        let oom = CgroupStats(peakMemoryBytes: 1, oomKills: 1, pidsLimitHits: 2)
        XCTAssertEqual(SandboxExit.limitReason(timedOut: true, timeout: 3, stats: oom, status: .signaled(9), memoryMB: 64, pids: 10),
                       .timeout(seconds: 3))
        XCTAssertEqual(SandboxExit.limitReason(timedOut: false, timeout: 3, stats: oom, status: .signaled(9), memoryMB: 64, pids: 10),
                       .outOfMemory(limitMB: 64))
        let pids = CgroupStats(pidsLimitHits: 2)
        XCTAssertEqual(SandboxExit.limitReason(timedOut: false, timeout: nil, stats: pids, status: .exited(1), memoryMB: 64, pids: 10),
                       .pidsLimit(max: 10))
        XCTAssertNil(SandboxExit.limitReason(timedOut: false, timeout: nil, stats: pids, status: .exited(0), memoryMB: 64, pids: 10),
                     "a command that coped with EAGAIN and succeeded was not ended by the limit")
    }

    func testOneShotIdentityIsUnprivilegedAndPerProcess() {
        let a = SandboxIdentity.oneShot(pid: 100), b = SandboxIdentity.oneShot(pid: 101)
        XCTAssertNotEqual(a.uid, b.uid)
        XCTAssertGreaterThanOrEqual(a.uid, SandboxIdentity.base)
        XCTAssertNotEqual(SandboxIdentity.newID(), SandboxIdentity.newID())
    }
}
