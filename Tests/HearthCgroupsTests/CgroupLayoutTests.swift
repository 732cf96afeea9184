import HearthCgroups
import XCTest

final class CgroupLayoutTests: XCTestCase {
    // As read on the development machines: v1 controllers plus a controller-less cgroup2.
    let hybridCgroup = """
        9:name=systemd:/
        8:pids:/
        4:memory:/process_api/6b9a
        2:cpuacct:/
        1:cpu:/
        0::/
        """
    let hybridMounts = """
        30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        38 30 0:34 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        39 30 0:35 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        40 30 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """

    func testHybridLayout() throws {
        let layout = CgroupLayout.parse(procSelfCgroup: hybridCgroup, mountinfo: hybridMounts)
        XCTAssertEqual(layout.v1Directory(for: "memory"), "/sys/fs/cgroup/memory/process_api/6b9a")
        XCTAssertEqual(layout.v1Directory(for: "pids"), "/sys/fs/cgroup/pids")
        XCTAssertEqual(layout.v1Directory(for: "cpu"), "/sys/fs/cgroup/cpu")
        XCTAssertNil(layout.v1Directory(for: "systemd"), "named hierarchies carry no controllers")
        XCTAssertEqual(layout.unifiedOwnDirectory, "/sys/fs/cgroup/unified")
        XCTAssertEqual(layout.unifiedMountPoint, "/sys/fs/cgroup/unified")
    }

    func testFavordynmodsOnAnyHierarchyIsSeen() {
        XCTAssertFalse(CgroupLayout.parse(procSelfCgroup: hybridCgroup, mountinfo: hybridMounts).favorsDynamicModifications)
        let favored = hybridMounts.replacingOccurrences(of: "cgroup2 cgroup2 rw", with: "cgroup2 cgroup2 rw,favordynmods")
        XCTAssertTrue(CgroupLayout.parse(procSelfCgroup: hybridCgroup, mountinfo: favored).favorsDynamicModifications)
        let v2 = CgroupLayout.parse(procSelfCgroup: "0::/hearth\n",
                                    mountinfo: "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,favordynmods\n")
        XCTAssertTrue(v2.favorsDynamicModifications)
        let elsewhere = "25 20 0:22 / /favordynmods rw - tmpfs favordynmods rw,favordynmods\n"
        XCTAssertFalse(CgroupLayout.parse(procSelfCgroup: "0::/\n", mountinfo: elsewhere).favorsDynamicModifications,
                       "only a cgroup hierarchy's options count")
    }

    func testPureV2Layout() {
        let layout = CgroupLayout.parse(
            procSelfCgroup: "0::/system.slice/hearth.service\n",
            mountinfo: "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n")
        XCTAssertTrue(layout.v1.isEmpty)
        XCTAssertEqual(layout.unifiedOwnDirectory, "/sys/fs/cgroup/system.slice/hearth.service")
    }

    /// Optional fields (propagation) come between the sixth field and the separator.
    func testOptionalFieldsBeforeTheSeparator() {
        let layout = CgroupLayout.parse(
            procSelfCgroup: "0::/system.slice/hearth.service\n",
            mountinfo: "25 20 0:22 / /sys/fs/cgroup rw,nosuid shared:9 master:1 - cgroup2 cgroup2 rw,nsdelegate,favordynmods\n")
        XCTAssertEqual(layout.unifiedOwnDirectory, "/sys/fs/cgroup/system.slice/hearth.service")
        XCTAssertTrue(layout.favorsDynamicModifications)
    }

    func testCoMountedControllersAndContainerMountRoot() {
        // Inside a container the hierarchy is mounted from our own cgroup, so the mount root is stripped.
        let layout = CgroupLayout.parse(
            procSelfCgroup: "3:cpu,cpuacct:/docker/abc\n2:memory:/docker/abc\n1:pids:/docker/abc\n",
            mountinfo: """
                31 30 0:27 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct
                34 30 0:30 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory
                38 30 0:34 /docker/abc /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids
                """)
        XCTAssertEqual(layout.v1Directory(for: "cpu"), "/sys/fs/cgroup/cpu,cpuacct")
        XCTAssertEqual(layout.v1Directory(for: "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct")
        XCTAssertEqual(layout.v1Directory(for: "memory"), "/sys/fs/cgroup/memory")
        XCTAssertNil(layout.unifiedOwnDirectory)
    }

    func testEscapedMountPoint() {
        let layout = CgroupLayout.parse(
            procSelfCgroup: "0::/a\n", mountinfo: "25 20 0:22 / /mnt/my\\040cgroup rw - cgroup2 cgroup2 rw\n")
        XCTAssertEqual(layout.unifiedOwnDirectory, "/mnt/my cgroup/a")
    }

    func testDetectorPicksHybridWhenMemoryIsOnV1() throws {
        let layout = CgroupLayout.parse(procSelfCgroup: hybridCgroup, mountinfo: hybridMounts)
        XCTAssertEqual(try CgroupDetector.manager(layout: layout).kind, "hybrid")
        let v1Only = CgroupLayout.parse(procSelfCgroup: hybridCgroup, mountinfo: hybridMounts.split(separator: "\n").dropLast().joined(separator: "\n"))
        XCTAssertEqual(try CgroupDetector.manager(layout: v1Only).kind, "v1")
    }

    func testNoMemoryHierarchyIsAnError() {
        let layout = CgroupLayout.parse(procSelfCgroup: "", mountinfo: "")
        XCTAssertThrowsError(try CgroupDetector.manager(layout: layout))
    }
}
