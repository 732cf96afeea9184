import ArgumentParser
import CBenchSupport
import Foundation
import HearthCgroups
import HearthSandbox

/// crun, the peer, as the benchmarks run it: an OCI bundle with a Hearth sandbox's isolation, a
/// mount namespace without cgroup2 on hybrid hosts (crun 1.8 refuses them), and every container's
/// cgroups below the benchmark's own, removed afterwards with any parent directory crun made for them
/// (runc, given the same configuration, puts its cgroups there too).
final class CrunPeer {
    let path: String
    /// -1 when crun can run in our own mount namespace.
    let mountNamespace: Int32
    /// Where the containers' cgroups go, as a cgroup path (crun uses the same one in every hierarchy).
    let cgroupParent: String
    /// Directories of `cgroupParent` and its ancestors, in every hierarchy, that did not exist before.
    private let newDirectories: [String]
    let notes: [String]

    /// nil (with the reason in `skipped`) if crun is not installed or cannot run here.
    static func make(skipped: inout String?) -> CrunPeer? {
        guard let path = which("crun") else {
            skipped = "crun not installed: skipped"
            return nil
        }
        guard let layout = try? CgroupLayout.current() else {
            skipped = "could not read this process's cgroups: crun skipped"
            return nil
        }
        var notes: [String] = []
        var ns: Int32 = -1
        if !layout.v1.isEmpty, let unified = layout.unifiedMountPoint {
            ns = hearth_bench_mntns_without(unified)
            guard ns >= 0 else {
                skipped = "could not prepare a mount namespace without \(unified) for crun (it refuses hybrid cgroups): skipped"
                return nil
            }
            notes.append("crun runs in a mount namespace without \(unified) (crun 1.8 refuses hybrid cgroups); one setns per run is charged to it")
        }
        // Our own cgroup as /proc/self/cgroup names it: the memory controller's on v1, else cgroup2's.
        let own = ownCgroupPath(controller: layout.v1.isEmpty ? nil : "memory") ?? "/"
        let parent = (own == "/" ? "" : own) + "/hearth-bench-peers-\(getpid())"
        return CrunPeer(path: path, mountNamespace: ns, cgroupParent: parent, newDirectories: missingDirectories(of: parent), notes: notes)
    }

    private init(path: String, mountNamespace: Int32, cgroupParent: String, newDirectories: [String], notes: [String]) {
        self.path = path
        self.mountNamespace = mountNamespace
        self.cgroupParent = cgroupParent
        self.newDirectories = newDirectories
        self.notes = notes
    }

    /// Runs crun with `arguments` (stdio on /dev/null) and waits; true if it exited 0.
    @discardableResult
    func run(_ arguments: [String]) -> Bool {
        var cArgs: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        return hearth_bench_run(path, cArgs, mountNamespace) == 0
    }

    /// Lets go of the mount namespace and removes what crun left of the containers' cgroup parents;
    /// call after every container is deleted.
    func close() {
        if mountNamespace >= 0 { Glibc.close(mountNamespace) }
        for dir in newDirectories.reversed() { rmdir(dir) }
    }

    /// The OCI configuration of a container in `bundle` (its rootfs beside the file) running `args` with a
    /// Hearth sandbox's isolation: pid, net, ipc, uts, mount and cgroup namespaces, a read-only root, a /tmp
    /// tmpfs, memory and pids limits, Hearth's masked and read-only paths, no capabilities. Its cgroup is
    /// `cgroupParent`/`cgroup`: containers that may run at the same time need configurations of their own.
    /// Returns the file's path, for `crun run --config`.
    func writeConfig(bundle: String, cgroup: String, args: [String], memoryMB: Int, pids: Int) throws -> String {
        let config: [String: Any] = [
            "ociVersion": "1.0.0",
            "process": [
                "terminal": false, "user": ["uid": 0, "gid": 0], "args": args,
                "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": true,
                "capabilities": ["bounding": [String](), "effective": [String](), "permitted": [String](), "ambient": [String]()],
            ],
            "root": ["path": "rootfs", "readonly": true],
            "hostname": "bench",
            "mounts": [
                ["destination": "/proc", "type": "proc", "source": "proc"],
                ["destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]],
                ["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=64m"]],
            ],
            "linux": [
                "namespaces": ["pid", "network", "ipc", "uts", "mount", "cgroup"].map { ["type": $0] },
                "resources": ["memory": ["limit": memoryMB * 1024 * 1024], "pids": ["limit": pids]],
                "maskedPaths": MountPlan.maskedPaths,
                "readonlyPaths": MountPlan.readOnlyPaths,
                "cgroupsPath": cgroupParent + "/" + cgroup,
            ],
        ]
        let file = bundle + "/config-\(cgroup).json"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: file))
        return file
    }
}

/// A minimal rootfs: busybox with the given applets linked to it.
func makeBusyboxRootfs(_ rootfs: String, applets: [String]) throws {
    let fm = FileManager.default
    guard fm.isExecutableFile(atPath: "/bin/busybox") else { throw ValidationError("/bin/busybox missing: run scripts/setup") }
    for dir in ["bin", "proc", "dev", "sys", "tmp"] {
        try fm.createDirectory(atPath: rootfs + "/" + dir, withIntermediateDirectories: true)
    }
    try fm.copyItem(atPath: "/bin/busybox", toPath: rootfs + "/bin/busybox")
    for applet in applets { try fm.createSymbolicLink(atPath: rootfs + "/bin/" + applet, withDestinationPath: "busybox") }
}

/// This process's cgroup path for a v1 controller, or cgroup2's with nil.
private func ownCgroupPath(controller: String?) -> String? {
    guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { continue }
        if let controller {
            if parts[1].split(separator: ",").contains(Substring(controller)) { return String(parts[2]) }
        } else if parts[0] == "0" {
            return String(parts[2])
        }
    }
    return nil
}

/// `cgroupPath` and its ancestors in every mounted cgroup hierarchy (named ones such as systemd's
/// included, crun makes its directories there too) that do not exist yet, shallowest first.
private func missingDirectories(of cgroupPath: String) -> [String] {
    let mountinfo = procFile("/proc/self/mountinfo")
    var mounts: [String] = []
    for line in mountinfo.split(separator: "\n") {
        let halves = line.components(separatedBy: " - ")
        guard halves.count == 2, let fstype = halves[1].split(separator: " ").first, fstype == "cgroup" || fstype == "cgroup2" else { continue }
        let left = halves[0].split(separator: " ")
        if left.count >= 5, left[3] == "/" { mounts.append(String(left[4])) }
    }
    let components = cgroupPath.split(separator: "/")
    var missing: [String] = []
    for mount in mounts {
        var dir = mount
        for component in components {
            dir += "/" + component
            if access(dir, F_OK) != 0 { missing.append(dir) }
        }
    }
    return missing
}
