#if canImport(Glibc)
import Glibc
#endif
import CSyscalls
import HearthCgroups
import HearthModel
import Synchronization

/// Idle sandboxes are frozen whole, their inits too, so a frozen init cannot see its lifeline hang up
/// when the daemon dies, and under cgroup v1 a frozen process ignores even SIGKILL. The guard is a
/// small process of the daemon's (`hearth thaw-guard`, in a session of its own) that holds the lifeline
/// as every init does: when it hangs up, the guard thaws the daemon's sandboxes, whose inits then see
/// it too and end them. The daemon freezes only while its guard is alive.
public final class ThawGuard: Sendable {
    public let pid: Int32
    private let exited = Mutex(false)

    private init(pid: Int32) { self.pid = pid }

    /// Starts `executable` (the hearth binary) as the guard of this daemon's sandboxes (those of uid
    /// block `block`) in `engine`'s cgroup hierarchies.
    public static func start(executable: String, engine: SandboxEngine, block: Int) throws -> ThawGuard {
        let arguments = ["hearth", "thaw-guard", "--block", String(block)] + engine.cgroups.parentDirectories
        var cStrings = arguments.map { strdup($0) }
        defer { for s in cStrings { free(s) } }
        cStrings.append(nil)
        let pid = hearth_spawn_detached(executable, cStrings, engine.lifeline.readEnd)
        guard pid > 0 else { throw HearthError.system("cannot start the thaw guard \(executable): \(String(cString: strerror(errno)))") }
        return ThawGuard(pid: pid)
    }

    /// Whether the guard still runs (reaping it once it has exited).
    public var isAlive: Bool {
        exited.withLock { exited in
            if exited { return false }
            var status: Int32 = 0
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid || (done < 0 && errno == ECHILD) { exited = true }
            return !exited
        }
    }

    /// The guard's side: waits until `lifeline` hangs up (its daemon is gone), then thaws the daemon's
    /// sandboxes in `parents`; returns their names.
    public static func watch(lifeline: Int32, parents: [String], block: Int) -> [String] {
        var pfd = pollfd(fd: lifeline, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&pfd, 1, -1)
            if n < 0 && errno == EINTR { continue }
            // No one writes to the lifeline: readable means end of file, the daemon is gone.
            break
        }
        return SandboxFreezer.thawAll(in: parents) { SandboxIdentity.owner(ofID: $0) == .daemon(block: block) }
    }
}
