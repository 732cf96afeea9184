#if canImport(Glibc)
import Glibc
#endif
import HearthModel

/// cgroup v1: one directory per controller hierarchy (memory, pids, cpu, and the freezer where mounted).
public struct CgroupV1Manager: CgroupManager {
    public var kind: String { "v1" }
    /// Our own cgroup directory in each hierarchy, once each (co-mounted controllers share one).
    let ownDirectories: [String]
    /// controller → our own cgroup directory in its hierarchy.
    let controllerDirectories: [String: String]
    let fs: any CgroupFilesystem

    /// - Parameter freezer: use the freezer hierarchy too, where it is mounted (false: sandboxes cannot be
    ///   frozen; for measuring its cost).
    public init(layout: CgroupLayout, freezer: Bool = true, fs: any CgroupFilesystem = KernelCgroupFilesystem()) throws {
        var pairs: [(controller: String, directory: String)] = []
        for controller in CgroupDetector.v1Controllers {
            guard let dir = layout.v1Directory(for: controller) else {
                throw HearthError.cgroup("cgroup v1 controller '\(controller)' is not mounted")
            }
            pairs.append((controller, dir))
        }
        if freezer, let dir = layout.v1Directory(for: "freezer") { pairs.append(("freezer", dir)) }
        self.init(ownDirectories: pairs, fs: fs)
    }

    /// For tests: explicit directories, e.g. under a temporary fake cgroupfs.
    public init(ownDirectories pairs: [(controller: String, directory: String)], fs: any CgroupFilesystem) {
        var seen = Set<String>()
        ownDirectories = pairs.map(\.directory).filter { seen.insert($0).inserted }
        controllerDirectories = Dictionary(pairs.map { ($0.controller, $0.directory) }, uniquingKeysWith: { first, _ in first })
        self.fs = fs
    }

    public var parentDirectories: [String] { ownDirectories.map { $0 + "/" + sandboxParentName } }

    public func createSandboxCgroup(id: String, limits: ResourceLimits) throws -> any SandboxCgroup {
        try validateCgroupName(id)
        var created: [String] = []
        do {
            for own in ownDirectories {
                let dir = own + "/" + sandboxParentName + "/" + id
                try makeSandboxDirectory(dir, parent: own + "/" + sandboxParentName)
                created.append(dir)
            }
            let createdByOwn = Dictionary(uniqueKeysWithValues: zip(ownDirectories, created))
            let byController = controllerDirectories.compactMapValues { createdByOwn[$0] }
            let cgroup = SandboxCgroupV1(id: id, directories: created, byController: byController, fs: fs)
            try cgroup.apply(limits)
            return cgroup
        } catch {
            for dir in created.reversed() { try? fs.removeDirectory(dir, attempts: 1) }
            throw error
        }
    }

    /// The parent is made only when missing (first use, or after a release), not tried on every start.
    /// Hearth processes in one cgroup share it, so another one's `releaseIfUnused` may remove it between
    /// the two mkdirs: it is made again, a few times.
    private func makeSandboxDirectory(_ dir: String, parent: String) throws {
        var attempts = 0
        while true {
            do {
                try fs.makeDirectory(dir, mayExist: false)
                return
            } catch {
                attempts += 1
                guard attempts <= 3 else { throw error }
            }
            try fs.makeDirectory(parent, mayExist: true)
        }
    }

    public func releaseIfUnused() {
        for parent in parentDirectories { try? fs.removeDirectory(parent, attempts: 1) }
    }

    public func sandboxCgroupNames() -> Set<String> { fs.sandboxDirectories(in: parentDirectories) }

    public func removeSandboxCgroup(named name: String) throws {
        try validateCgroupName(name)
        var existing: [String: String] = [:]
        for own in ownDirectories where fs.exists(own + "/" + sandboxParentName + "/" + name) {
            existing[own] = own + "/" + sandboxParentName + "/" + name
        }
        guard !existing.isEmpty else { return }
        let cgroup = SandboxCgroupV1(id: name, directories: ownDirectories.compactMap { existing[$0] },
                                     byController: controllerDirectories.compactMapValues { existing[$0] }, fs: fs)
        cgroup.killAll()
        // A dead daemon's sandbox may be in some hierarchies only (cut off while joining them).
        for dir in cgroup.directories.dropFirst() { fs.killListed(dir + "/cgroup.procs") }
        try cgroup.remove()
    }
}

public struct SandboxCgroupV1: SandboxCgroup {
    public let id: String
    let directories: [String]
    let byController: [String: String]
    let fs: any CgroupFilesystem
    let peakFile: (any CgroupValueFile)?
    /// The freezer hierarchy's cgroup, which the init joins with the others (one burst of joins: a join
    /// alone, later, waits for an RCU grace period, 5-16 ms measured here): the whole sandbox freezes.
    public let freezer: SandboxFreezer?

    init(id: String, directories: [String], byController: [String: String], fs: any CgroupFilesystem) {
        self.id = id
        self.directories = directories
        self.byController = byController
        freezer = byController["freezer"].map { SandboxFreezer.v1($0, fs: fs) }
        self.fs = fs
        peakFile = byController["memory"].map { fs.valueFile($0 + "/memory.max_usage_in_bytes") }
    }

    /// `tasks`, not cgroup.procs: moving the (only) writing thread skips the kernel's global threadgroup
    /// lock, whose first writer after a quiet spell waits for an RCU grace period (5-15 ms measured here,
    /// against 0.03-0.05 ms through `tasks`).
    public var joinFiles: [String] { directories.map { $0 + "/tasks" } }

    public func stats() -> CgroupStats {
        var stats = CgroupStats()
        if let memory = byController["memory"] {
            stats.peakMemoryBytes = fs.integer(memory + "/memory.max_usage_in_bytes")
            stats.oomKills = fs.keyedValues(memory + "/memory.oom_control")["oom_kill"] ?? 0
        }
        if let pids = byController["pids"] {
            stats.pidsLimitHits = fs.keyedValues(pids + "/pids.events")["max"] ?? 0
        }
        return stats
    }

    public func peakMemoryBytes() -> Int64? { peakFile?.integer() }

    public func usage() -> CgroupUsage {
        CgroupUsage(memoryBytes: byController["memory"].flatMap { fs.integer($0 + "/memory.usage_in_bytes") })
    }

    /// v1 has no cgroup.kill: signal what is listed until nothing is (the pid namespace
    /// normally makes this a formality, since killing its init kills everything).
    public func killAll() {
        guard let dir = directories.first else { return }
        if let freezer {
            // A frozen process dies of its SIGKILL only once thawed.
            fs.signalListed(dir + "/cgroup.procs")
            try? freezer.thaw()
        }
        fs.killListed(dir + "/cgroup.procs")
    }

    public func apply(_ limits: ResourceLimits) throws {
        for (controller, dir) in byController.sorted(by: { $0.key < $1.key }) {
            switch controller {
            case "memory":
                // memory+swap equal to memory: no swap. Present only with swap accounting. The kernel wants
                // memsw >= memory at every step: a new cgroup (both unlimited) or a cut takes memory first,
                // and only a raise, which the kernel refuses that way, needs memsw first. Every start writes
                // these, so no write is made that the kernel would refuse.
                let memsw = dir + "/memory.memsw.limit_in_bytes"
                let limit = dir + "/memory.limit_in_bytes"
                let value = String(limits.memoryBytes)
                if fs.exists(memsw) {
                    do {
                        try fs.write(value, to: limit)
                        try fs.write(value, to: memsw)
                    } catch {
                        // A raise; if memsw will not take the value either, the limit's own error explains more.
                        guard (try? fs.write(value, to: memsw)) != nil else { throw error }
                        try fs.write(value, to: limit)
                    }
                } else {
                    try fs.write(value, to: limit)
                }
                if fs.exists(dir + "/memory.swappiness") {
                    try? fs.write("0", to: dir + "/memory.swappiness")
                }
            case "pids":
                try fs.write(String(limits.pids), to: dir + "/pids.max")
            case "cpu":
                // cpu.cfs_period_us is left at the kernel's default, which CPUShare.period is.
                try fs.write(String(CPUShare.quota(for: limits)), to: dir + "/cpu.cfs_quota_us")
                try fs.write(String(CPUShare.v1Shares(for: limits)), to: dir + "/cpu.shares")
            default:
                break
            }
        }
    }

    public func setCPULimit(_ limits: ResourceLimits?) throws {
        guard let cpu = byController["cpu"] else { return }
        try fs.write(limits.map { String(CPUShare.quota(for: $0)) } ?? "-1", to: cpu + "/cpu.cfs_quota_us")
    }

    public func remove() throws {
        peakFile?.close()
        freezer?.close()
        var firstError: Error?
        for dir in directories {
            do { try fs.removeDirectory(dir) } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }
}
