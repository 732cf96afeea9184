import HearthModel

/// Hybrid layout: resource controllers on v1, plus a cgroup2 mount without
/// them. Sandboxes live in the v1 hierarchies only (the freezer's among them).
/// Joining the cgroup2 hierarchy as well would buy nothing but cgroup.kill
/// (killing a sandbox's PID 1 already takes its whole pid namespace) and,
/// measured on the development machines, cost 0.6 ms of every start and a
/// quarter of the creation rate: a second migration per sandbox.
public struct HybridCgroupManager: CgroupManager {
    public var kind: String { "hybrid" }
    let v1: CgroupV1Manager
    /// Our cgroup in the cgroup2 hierarchy; kept for diagnostics (`hearth status`).
    public let unifiedOwnDirectory: String

    public init(v1: CgroupV1Manager, unifiedOwnDirectory: String) {
        self.v1 = v1
        self.unifiedOwnDirectory = unifiedOwnDirectory
    }

    public var parentDirectories: [String] { v1.parentDirectories }

    public func createSandboxCgroup(id: String, limits: ResourceLimits) throws -> any SandboxCgroup {
        try v1.createSandboxCgroup(id: id, limits: limits)
    }

    public func releaseIfUnused() { v1.releaseIfUnused() }
    public func sandboxCgroupNames() -> Set<String> { v1.sandboxCgroupNames() }
    public func removeSandboxCgroup(named name: String) throws { try v1.removeSandboxCgroup(named: name) }
}
