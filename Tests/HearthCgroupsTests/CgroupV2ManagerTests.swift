import HearthCgroups
import HearthModel
import XCTest

final class CgroupV2ManagerTests: XCTestCase {
    var fs: FakeCgroupV2Filesystem!

    override func setUpWithError() throws { fs = try FakeCgroupV2Filesystem() }
    override func tearDown() { fs.destroy() }

    func testDelegatedServiceMovesItselfIntoALeafAndEnablesControllers() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [4242])
        let manager = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 4242, fs: fs)

        XCTAssertEqual(fs.pids(own + "/cgroup.procs"), [], "the supervisor must leave its cgroup before enabling controllers")
        XCTAssertEqual(fs.pids(own + "/supervisor/cgroup.procs"), [4242])
        XCTAssertEqual(fs.words(own + "/cgroup.subtree_control"), ["cpu", "memory", "pids"])
        XCTAssertEqual(fs.words(own + "/hearth/cgroup.subtree_control"), ["cpu", "memory", "pids"])
        XCTAssertEqual(manager.parentDirectories, [own + "/hearth"])
    }

    func testTheSupervisorOutweighsItsSandboxesForCPU() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [4242])
        _ = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 4242, fs: fs)
        XCTAssertEqual(fs.read(own + "/supervisor/cpu.weight"), String(CgroupV2Manager.supervisorWeight))
        XCTAssertEqual(fs.read(own + "/hearth/cpu.weight"), "100", "all sandboxes together weigh the default")
    }

    func testSandboxCgroupGetsLambdaLimits() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [7])
        let manager = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 7, fs: fs)
        let limits = ResourceLimits(memoryMB: 1769, timeoutSeconds: 3, pids: 64, tmpSizeMB: 16)
        let cgroup = try manager.createSandboxCgroup(id: "sb-1", limits: limits)
        let dir = own + "/hearth/sb-1"

        XCTAssertEqual(fs.read(dir + "/memory.max"), String(1769 * 1024 * 1024))
        XCTAssertEqual(fs.read(dir + "/memory.swap.max"), "0")
        XCTAssertEqual(fs.read(dir + "/memory.oom.group"), "1")
        XCTAssertEqual(fs.read(dir + "/pids.max"), "64")
        XCTAssertEqual(fs.read(dir + "/cpu.max"), "100000 100000", "1,769 MB is one full vCPU")
        XCTAssertEqual(fs.read(dir + "/cpu.weight"), "100")
        XCTAssertEqual(cgroup.joinFiles, [dir + "/cgroup.procs"])
    }

    /// A sandbox is frozen whole through its own cgroup.freeze (a core file, there without any controller).
    func testASandboxFreezesThroughItsOwnCgroup() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [7])
        let manager = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 7, fs: fs)
        let cgroup = try manager.createSandboxCgroup(id: "sb-f", limits: ResourceLimits())
        let dir = own + "/hearth/sb-f"
        let freezer = try XCTUnwrap(cgroup.freezer)
        XCTAssertEqual(freezer.controlPath, dir + "/cgroup.freeze")
        try freezer.freeze()
        XCTAssertEqual(fs.read(dir + "/cgroup.events")?.contains("frozen 1"), true)
        try freezer.thaw()
        XCTAssertEqual(fs.read(dir + "/cgroup.events")?.contains("frozen 0"), true)
        try cgroup.remove()
    }

    /// A dead daemon's guard thaws that daemon's frozen sandboxes, and only those.
    func testThawAllThawsOnlyTheSandboxesItIsAskedFor() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [7])
        let manager = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 7, fs: fs)
        let mine = try manager.createSandboxCgroup(id: "sb-d1-0000000000000001", limits: ResourceLimits())
        let other = try manager.createSandboxCgroup(id: "sb-d2-0000000000000002", limits: ResourceLimits())
        try mine.freezer?.freeze()
        try other.freezer?.freeze()
        let thawed = SandboxFreezer.thawAll(in: manager.parentDirectories, belongs: { $0.hasPrefix("sb-d1-") }, fs: fs)
        XCTAssertEqual(thawed, ["sb-d1-0000000000000001"])
        XCTAssertEqual(fs.read(own + "/hearth/sb-d1-0000000000000001/cgroup.freeze"), "0")
        XCTAssertEqual(fs.read(own + "/hearth/sb-d2-0000000000000002/cgroup.freeze"), "1", "another daemon's sandbox stays as it is")
    }

    func testOtherProcessesInOurCgroupIsAClearError() throws {
        let own = try fs.makeSystemCgroup("user.slice/session-1.scope", pids: [100, 4242])
        XCTAssertThrowsError(try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 4242, fs: fs)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("holds other processes"), text)
            XCTAssertTrue(text.contains("Delegate=yes"), text)
        }
        XCTAssertFalse(fs.exists(own + "/hearth"), "nothing is created when setup fails")
    }

    func testMissingControllersAreNamed() throws {
        let own = try fs.makeSystemCgroup("system.slice/x.service", pids: [1], delegate: false)
        XCTAssertThrowsError(try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 1, fs: fs)) { error in
            XCTAssertTrue("\(error)".contains("memory, pids are not delegated"), "\(error)")
        }
    }

    func testRootCgroupKeepsItsProcesses() throws {
        try fs.set(fs.root + "/cgroup.procs", "1\n99")
        try fs.set(fs.root + "/cgroup.subtree_control", "")
        _ = try CgroupV2Manager(ownDirectory: fs.root, isRoot: true, selfPid: 99, fs: fs)
        XCTAssertEqual(fs.pids(fs.root + "/cgroup.procs"), [1, 99])
        XCTAssertFalse(fs.exists(fs.root + "/supervisor"))
        XCTAssertTrue(fs.words(fs.root + "/hearth/cgroup.subtree_control").isSuperset(of: ["memory", "pids"]))
    }

    func testStatsReadPeakOOMAndPidsEvents() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [7])
        let manager = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 7, fs: fs)
        let cgroup = try manager.createSandboxCgroup(id: "sb-2", limits: ResourceLimits())
        let dir = own + "/hearth/sb-2"
        try fs.set(dir + "/memory.peak", "12345678\n")
        try fs.set(dir + "/memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\noom_group_kill 1\n")
        try fs.set(dir + "/pids.events", "max 3\n")
        XCTAssertEqual(cgroup.stats(), CgroupStats(peakMemoryBytes: 12_345_678, oomKills: 1, pidsLimitHits: 3))
        XCTAssertEqual(cgroup.peakMemoryBytes(), 12_345_678)
        try fs.set(dir + "/memory.peak", "23456789\n")
        XCTAssertEqual(cgroup.peakMemoryBytes(), 23_456_789, "the peak is read anew each time")
    }

    func testRemoveRefusesWhilePopulatedThenSucceeds() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [7])
        let manager = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 7, fs: fs)
        let cgroup = try manager.createSandboxCgroup(id: "sb-3", limits: ResourceLimits())
        try fs.set(own + "/hearth/sb-3/cgroup.procs", "555")
        XCTAssertThrowsError(try cgroup.remove())
        try fs.set(own + "/hearth/sb-3/cgroup.procs", "")
        try cgroup.remove()
        XCTAssertFalse(fs.exists(own + "/hearth/sb-3"))
    }

    func testReleaseUndoesTheLeafMove() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [7])
        let manager = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 7, fs: fs)
        try manager.createSandboxCgroup(id: "sb-4", limits: ResourceLimits()).remove()
        manager.releaseIfUnused()
        XCTAssertFalse(fs.exists(own + "/hearth"))
        XCTAssertFalse(fs.exists(own + "/supervisor"))
        XCTAssertEqual(fs.pids(own + "/cgroup.procs"), [7], "the supervisor is back where it started")
        XCTAssertEqual(fs.words(own + "/cgroup.subtree_control"), [])
    }

    func testReleaseKeepsParentWhileSandboxesLive() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [7])
        let manager = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 7, fs: fs)
        _ = try manager.createSandboxCgroup(id: "sb-5", limits: ResourceLimits())
        manager.releaseIfUnused()
        XCTAssertTrue(fs.exists(own + "/hearth/sb-5"))
        XCTAssertEqual(fs.pids(own + "/supervisor/cgroup.procs"), [7])
    }

    /// Two Hearth processes in the root cgroup (pure v2 without systemd) share `hearth`: one that
    /// ends releases it while the other has no sandbox, and the other's next start makes it again.
    func testASandboxStartsAfterAnotherProcessReleasedTheSharedParent() throws {
        try fs.set(fs.root + "/cgroup.procs", "1\n98\n99")
        let staying = try CgroupV2Manager(ownDirectory: fs.root, isRoot: true, selfPid: 98, fs: fs)
        let ending = try CgroupV2Manager(ownDirectory: fs.root, isRoot: true, selfPid: 99, fs: fs)
        ending.releaseIfUnused()
        XCTAssertFalse(fs.exists(fs.root + "/hearth"), "the precondition: the shared parent is gone")

        let cgroup = try staying.createSandboxCgroup(id: "sb-after", limits: ResourceLimits(memoryMB: 256, pids: 64))
        XCTAssertEqual(fs.read(fs.root + "/hearth/sb-after/memory.max"), String(256 * 1024 * 1024))
        XCTAssertEqual(fs.read(fs.root + "/hearth/sb-after/pids.max"), "64")
        try cgroup.remove()
    }

    func testDuplicateAndHostileNamesAreRejected() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [7])
        let manager = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 7, fs: fs)
        _ = try manager.createSandboxCgroup(id: "sb-6", limits: ResourceLimits())
        XCTAssertThrowsError(try manager.createSandboxCgroup(id: "sb-6", limits: ResourceLimits()))
        for bad in ["..", "../escape", "a/b", "", "x\ny"] {
            XCTAssertThrowsError(try manager.createSandboxCgroup(id: bad, limits: ResourceLimits()), bad)
        }
        XCTAssertFalse(fs.exists(own + "/escape"))
    }

    func testCPUQuotaCanBeLiftedForInitAndPutBack() throws {
        let own = try fs.makeSystemCgroup("system.slice/hearth.service", pids: [7])
        let manager = try CgroupV2Manager(ownDirectory: own, isRoot: false, selfPid: 7, fs: fs)
        let limits = ResourceLimits(memoryMB: 128)
        let cgroup = try manager.createSandboxCgroup(id: "sb-cpu", limits: limits)
        try cgroup.setCPULimit(nil)
        XCTAssertEqual(fs.read(own + "/hearth/sb-cpu/cpu.max"), "max 100000")
        try cgroup.setCPULimit(limits)
        XCTAssertEqual(fs.read(own + "/hearth/sb-cpu/cpu.max"), "7236 100000")
        XCTAssertEqual(fs.read(own + "/hearth/sb-cpu/memory.max"), String(128 * 1024 * 1024), "memory is untouched")
    }

    func testCPUShareScalesWithMemory() {
        XCTAssertEqual(CPUShare.quota(for: ResourceLimits(memoryMB: 128)), 7_236)
        XCTAssertEqual(CPUShare.quota(for: ResourceLimits(memoryMB: 3538)), 200_000)
        XCTAssertEqual(CPUShare.v1Shares(for: ResourceLimits(memoryMB: 1769)), 1024)
        XCTAssertEqual(CPUShare.v2Weight(for: ResourceLimits(memoryMB: 16)), 1)
        XCTAssertEqual(CPUShare.quota(for: ResourceLimits(memoryMB: 16)), 1_000, "the kernel's minimum quota")
    }
}
