import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HearthModel

/// Where each hierarchy is mounted and where this process sits in it, read from
/// /proc/self/mountinfo and /proc/self/cgroup.
public struct CgroupLayout: Sendable, Equatable {
    /// A v1 hierarchy: its controllers, and the directory of our own cgroup in it.
    public struct V1Hierarchy: Sendable, Equatable {
        public var controllers: [String]
        public var ownDirectory: String
    }

    public var v1: [V1Hierarchy]
    /// Our own cgroup in the cgroup2 hierarchy, if one is mounted.
    public var unifiedOwnDirectory: String?
    /// The mount point of cgroup2, to tell its root from a child.
    public var unifiedMountPoint: String?
    /// A cgroup hierarchy is mounted with favordynmods. Without it the kernel makes a lone cgroup.procs
    /// write wait for an RCU grace period (5-20 ms measured), which a cold start's join pays whenever no
    /// other join ran just before; the switch is global, so any hierarchy's option counts.
    public var favorsDynamicModifications = false

    public func v1Directory(for controller: String) -> String? {
        v1.first { $0.controllers.contains(controller) }?.ownDirectory
    }

    /// Parses the two proc files. Pure, so it is unit tested with text.
    public static func parse(procSelfCgroup: String, mountinfo: String) -> CgroupLayout {
        // hierarchy-id:controllers:path
        var ownV1: [String: String] = [:]
        var ownUnified: String?
        for line in procSelfCgroup.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0] == "0" && parts[1].isEmpty {
                ownUnified = String(parts[2])
            } else {
                for c in parts[1].split(separator: ",") { ownV1[String(c)] = String(parts[2]) }
            }
        }
        var layout = CgroupLayout(v1: [], unifiedOwnDirectory: nil, unifiedMountPoint: nil)
        var seenMounts = Set<String>()
        for line in mountinfo.split(separator: "\n") {
            // Six fields, optional ones, "-", then the filesystem's type, source and options. Paths
            // escape their spaces, so the first "-" field after the sixth is the separator.
            let fields = line.split(separator: " ")
            guard fields.count >= 10, let dash = fields[6...].firstIndex(of: "-"), fields.count - dash > 3 else { continue }
            let root = unescape(String(fields[3]))
            let mountPoint = unescape(String(fields[4]))
            let right = Array(fields[(dash + 1)...])
            let fstype = right[0]
            if fstype == "cgroup2" || fstype == "cgroup", right[2].split(separator: ",").contains("favordynmods") {
                layout.favorsDynamicModifications = true
            }
            if fstype == "cgroup2" {
                guard layout.unifiedMountPoint == nil, let own = ownUnified else { continue }
                layout.unifiedMountPoint = mountPoint
                layout.unifiedOwnDirectory = join(mountPoint, relative(own, to: root))
            } else if fstype == "cgroup" {
                guard !seenMounts.contains(mountPoint) else { continue }
                seenMounts.insert(mountPoint)
                let options = right[2].split(separator: ",").map(String.init)
                let controllers = options.filter { ownV1[$0] != nil && !$0.hasPrefix("name=") }
                guard let first = controllers.first, let own = ownV1[first] else { continue }
                layout.v1.append(V1Hierarchy(controllers: controllers, ownDirectory: join(mountPoint, relative(own, to: root))))
            }
        }
        return layout
    }

    /// Reads the running process's layout.
    public static func current() throws -> CgroupLayout {
        let fs = KernelCgroupFilesystem()
        guard let cgroup = fs.read("/proc/self/cgroup"), let mounts = fs.read("/proc/self/mountinfo") else {
            throw HearthError.cgroup("cannot read /proc/self/cgroup or /proc/self/mountinfo")
        }
        return parse(procSelfCgroup: cgroup, mountinfo: mounts)
    }

    private static func relative(_ path: String, to root: String) -> String {
        if root == "/" { return path }
        if path == root { return "/" }
        if path.hasPrefix(root + "/") { return String(path.dropFirst(root.count)) }
        return path
    }

    private static func join(_ base: String, _ path: String) -> String {
        path == "/" ? base : base + path
    }

    /// mountinfo escapes space, tab, newline and backslash as octal.
    private static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = [UInt8]()
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 92, i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Chooses the implementation for this machine.
public enum CgroupDetector {
    /// v1 resource controllers we need; v2 is used when memory is not on v1.
    static let v1Controllers = ["memory", "pids", "cpu"]

    /// - Parameter v1Freezer: on v1 and hybrid hosts, put sandboxes in the freezer hierarchy too (v2 freezes
    ///   without any controller).
    public static func manager(layout: CgroupLayout, selfPid: Int32 = getpid(), v1Freezer: Bool = true) throws -> any CgroupManager {
        if layout.v1Directory(for: "memory") != nil {
            let v1 = try CgroupV1Manager(layout: layout, freezer: v1Freezer)
            if let unified = layout.unifiedOwnDirectory {
                return HybridCgroupManager(v1: v1, unifiedOwnDirectory: unified)
            }
            return v1
        }
        guard let own = layout.unifiedOwnDirectory, let mount = layout.unifiedMountPoint else {
            throw HearthError.cgroup("no cgroup hierarchy with the memory controller is mounted")
        }
        return try CgroupV2Manager(ownDirectory: own, isRoot: own == mount, selfPid: selfPid)
    }

    public static func currentManager(v1Freezer: Bool = true) throws -> any CgroupManager {
        try manager(layout: CgroupLayout.current(), v1Freezer: v1Freezer)
    }
}
