#if canImport(Glibc)
import Glibc
#endif
import CSandboxInit
import CSyscalls
import HearthModel

/// One step the child performs; a Swift mirror of struct hearth_op.
public struct MountOp: Sendable, Equatable {
    public enum Kind: Int32, Sendable { case mount = 1, mkdir, mknod, symlink, pivot, mask, umount, attach }
    public var kind: Kind
    public var source: String?
    public var target: String
    public var fstype: String?
    public var data: String?
    public var flags: UInt
    public var mode: UInt32 = 0
    public var device: UInt64 = 0
    /// `.attach`: a detached mount (made by the parent) the child moves to `target`.
    public var fd: Int32 = -1
    /// A missing target is skipped (masked /proc paths that this kernel lacks).
    public var optional = false

    static func mount(_ source: String?, _ target: String, _ fstype: String?, _ flags: UInt, _ data: String? = nil, optional: Bool = false) -> MountOp {
        MountOp(kind: .mount, source: source, target: target, fstype: fstype, data: data, flags: flags, optional: optional)
    }
}

/// Turns a spec into the ordered list of mount operations of DESIGN §3 step 4.
/// Pure: unit tests check the plan without root.
public enum MountPlan {
    static let MS_RDONLY: UInt = 1, MS_NOSUID: UInt = 2, MS_NODEV: UInt = 4, MS_NOEXEC: UInt = 8
    static let MS_REMOUNT: UInt = 32, MS_BIND: UInt = 4096, MS_REC: UInt = 16384, MS_PRIVATE: UInt = 1 << 18

    /// runc's masked paths plus what current Docker engines add.
    public static let maskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
        "/proc/scsi",
    ]
    public static let readOnlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// Directories of the skeleton layer: always on top, so no package can turn a mount point into a symlink.
    public static let skeletonDirectories = ["proc", "dev", "sys", "tmp", "var", "var/task", "var/runtime", "opt"]

    static let devices: [(name: String, major: UInt32, minor: UInt32)] = [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
    ]

    /// Where the sandbox's one tmpfs is mounted while its parts are bound into place: a skeleton directory
    /// that nothing else mounts on and that is empty again afterwards.
    static let scratchStaging = "/sys"

    /// Where a function's packages may be mounted.
    public static let bindTargets = ["var/task", "var/runtime", "opt"]

    /// overlay's lowerdir list ("top:...:bottom"); paths with its separators are refused rather than escaped.
    static func lowerdirList(topFirst lowers: [String]) throws -> String {
        for dir in lowers where dir.contains(where: { $0 == ":" || $0 == "," || $0 == "\\" || $0 == "\n" }) || !dir.hasPrefix("/") {
            throw HearthError.rootfs("layer path must be absolute and free of ':', ',' and '\\': \(dir)")
        }
        let list = lowers.joined(separator: ":")
        guard list.utf8.count < 4000 else { throw HearthError.rootfs("too many layers for one overlay mount (\(lowers.count))") }
        return list
    }

    /// A bind's target relative to the root: only the skeleton's mount points, so no package decides where code lands.
    static func bindTarget(_ bind: SandboxSpec.BindMount) throws -> String {
        let relative = String(bind.target.drop(while: { $0 == "/" }))
        guard bindTargets.contains(relative) else {
            throw HearthError.invalidArgument("mount target \(bind.target) is not one of /\(bindTargets.joined(separator: ", /"))")
        }
        return relative
    }

    /// The size and inodes of the tmpfs behind /tmp and /dev/shm for these limits (a held sandbox's init resizes to them).
    /// The inodes include a few for /dev's nodes.
    static func tmpSizes(_ limits: ResourceLimits) -> (sizeMB: Int, inodes: Int) {
        (limits.tmpSizeMB, max(1024, limits.tmpSizeMB * 256) + 32)
    }

    /// The root's overlay layers ("top:...:bottom"): the skeleton over the spec's layers. Lower directories
    /// only, no upper: the root is read-only by construction.
    public static func rootLowerdir(for spec: SandboxSpec, skeleton: String) throws -> String {
        try lowerdirList(topFirst: [skeleton] + spec.layers)
    }

    /// Where the child finds its root.
    public enum Root: Sendable, Equatable {
        /// An empty host directory the child mounts the root overlay on, in its own namespace.
        case mountAt(String)
        /// A root overlay already mounted there (`SharedRoots`): the child pivots into its copy of it.
        case shared(String)

        var path: String {
            switch self {
            case .mountAt(let path), .shared(let path): return path
            }
        }
    }

    /// - Parameters:
    ///   - skeleton: the skeleton layer directory.
    ///   - tmpDisk: a detached mount for /tmp (`EphemeralDisks`); without one, /tmp is part of the sandbox's tmpfs.
    public static func operations(for spec: SandboxSpec, root: Root, skeleton: String, tmpDisk: Int32? = nil) throws -> [MountOp] {
        let rootMountPoint = root.path
        var ops: [MountOp] = []
        ops.append(.mount(nil, "/", nil, MS_REC | MS_PRIVATE))
        if case .mountAt = root {
            ops.append(.mount("overlay", rootMountPoint, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV,
                              "lowerdir=" + (try rootLowerdir(for: spec, skeleton: skeleton))))
        }

        for bind in spec.binds {
            let target = rootMountPoint + "/" + (try bindTarget(bind))
            if bind.sources.count == 1 {
                ops.append(.mount(bind.sources[0], target, nil, MS_BIND | MS_REC))
                ops.append(.mount(nil, target, nil, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV))
            } else {
                ops.append(.mount("overlay", target, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV,
                                  "lowerdir=" + (try lowerdirList(topFirst: bind.sources.reversed()))))
            }
        }

        ops.append(MountOp(kind: .pivot, target: rootMountPoint, flags: 0))
        ops.append(.mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC))

        // One tmpfs holds /dev, /dev/shm, /tmp and the masks' empty directory, as subdirectories bound into
        // place from a staging mount that is then taken away. Every superblock costs each memory cgroup on
        // the box a shrinker slot, so each one a sandbox brings costs memory in proportion to the sandboxes held.
        let tmp = tmpSizes(spec.limits)
        let stage = scratchStaging
        ops.append(.mount("tmpfs", stage, "tmpfs", MS_NOSUID, "mode=755,size=\(tmp.sizeMB)m,nr_inodes=\(tmp.inodes)"))
        for (dir, mode) in [("dev", 0o755), ("tmp", 0o1777), ("shm", 0o1777), ("empty", 0o555),
                            ("dev/pts", 0o755), ("dev/shm", 0o755)] as [(String, UInt32)] {
            ops.append(MountOp(kind: .mkdir, target: stage + "/" + dir, flags: 0, mode: mode))
        }
        for dev in devices {
            ops.append(MountOp(kind: .mknod, target: stage + "/dev/" + dev.name, flags: 0, mode: UInt32(S_IFCHR) | 0o666,
                               device: hearth_makedev(dev.major, dev.minor)))
        }
        for (link, target) in [("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                               ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")] {
            ops.append(MountOp(kind: .symlink, source: target, target: stage + "/dev/" + link, flags: 0))
        }
        // A bind keeps its source mount's flags until remounted; the superblock stays writable for /tmp.
        ops.append(.mount(stage + "/dev", "/dev", nil, MS_BIND))
        ops.append(.mount(nil, "/dev", nil, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC))
        ops.append(.mount(stage + "/shm", "/dev/shm", nil, MS_BIND))
        ops.append(.mount(nil, "/dev/shm", nil, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC))
        // The only writable place, sized like Lambda's ephemeral storage; exec allowed as on Lambda. On a disk of
        // its own when there is one (mounted nosuid and nodev), else in the tmpfs /dev/shm shares, charged as memory.
        if let tmpDisk {
            ops.append(MountOp(kind: .attach, target: "/tmp", flags: 0, fd: tmpDisk))
        } else {
            ops.append(.mount(stage + "/tmp", "/tmp", nil, MS_BIND))
            ops.append(.mount(nil, "/tmp", nil, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV))
        }
        ops.append(.mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"))

        for path in maskedPaths {
            ops.append(MountOp(kind: .mask, source: "/dev/null", target: path, data: stage + "/empty", flags: 0, optional: true))
        }
        ops.append(MountOp(kind: .umount, target: stage, flags: 0))
        for path in readOnlyPaths {
            ops.append(.mount(path, path, nil, MS_BIND | MS_REC, optional: true))
            ops.append(.mount(nil, path, nil, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, optional: true))
        }
        return ops
    }
}
