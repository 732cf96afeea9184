#if canImport(Glibc)
import Glibc
#endif
import HearthModel

/// Hybrid layout: resource controllers on v1, plus a controller-less cgroup2
/// mount. Limits and stats come from v1; the cgroup2 half gives cgroup.kill,
/// which v1 lacks, and the same membership view a pure v2 box has.
public struct HybridCgroupManager: CgroupManager {
    public var kind: String { "hybrid" }
    let v1: CgroupV1Manager
    let unifiedOwnDirectory: String

    public init(v1: CgroupV1Manager, unifiedOwnDirectory: String) {
        self.v1 = v1
        self.unifiedOwnDirectory = unifiedOwnDirectory
    }

    var unifiedParent: String { unifiedOwnDirectory + "/" + sandboxParentName }

    public var parentDirectories: [String] { v1.parentDirectories + [unifiedParent] }

    public func createSandboxCgroup(id: String, limits: ResourceLimits) throws -> any SandboxCgroup {
        let resources = try v1.createSandboxCgroup(id: id, limits: limits)
        do {
            try v1.fs.makeDirectory(unifiedParent, mayExist: true)
            let dir = unifiedParent + "/" + id
            try v1.fs.makeDirectory(dir, mayExist: false)
            return SandboxCgroupHybrid(resources: resources, membership: SandboxCgroupV2(id: id, directory: dir, hasResourceControllers: false, fs: v1.fs))
        } catch {
            try? resources.remove()
            throw error
        }
    }

    public func releaseIfUnused() {
        v1.releaseIfUnused()
        try? v1.fs.removeDirectory(unifiedParent, attempts: 1)
    }
}

public struct SandboxCgroupHybrid: SandboxCgroup {
    let resources: any SandboxCgroup
    let membership: SandboxCgroupV2

    public var id: String { resources.id }
    public var procsFiles: [String] { resources.procsFiles + membership.procsFiles }
    public func stats() -> CgroupStats { resources.stats() }

    public func killAll() {
        membership.killAll()
        resources.killAll()
    }

    public func setCPULimit(_ limits: ResourceLimits?) throws { try resources.setCPULimit(limits) }

    public func remove() throws {
        var firstError: Error?
        do { try membership.remove() } catch { firstError = error }
        do { try resources.remove() } catch { firstError = firstError ?? error }
        if let firstError { throw firstError }
    }
}
