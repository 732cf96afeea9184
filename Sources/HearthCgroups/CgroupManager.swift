#if canImport(Glibc)
import Glibc
#endif
import HearthModel

/// What the supervisor reads back from a sandbox's cgroup after (or during) a run.
public struct CgroupStats: Sendable, Equatable {
    /// Highest memory use seen, in bytes (nil when the kernel does not track it).
    public var peakMemoryBytes: Int64?
    /// Number of processes the kernel OOM-killed in this cgroup.
    public var oomKills: Int64
    /// Number of times a fork was refused at the pids limit.
    public var pidsLimitHits: Int64

    public init(peakMemoryBytes: Int64? = nil, oomKills: Int64 = 0, pidsLimitHits: Int64 = 0) {
        self.peakMemoryBytes = peakMemoryBytes
        self.oomKills = oomKills
        self.pidsLimitHits = pidsLimitHits
    }
}

/// What a sandbox uses now: its memory (page cache included, as the kernel charges it); nil where the
/// kernel does not say. (CPU time is not here: v1 hosts often mount cpuacct apart from cpu, where
/// sandboxes are not; a sandbox's CPU reaches its supervisor's RUSAGE_CHILDREN when its init is reaped.)
public struct CgroupUsage: Sendable, Equatable {
    public var memoryBytes: Int64?

    public init(memoryBytes: Int64? = nil) { self.memoryBytes = memoryBytes }
}

/// One sandbox's cgroup, possibly spread over several hierarchies (v1, hybrid).
public protocol SandboxCgroup: Sendable {
    var id: String { get }
    /// The file of every hierarchy the sandbox's first process (single-threaded) writes "0" to, joining it.
    var joinFiles: [String] { get }
    /// What freezes the whole sandbox between invocations; nil where no freezer is available (a v1 host
    /// without the freezer hierarchy).
    var freezer: SandboxFreezer? { get }
    func stats() -> CgroupStats
    /// The peak memory alone (one file read), for the REPORT line of every warm invocation.
    func peakMemoryBytes() -> Int64?
    /// Memory now (what `hearth compare` samples).
    func usage() -> CgroupUsage
    /// SIGKILL every process in the cgroup.
    func killAll()
    /// Writes memory (no swap), pids and CPU limits; a prepared sandbox gets its function's here.
    func apply(_ limits: ResourceLimits) throws
    /// The CPU quota in proportion to `limits`' memory, or none (nil): Lambda's init runs with burst CPU.
    func setCPULimit(_ limits: ResourceLimits?) throws
    /// Waits for the cgroup to empty and removes it from every hierarchy.
    func remove() throws
}

/// Creates sandbox cgroups under the supervisor's own cgroup. v1, v2 and hybrid implement it.
public protocol CgroupManager: Sendable {
    /// "v1", "v2" or "hybrid".
    var kind: String { get }
    /// Directories that hold the sandboxes' cgroups, one per hierarchy.
    var parentDirectories: [String] { get }
    func createSandboxCgroup(id: String, limits: ResourceLimits) throws -> any SandboxCgroup
    /// Removes the sandboxes' parent directories if no sandbox uses them (one-shot CLI use).
    func releaseIfUnused()
    /// Names of the sandbox cgroups (sb-...) under the parent directories, in any hierarchy.
    func sandboxCgroupNames() -> Set<String>
    /// Kills whatever runs in sandbox cgroup `name` and removes it from every hierarchy (a dead
    /// daemon's leftover).
    func removeSandboxCgroup(named name: String) throws
}

/// Name of the directory under the supervisor's own cgroup that holds sandbox cgroups.
public let sandboxParentName = "hearth"

/// CPU settings in proportion to memory, as Lambda allocates them.
public enum CPUShare {
    /// The kernel's default CFS period (cpu.cfs_period_us, cpu.max), which Hearth never changes.
    public static let period: Int64 = 100_000

    /// CFS quota in microseconds per period.
    public static func quota(for limits: ResourceLimits) -> Int64 {
        max(1_000, Int64((limits.vcpus * Double(period)).rounded()))
    }

    /// cgroup v1 cpu.shares (1024 = one CPU).
    public static func v1Shares(for limits: ResourceLimits) -> Int64 {
        max(2, Int64((limits.vcpus * 1024).rounded()))
    }

    /// cgroup v2 cpu.weight (100 = one CPU), in its range 1...10000.
    public static func v2Weight(for limits: ResourceLimits) -> Int64 {
        min(10_000, max(1, Int64((limits.vcpus * 100).rounded())))
    }
}

extension CgroupFilesystem {
    /// Directories named sb-... in each of `parents`.
    func sandboxDirectories(in parents: [String]) -> Set<String> {
        var names = Set<String>()
        for parent in parents {
            guard let dir = opendir(parent) else { continue }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name.hasPrefix("sb-"), Int32(entry.pointee.d_type) == DT_DIR { names.insert(name) }
            }
        }
        return names
    }
}

func validateCgroupName(_ id: String) throws {
    let ok = !id.isEmpty && id.utf8.count <= 128 && id != "." && id != ".."
        && id.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 || ($0 >= 65 && $0 <= 90) }
    guard ok else { throw HearthError.cgroup("invalid sandbox cgroup name '\(id)'") }
}
