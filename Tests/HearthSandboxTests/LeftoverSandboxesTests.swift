import Foundation
import HearthCgroups
import HearthModel
@testable import HearthSandbox
import XCTest

/// Which sandbox cgroups a starting daemon sweeps: those whose owner is gone, never a live one's.
final class LeftoverSandboxesTests: XCTestCase {
    var leases = ""

    override func setUpWithError() throws {
        leases = NSTemporaryDirectory() + "uid-blocks-" + UUID().uuidString
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: leases) }

    func testOnlyCgroupsOfOwnersThatAreGoneAreRemoved() throws {
        let own = try UIDBlockLease.acquire(directory: leases)
        let other = try UIDBlockLease.acquire(directory: leases)
        var gone: UIDBlockLease? = try UIDBlockLease.acquire(directory: leases)
        XCTAssertEqual([own.block, other.block, gone?.block], [0, 1, 2], "each lease takes the first free block")
        gone = nil
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: leases).sorted(), ["0", "1"], "a released block's file goes with it")
        let dead = try deadPid()
        let cgroups = RecordingCgroups(names: [
            "sb-d0-00000000000000a0",  // this daemon's block: a previous owner's
            "sb-d1-00000000000000a1",  // a live daemon's
            "sb-d2-00000000000000a2",  // a block nobody holds
            "sb-p\(getpid())-00000000000000a3",  // a live one-shot command's
            "sb-p\(dead)-00000000000000a4",  // a one-shot command that is gone
            "sb-0123456789abcdef",  // an older Hearth's name
        ])
        let swept = LeftoverSandboxes.sweep(cgroups, ownBlock: own.block, leaseDirectory: leases)
        XCTAssertEqual(swept.removed, ["sb-0123456789abcdef", "sb-d0-00000000000000a0", "sb-d2-00000000000000a2", "sb-p\(dead)-00000000000000a4"])
        XCTAssertEqual(cgroups.names, ["sb-d1-00000000000000a1", "sb-p\(getpid())-00000000000000a3"])
        XCTAssertTrue(UIDBlockLease.isHeld(other.block, directory: leases))
        XCTAssertFalse(UIDBlockLease.isHeld(2, directory: leases), "checking a block does not keep it")
        XCTAssertEqual(try UIDBlockLease.acquire(directory: leases).block, 2)
    }

    func testSandboxIDsNameTheirOwner() {
        let id = SandboxIdentity.newID()
        XCTAssertEqual(SandboxIdentity.owner(ofID: id), .oneShot(pid: getpid()), id)
        XCTAssertEqual(SandboxIdentity.owner(ofID: "sb-d12-0123456789abcdef"), .daemon(block: 12))
        for bad in ["sb-d-0123456789abcdef", "sb-x1-0123456789abcdef", "sb-d1-0123", "sb-d99999999999-0123456789abcdef", "other"] {
            XCTAssertNil(SandboxIdentity.owner(ofID: bad), bad)
        }
    }

    func testBlocksHoldTheirOwnUIDs() throws {
        let a = try UIDBlockLease.acquire(directory: leases)
        let b = try UIDBlockLease.acquire(directory: leases)
        XCTAssertEqual(a.uids.count, 65_536)
        XCTAssertFalse(a.uids.overlaps(b.uids))
        XCTAssertLessThan(b.uids.upperBound, SandboxIdentity.oneShot(pid: 1).uid, "below the one-shot commands' uids")
    }

    /// A pid that was just used and is free (its process exited and was reaped).
    func deadPid() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }
}

/// Sandbox cgroups by name, for the sweep's decisions alone.
final class RecordingCgroups: CgroupManager, @unchecked Sendable {
    var names: Set<String>
    init(names: Set<String>) { self.names = names }
    var kind: String { "recording" }
    var parentDirectories: [String] { [] }
    func createSandboxCgroup(id: String, limits: ResourceLimits) throws -> any SandboxCgroup { throw HearthError.cgroup("unused") }
    func releaseIfUnused() {}
    func sandboxCgroupNames() -> Set<String> { names }
    func removeSandboxCgroup(named name: String) throws { names.remove(name) }
}
