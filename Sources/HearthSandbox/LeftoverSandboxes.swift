#if canImport(Glibc)
import Glibc
#endif
import HearthCgroups

/// What a daemon finds at its start: sandbox cgroups whose owner is gone (a daemon killed with
/// SIGKILL, a CLI killed mid-run) are killed and removed, in every hierarchy. A sandbox belongs to a
/// dead owner when its id names a uid block no live daemon holds (or this daemon's own block, which it
/// has just taken over), a one-shot process that no longer exists, or no owner at all (an older Hearth).
public enum LeftoverSandboxes {
    public struct Swept: Sendable, Equatable {
        public var removed: [String] = []
        public var failed: [String] = []
    }

    /// Removes every leftover; `ownBlock` is the uid block this daemon holds.
    public static func sweep(_ cgroups: any CgroupManager, ownBlock: Int?, leaseDirectory: String = UIDBlockLease.directory) -> Swept {
        var swept = Swept()
        for name in cgroups.sandboxCgroupNames().sorted() where isLeftover(name, ownBlock: ownBlock, leaseDirectory: leaseDirectory) {
            do {
                try cgroups.removeSandboxCgroup(named: name)
                swept.removed.append(name)
            } catch {
                swept.failed.append(name)
            }
        }
        return swept
    }

    static func isLeftover(_ name: String, ownBlock: Int?, leaseDirectory: String) -> Bool {
        switch SandboxIdentity.owner(ofID: name) {
        case .daemon(let block)?:
            return block == ownBlock || !UIDBlockLease.isHeld(block, directory: leaseDirectory)
        case .oneShot(let pid)?:
            return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
        case nil:
            return true
        }
    }
}
