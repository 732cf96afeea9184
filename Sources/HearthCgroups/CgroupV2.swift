#if canImport(Glibc)
import Glibc
#endif
import HearthModel
import Synchronization

/// cgroup v2 (unified). Sandboxes live in <own>/hearth/<id>. If our own cgroup
/// still holds our process and its controllers are not yet enabled for children
/// (the "no internal processes" rule), we move ourselves into a leaf first, as
/// systemd's Delegate=yes expects.
public final class CgroupV2Manager: CgroupManager, Sendable {
    public var kind: String { "v2" }
    public static let controllers = ["memory", "pids", "cpu"]
    public static let supervisorLeafName = "supervisor"
    /// cpu.weight of the supervisor's leaf, against 100 for all sandboxes together (`hearth`): under
    /// contention the daemon that enforces deadlines and answers requests runs first.
    public static let supervisorWeight = 1000

    let ownDirectory: String
    let isRoot: Bool
    let selfPid: Int32
    let fs: any CgroupFilesystem
    /// Controllers enabled for sandboxes (cpu is optional, memory and pids are not).
    public let enabledControllers: [String]
    /// Set when we moved ourselves into a leaf and must undo it on release.
    private let movedIntoLeaf = Mutex(false)

    public var parentDirectories: [String] { [parent] }
    var parent: String { ownDirectory + "/" + sandboxParentName }

    public init(ownDirectory: String, isRoot: Bool, selfPid: Int32, fs: any CgroupFilesystem = KernelCgroupFilesystem()) throws {
        self.fs = fs
        self.ownDirectory = ownDirectory
        self.isRoot = isRoot
        self.selfPid = selfPid
        let available = fs.words(ownDirectory + "/cgroup.controllers")
        let missing = ["memory", "pids"].filter { !available.contains($0) }
        guard missing.isEmpty else {
            throw HearthError.cgroup(
                "cgroup v2 controllers \(missing.joined(separator: ", ")) are not delegated to \(ownDirectory); "
                    + "run Hearth as a systemd service with Delegate=yes, or under 'systemd-run --scope -p Delegate=yes'")
        }
        enabledControllers = Self.controllers.filter { available.contains($0) }
        try enableForChildren()
    }

    private func subtreeControl(_ dir: String) -> Set<String> {
        fs.words(dir + "/cgroup.subtree_control")
    }

    private var enableLine: String { enabledControllers.map { "+" + $0 }.joined(separator: " ") }

    private func enableForChildren() throws {
        let enabled = subtreeControl(ownDirectory)
        if !enabledControllers.allSatisfy(enabled.contains) {
            if !isRoot {
                let others = fs.pids(ownDirectory + "/cgroup.procs").filter { $0 != selfPid }
                guard others.isEmpty else {
                    throw HearthError.cgroup(
                        "\(ownDirectory) holds other processes (\(others.prefix(5).map(String.init).joined(separator: ", "))), "
                            + "so controllers cannot be enabled for sandboxes; run Hearth as a systemd service with Delegate=yes, "
                            + "or under 'systemd-run --scope -p Delegate=yes'")
                }
                if fs.pids(ownDirectory + "/cgroup.procs").contains(selfPid) {
                    let leaf = ownDirectory + "/" + Self.supervisorLeafName
                    try fs.makeDirectory(leaf, mayExist: true)
                    try fs.write(String(selfPid), to: leaf + "/cgroup.procs")
                    movedIntoLeaf.withLock { $0 = true }
                }
            }
            try fs.write(enableLine, to: ownDirectory + "/cgroup.subtree_control")
        }
        let leaf = ownDirectory + "/" + Self.supervisorLeafName
        if enabledControllers.contains("cpu"), fs.pids(leaf + "/cgroup.procs").contains(selfPid) {
            try? fs.write(String(Self.supervisorWeight), to: leaf + "/cpu.weight")
        }
        try fs.makeDirectory(parent, mayExist: true)
        if !enabledControllers.allSatisfy(subtreeControl(parent).contains) {
            try fs.write(enableLine, to: parent + "/cgroup.subtree_control")
        }
    }

    public func createSandboxCgroup(id: String, limits: ResourceLimits) throws -> any SandboxCgroup {
        try validateCgroupName(id)
        let dir = parent + "/" + id
        do {
            try fs.makeDirectory(dir, mayExist: false)
        } catch where !fs.exists(parent) {
            // Another Hearth process sharing our cgroup (the root cgroup, without systemd) released the
            // parent while we had no sandbox: set it up again.
            try enableForChildren()
            try fs.makeDirectory(dir, mayExist: false)
        }
        let cgroup = SandboxCgroupV2(id: id, directory: dir, fs: fs)
        do {
            try cgroup.apply(limits)
        } catch {
            try? fs.removeDirectory(dir, attempts: 1)
            throw error
        }
        return cgroup
    }

    public func sandboxCgroupNames() -> Set<String> { fs.sandboxDirectories(in: [parent]) }

    public func removeSandboxCgroup(named name: String) throws {
        try validateCgroupName(name)
        let dir = parent + "/" + name
        guard fs.exists(dir) else { return }
        let cgroup = SandboxCgroupV2(id: name, directory: dir, fs: fs)
        // cgroup.kill reaches frozen processes too (v2's freezer lets SIGKILL through).
        cgroup.killAll()
        try cgroup.remove()
    }

    /// Undoes what we did to our own cgroup, when no sandbox is left (CLI use).
    public func releaseIfUnused() {
        movedIntoLeaf.withLock { moved in
            guard (try? fs.removeDirectory(parent, attempts: 1)) != nil, moved else { return }
            let disable = enabledControllers.map { "-" + $0 }.joined(separator: " ")
            try? fs.write(disable, to: ownDirectory + "/cgroup.subtree_control")
            let leaf = ownDirectory + "/" + Self.supervisorLeafName
            if (try? fs.write(String(selfPid), to: ownDirectory + "/cgroup.procs")) != nil {
                try? fs.removeDirectory(leaf, attempts: 1)
                moved = false
            }
        }
    }
}

public struct SandboxCgroupV2: SandboxCgroup {
    public let id: String
    let directory: String
    let fs: any CgroupFilesystem
    let peakFile: any CgroupValueFile
    /// The sandbox's own cgroup: cgroup.freeze is a core file, there without any controller.
    public let freezer: SandboxFreezer?

    init(id: String, directory: String, fs: any CgroupFilesystem) {
        self.id = id
        self.directory = directory
        self.fs = fs
        peakFile = fs.valueFile(directory + "/memory.peak")
        freezer = .v2(directory, fs: fs)
    }

    public var joinFiles: [String] { [directory + "/cgroup.procs"] }

    public func stats() -> CgroupStats {
        let events = fs.keyedValues(directory + "/memory.events")
        return CgroupStats(
            peakMemoryBytes: fs.integer(directory + "/memory.peak"),
            oomKills: max(events["oom_kill"] ?? 0, events["oom_group_kill"] ?? 0),
            pidsLimitHits: fs.keyedValues(directory + "/pids.events")["max"] ?? 0)
    }

    public func peakMemoryBytes() -> Int64? { peakFile.integer() }

    public func usage() -> CgroupUsage { CgroupUsage(memoryBytes: fs.integer(directory + "/memory.current")) }

    public func killAll() {
        if (try? fs.write("1", to: directory + "/cgroup.kill")) != nil { return }
        // Kernels before 5.14: signal the listed processes.
        fs.killListed(directory + "/cgroup.procs")
    }

    public func apply(_ limits: ResourceLimits) throws {
        let dir = directory
        try fs.write(String(limits.memoryBytes), to: dir + "/memory.max")
        if fs.exists(dir + "/memory.swap.max") {
            try fs.write("0", to: dir + "/memory.swap.max")
        }
        // The sandbox lives or dies as one: a half-killed environment is never reused.
        if fs.exists(dir + "/memory.oom.group") {
            try fs.write("1", to: dir + "/memory.oom.group")
        }
        try fs.write(String(limits.pids), to: dir + "/pids.max")
        // cpu files exist only where the cpu controller is enabled for sandboxes.
        if fs.exists(dir + "/cpu.max") {
            try fs.write("\(CPUShare.quota(for: limits)) \(CPUShare.period)", to: dir + "/cpu.max")
            try fs.write(String(CPUShare.v2Weight(for: limits)), to: dir + "/cpu.weight")
        }
    }

    public func setCPULimit(_ limits: ResourceLimits?) throws {
        guard fs.exists(directory + "/cpu.max") else { return }
        try fs.write(limits.map { "\(CPUShare.quota(for: $0)) \(CPUShare.period)" } ?? "max \(CPUShare.period)", to: directory + "/cpu.max")
    }

    public func remove() throws {
        peakFile.close()
        freezer?.close()
        try fs.removeDirectory(directory)
    }
}
