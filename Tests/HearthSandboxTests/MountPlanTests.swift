import HearthModel
@testable import HearthSandbox
import XCTest

final class MountPlanTests: XCTestCase {
    func spec(layers: [String] = ["/srv/rootfs"], binds: [SandboxSpec.BindMount] = [], tmp: Int = 64) -> SandboxSpec {
        SandboxSpec(id: "sb-t", layers: layers, binds: binds, command: ["/bin/true"],
                    limits: ResourceLimits(tmpSizeMB: tmp), uid: 1000, gid: 1000)
    }

    func plan(_ s: SandboxSpec) throws -> [MountOp] {
        try MountPlan.operations(for: s, root: .mountAt("/run/hearth/rootfs"), skeleton: "/run/hearth/skeleton")
    }

    func testOrderPrivateOverlayBindsPivotThenSpecialFilesystems() throws {
        let ops = try plan(spec(binds: [.init(source: "/store/layer1", target: "/var/task")]))
        XCTAssertEqual(ops[0].kind, .mount)
        XCTAssertEqual(ops[0].target, "/")
        XCTAssertEqual(ops[0].flags & MountPlan.MS_PRIVATE, MountPlan.MS_PRIVATE)
        XCTAssertEqual(ops[1].fstype, "overlay")
        XCTAssertEqual(ops[1].data, "lowerdir=/run/hearth/skeleton:/srv/rootfs", "skeleton must be the topmost layer")
        XCTAssertEqual(ops[1].flags & MountPlan.MS_RDONLY, MountPlan.MS_RDONLY)
        XCTAssertEqual(ops[2].source, "/store/layer1")
        XCTAssertEqual(ops[2].target, "/run/hearth/rootfs/var/task")
        XCTAssertEqual(ops[3].flags & (MountPlan.MS_REMOUNT | MountPlan.MS_RDONLY), MountPlan.MS_REMOUNT | MountPlan.MS_RDONLY)
        let pivot = try XCTUnwrap(ops.firstIndex { $0.kind == .pivot })
        let proc = try XCTUnwrap(ops.firstIndex { $0.fstype == "proc" })
        let firstMask = try XCTUnwrap(ops.firstIndex { $0.kind == .mask })
        XCTAssertLessThan(pivot, proc)
        XCTAssertLessThan(proc, firstMask)
        let tmp = try XCTUnwrap(ops.lastIndex { $0.target == "/tmp" })
        XCTAssertEqual(ops[tmp].flags & (MountPlan.MS_REMOUNT | MountPlan.MS_NOSUID | MountPlan.MS_NODEV | MountPlan.MS_NOEXEC | MountPlan.MS_RDONLY),
                       MountPlan.MS_REMOUNT | MountPlan.MS_NOSUID | MountPlan.MS_NODEV, "/tmp: writable, exec allowed as on Lambda")
    }

    func testASharedRootIsNotMountedAgainButBoundOntoAndPivotedInto() throws {
        let root = "/run/hearth/roots/7-1/0"
        let ops = try MountPlan.operations(for: spec(binds: [.init(source: "/store/code", target: "/var/task")]),
                                           root: .shared(root), skeleton: "/run/hearth/skeleton")
        XCTAssertFalse(ops.contains { $0.fstype == "overlay" }, "the shared root is already mounted")
        XCTAssertEqual(ops[1].source, "/store/code")
        XCTAssertEqual(ops[1].target, root + "/var/task")
        let pivot = try XCTUnwrap(ops.first { $0.kind == .pivot })
        XCTAssertEqual(pivot.target, root)
        XCTAssertEqual(try MountPlan.rootLowerdir(for: spec(layers: ["/srv/a", "/srv/b"]), skeleton: "/run/hearth/skeleton"),
                       "/run/hearth/skeleton:/srv/a:/srv/b")
    }

    func testOneTmpfsBehindDevShmTmpAndTheMasksThenItsStagingMountIsGone() throws {
        let ops = try plan(spec(tmp: 64))
        let tmpfs = ops.filter { $0.fstype == "tmpfs" }
        XCTAssertEqual(tmpfs.count, 1, "every superblock costs each memory cgroup a shrinker slot")
        let stage = try XCTUnwrap(tmpfs.first?.target)
        XCTAssertTrue(tmpfs[0].data?.contains("size=64m") ?? false)
        XCTAssertEqual(ops.filter { $0.kind == .mount && $0.fstype == nil && $0.source?.hasPrefix(stage + "/") == true }.map(\.target),
                       ["/dev", "/dev/shm", "/tmp"])
        XCTAssertTrue(ops.filter { $0.kind == .mask }.allSatisfy { $0.data == stage + "/empty" })
        let umount = try XCTUnwrap(ops.firstIndex { $0.kind == .umount })
        XCTAssertEqual(ops[umount].target, stage)
        XCTAssertLessThan(try XCTUnwrap(ops.lastIndex { $0.kind == .mask }), umount)
        XCTAssertFalse(ops[(umount + 1)...].contains { $0.target.hasPrefix(stage) || ($0.source ?? "").hasPrefix(stage) })
        XCTAssertThrowsError(try plan(spec(binds: [.init(source: "/x", target: stage)])), "the staging directory is no bind target")
    }

    func testADiskForTmpIsAttachedAfterThePivotInsteadOfTheTmpfsBind() throws {
        let ops = try MountPlan.operations(for: spec(tmp: 64), root: .mountAt("/run/hearth/rootfs"), skeleton: "/run/hearth/skeleton", tmpDisk: 42)
        let attach = try XCTUnwrap(ops.firstIndex { $0.kind == .attach })
        XCTAssertEqual(ops[attach].target, "/tmp")
        XCTAssertEqual(ops[attach].fd, 42)
        XCTAssertLessThan(try XCTUnwrap(ops.firstIndex { $0.kind == .pivot }), attach)
        XCTAssertEqual(ops.filter { $0.target == "/tmp" }.count, 1, "nothing of the tmpfs is bound at /tmp")
        XCTAssertEqual(ops.filter { $0.kind == .mount && $0.fstype == nil && $0.source?.hasSuffix("/tmp") == true }.count, 0)
        XCTAssertTrue(ops.contains { $0.target == "/dev/shm" }, "/dev/shm stays on the tmpfs")
    }

    func testDevIsMinimalAndReadOnly() throws {
        let ops = try plan(spec())
        let nodes = ops.filter { $0.kind == .mknod }.map(\.target)
        let stage = MountPlan.scratchStaging
        XCTAssertEqual(Set(nodes), Set(["null", "zero", "full", "random", "urandom", "tty"].map { stage + "/dev/" + $0 }))
        let remount = try XCTUnwrap(ops.firstIndex { $0.target == "/dev" && $0.flags & MountPlan.MS_REMOUNT != 0 })
        XCTAssertEqual(ops[remount].flags & (MountPlan.MS_BIND | MountPlan.MS_RDONLY), MountPlan.MS_BIND | MountPlan.MS_RDONLY,
                       "read-only on /dev's mount only: the superblock stays writable for /tmp")
        XCTAssertLessThan(try XCTUnwrap(ops.lastIndex { $0.kind == .mknod || $0.kind == .symlink }), remount)
    }

    func testEveryMaskedAndReadOnlyPathIsCovered() throws {
        let ops = try plan(spec())
        XCTAssertEqual(ops.filter { $0.kind == .mask }.map(\.target), MountPlan.maskedPaths)
        XCTAssertTrue(ops.filter { $0.kind == .mask }.allSatisfy { $0.source == "/dev/null" && $0.optional })
        for path in MountPlan.readOnlyPaths {
            XCTAssertTrue(ops.contains { $0.target == path && $0.flags & MountPlan.MS_RDONLY != 0 }, path)
        }
    }

    func testHostileLayerPathsAndTargetsAreRejected() {
        XCTAssertThrowsError(try plan(spec(layers: ["/a:b"])))
        XCTAssertThrowsError(try plan(spec(layers: ["relative/dir"])))
        XCTAssertThrowsError(try plan(spec(layers: ["/a,upperdir=/etc"])))
        XCTAssertThrowsError(try plan(spec(binds: [.init(source: "/x", target: "/etc")]))) { error in
            XCTAssertTrue("\(error)".contains("/etc"))
        }
    }
}
