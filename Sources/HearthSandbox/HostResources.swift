#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthCgroups

/// Counts of what sandboxes could leave behind on the host: mounts, cgroup
/// directories (below this process's cgroup in every hierarchy), network
/// namespaces (entered by a process or held open by an fd), loop devices
/// (/tmp disks) and this process's open fds. Tests and benchmarks
/// compare two of these.
public struct HostResources: Equatable, Sendable, CustomStringConvertible {
    public var mounts: Int
    public var cgroups: Int
    public var networkNamespaces: Int
    public var loopDevices: Int
    public var openFds: Int

    public static func take() -> HostResources {
        let mountinfo = procFile("/proc/self/mountinfo")
        return HostResources(mounts: mountinfo.split(separator: "\n").count, cgroups: cgroupCount(),
                             networkNamespaces: networkNamespaceCount(), loopDevices: loopDeviceCount(),
                             openFds: entries("/proc/self/fd").count)
    }

    /// Loop devices on the whole box, attached or not: a /tmp disk's detaches itself once unmounted, and the
    /// devices the kernel added for them go when their daemon shuts down.
    static func loopDeviceCount() -> Int {
        entries("/sys/block").filter { $0.hasPrefix("loop") }.count
    }

    /// Loop devices with a backing file (a live /tmp disk, or someone else's).
    public static func attachedLoopDevices() -> Int {
        entries("/sys/block").filter { $0.hasPrefix("loop") && access("/sys/block/\($0)/loop/backing_file", F_OK) == 0 }.count
    }

    /// Cgroup directories below this process's own cgroup in every hierarchy, where Hearth makes
    /// all of its own (other software's cgroups elsewhere on the box come and go on their own).
    static func cgroupCount() -> Int { ownCgroupDirectories().reduce(0) { $0 + countDirectories($1) } }

    /// This process's own cgroup directory in every hierarchy (none when the layout cannot be read).
    static func ownCgroupDirectories() -> [String] {
        guard let layout = try? CgroupLayout.current() else { return [] }
        return layout.v1.map(\.ownDirectory) + (layout.unifiedOwnDirectory.map { [$0] } ?? [])
    }

    /// The cgroup directories and mounts counted, by name, each as often as it occurs. A run may sweep
    /// what a dead process left before it (a daemon's start, `hearth compare`'s engine), so counts alone
    /// can drop across a clean run; what the run itself left is what `added(since:)` names.
    public struct Inventory: Sendable {
        public var cgroups: [String: Int]
        public var mounts: [String: Int]

        public static func take() -> Inventory {
            var cgroups: [String: Int] = [:], mounts: [String: Int] = [:]
            for own in ownCgroupDirectories() {
                for dir in directories(own) { cgroups[dir, default: 0] += 1 }
            }
            // A mountinfo line without its mount ids (fields 1 and 2), which a remount changes.
            for line in procFile("/proc/self/mountinfo").split(separator: "\n") {
                mounts[line.split(separator: " ").dropFirst(2).joined(separator: " "), default: 0] += 1
            }
            return Inventory(cgroups: cgroups, mounts: mounts)
        }

        /// What is here now and was not (or not as often) in `earlier`, cgroups first.
        public func added(since earlier: Inventory) -> [String] {
            func more(_ now: [String: Int], _ then: [String: Int]) -> [String] {
                now.filter { $0.value > then[$0.key, default: 0] }.keys.sorted()
            }
            return more(cgroups, earlier.cgroups) + more(mounts, earlier.mounts)
        }
    }

    /// Directories below `path`, itself included, by path.
    static func directories(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var found = [path]
        while let entry = readdir(dir) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            found += directories(path + "/" + name)
        }
        return found
    }

    public var description: String {
        "mounts \(mounts), cgroups \(cgroups), network namespaces \(networkNamespaces), loop devices \(loopDevices), open fds \(openFds)"
    }

    /// Directories below `path`, itself included; never leaves its filesystem (cgroupfs has no links).
    static func countDirectories(_ path: String) -> Int { directories(path).count }

    static func networkNamespaceCount() -> Int {
        var seen = Set<String>()
        for pid in entries("/proc") where Int(pid) != nil {
            if let ns = link("/proc/\(pid)/ns/net") { seen.insert(ns) }
            for fd in entries("/proc/\(pid)/fd") {
                if let target = link("/proc/\(pid)/fd/\(fd)"), target.hasPrefix("net:[") { seen.insert(target) }
            }
        }
        return seen.count
    }

    static func entries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    public static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A /proc file read to its end (the cgroup filesystem's reader reads until EOF). Foundation's
/// String(contentsOfFile:) stops after one page (4,093 bytes) of a file that reports no size, as /proc
/// files do: a mount table with a few long overlay lines was silently cut, and leak counts with it.
public func procFile(_ path: String) -> String { KernelCgroupFilesystem().read(path) ?? "" }

/// A process's resident memory and open fds, from /proc (tests and benchmarks watch the daemon's).
public enum ProcessSample {
    public static func rssKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    public static func fds(_ pid: Int32) -> Int { HostResources.entries("/proc/\(pid)/fd").count }
}
