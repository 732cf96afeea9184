import Foundation
import HearthCgroups
import HearthModel

/// A cgroup2 tree in a temporary directory that behaves like the kernel where
/// Hearth depends on it: mkdir populates interface files for the controllers
/// the parent enables; cgroup.subtree_control accepts only available
/// controllers and refuses while the cgroup holds processes (unless it is the
/// root); cgroup.procs moves a pid; rmdir refuses populated or parent cgroups; cgroup.freeze, in
/// every cgroup but the root, takes only 0 or 1 and shows in cgroup.events.
final class FakeCgroupV2Filesystem: CgroupFilesystem, @unchecked Sendable {
    let root: String
    private let fm = FileManager.default

    init(controllers: [String] = ["cpuset", "cpu", "io", "memory", "pids"]) throws {
        root = NSTemporaryDirectory() + "fake-cgroupfs-" + UUID().uuidString
        try fm.createDirectory(atPath: root, withIntermediateDirectories: false)
        try populate(root, available: controllers)
        try set(root + "/cgroup.subtree_control", controllers.joined(separator: " "))
    }

    func destroy() { try? fm.removeItem(atPath: root) }

    /// Creates a cgroup below the root as systemd would for a service with Delegate=yes:
    /// every ancestor enables its controllers for children; the service holds `pids`.
    func makeSystemCgroup(_ relative: String, pids: [Int32], delegate: Bool = true) throws -> String {
        var path = root
        for part in relative.split(separator: "/") {
            if path != root, delegate { try set(path + "/cgroup.subtree_control", read(path + "/cgroup.controllers") ?? "") }
            path += "/" + part
            if !fm.fileExists(atPath: path) { try makeDirectory(path, mayExist: false) }
        }
        try set(path + "/cgroup.procs", pids.map(String.init).joined(separator: "\n"))
        return path
    }

    func set(_ path: String, _ value: String) throws {
        try value.write(toFile: path, atomically: false, encoding: .utf8)
    }

    private func populate(_ dir: String, available: [String]) throws {
        for (name, value) in interfaceFiles(available: available) { try set(dir + "/" + name, value) }
    }

    private func interfaceFiles(available: [String]) -> [String: String] {
        var files: [String: String] = [
            "cgroup.procs": "", "cgroup.controllers": available.joined(separator: " "),
            "cgroup.subtree_control": "", "cgroup.events": "populated 0\nfrozen 0\n", "cgroup.kill": "",
        ]
        if available.contains("memory") {
            files["memory.max"] = "max"; files["memory.swap.max"] = "max"; files["memory.oom.group"] = "0"
            files["memory.peak"] = "0"; files["memory.events"] = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"
        }
        if available.contains("pids") { files["pids.max"] = "max"; files["pids.events"] = "max 0\n" }
        if available.contains("cpu") { files["cpu.max"] = "max 100000"; files["cpu.weight"] = "100" }
        return files
    }

    /// As the kernel does: a controller enabled in `dir` shows its files in every child, and takes them
    /// away when disabled.
    private func updateChildren(of dir: String, enabled: Set<String>) throws {
        let children = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter {
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: dir + "/" + $0, isDirectory: &isDir) && isDir.boolValue
        }
        let wanted = interfaceFiles(available: Array(enabled))
        let every = interfaceFiles(available: ["cpu", "memory", "pids"])
        for child in children {
            for (name, value) in wanted where !fm.fileExists(atPath: dir + "/" + child + "/" + name) { try set(dir + "/" + child + "/" + name, value) }
            for name in every.keys where wanted[name] == nil { try? fm.removeItem(atPath: dir + "/" + child + "/" + name) }
            try set(dir + "/" + child + "/cgroup.controllers", enabled.sorted().joined(separator: " "))
        }
    }

    private func parent(of path: String) -> String { (path as NSString).deletingLastPathComponent }

    // MARK: CgroupFilesystem

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    func exists(_ path: String) -> Bool { fm.fileExists(atPath: path) }

    func write(_ value: String, to path: String) throws {
        guard fm.fileExists(atPath: path) else { throw HearthError.cgroup("cannot open \(path): No such file or directory") }
        let dir = parent(of: path)
        switch (path as NSString).lastPathComponent {
        case "cgroup.subtree_control":
            let available = words(dir + "/cgroup.controllers")
            var enabled = words(path)
            if dir != root && !pids(dir + "/cgroup.procs").isEmpty {
                throw HearthError.cgroup("cannot write '\(value)' to \(path): Device or resource busy")
            }
            for token in value.split(separator: " ") {
                let name = String(token.dropFirst())
                guard available.contains(name) else {
                    throw HearthError.cgroup("cannot write '\(value)' to \(path): No such file or directory")
                }
                if token.hasPrefix("+") { enabled.insert(name) } else { enabled.remove(name) }
            }
            try set(path, enabled.sorted().joined(separator: " "))
            try updateChildren(of: dir, enabled: enabled)
        case "cgroup.freeze":
            guard value == "0" || value == "1" else { throw HearthError.cgroup("cannot write '\(value)' to \(path): Invalid argument") }
            try set(path, value)
            let populated = pids(dir + "/cgroup.procs").isEmpty ? 0 : 1
            try set(dir + "/cgroup.events", "populated \(populated)\nfrozen \(value)\n")
        case "cgroup.procs":
            guard let pid = Int32(value) else { throw HearthError.cgroup("cannot write '\(value)' to \(path): Invalid argument") }
            if dir != root && !words(dir + "/cgroup.subtree_control").isEmpty {
                throw HearthError.cgroup("cannot write '\(value)' to \(path): Device or resource busy")
            }
            for procs in allFiles(named: "cgroup.procs") {
                let remaining = pids(procs).filter { $0 != pid }
                try set(procs, remaining.map(String.init).joined(separator: "\n"))
            }
            try set(path, (pids(path) + [pid]).map(String.init).joined(separator: "\n"))
        default:
            try set(path, value)
        }
    }

    func makeDirectory(_ path: String, mayExist: Bool) throws {
        if fm.fileExists(atPath: path) {
            if mayExist { return }
            throw HearthError.cgroup("cannot create \(path): File exists")
        }
        try fm.createDirectory(atPath: path, withIntermediateDirectories: false)
        try populate(path, available: Array(words(parent(of: path) + "/cgroup.subtree_control")).sorted())
        try set(path + "/cgroup.freeze", "0")
    }

    func removeDirectory(_ path: String, attempts: Int) throws {
        guard fm.fileExists(atPath: path) else { return }
        let children = try fm.contentsOfDirectory(atPath: path).filter {
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: path + "/" + $0, isDirectory: &isDir) && isDir.boolValue
        }
        guard pids(path + "/cgroup.procs").isEmpty, children.isEmpty else {
            throw HearthError.cgroup("cannot remove \(path): Device or resource busy")
        }
        try fm.removeItem(atPath: path)
    }

    private func allFiles(named name: String) -> [String] {
        var out: [String] = []
        if let e = fm.enumerator(atPath: root) {
            for case let rel as String in e where (rel as NSString).lastPathComponent == name { out.append(root + "/" + rel) }
        }
        return out + [root + "/" + name]
    }

    func words(_ path: String) -> Set<String> {
        Set((read(path) ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }

    func pids(_ path: String) -> [Int32] {
        (read(path) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }
}
