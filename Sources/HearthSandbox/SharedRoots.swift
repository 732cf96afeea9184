#if canImport(Glibc)
import Glibc
#endif
import HearthModel
import Synchronization

/// Read-only root overlays shared by every sandbox with the same layers. Each is mounted once in
/// the supervisor's namespace; a sandbox's mount namespace gets its own copy of that mount at clone
/// and pivots into it. One superblock instead of one per sandbox: no overlay set-up on the start path,
/// and one shrinker less per sandbox in every memory cgroup's shrinker table. Sharing is safe because
/// there is no upper layer: nothing in it can be written.
///
/// Mount points live in `<runtime>/roots/<pid>-<n>/`, one directory per engine, so engines and
/// processes never touch each other's; what a dead process left is swept by the next engine.
public final class SharedRoots: Sendable {
    let directory: String
    private struct Entry {
        let lowerdir: String
        let path: String
        /// Starts between `acquire` and `done`: their clone has not copied the mount yet.
        var users = 0
    }
    private struct State {
        /// Least recently used first.
        var mounted: [Entry] = []
        var next = 0
        var released = false
    }
    private let state = Mutex(State())
    /// Kept mounted at most; the least recently used goes first (sandboxes keep their own copies).
    let capacity: Int

    private static let engineCounter = Mutex(0)

    init(runtime: RuntimeDirectory, capacity: Int = 32) throws {
        self.capacity = max(1, capacity)
        Self.sweepDeadProcesses(runtime.rootsDirectory)
        let n = Self.engineCounter.withLock { counter -> Int in
            counter += 1
            return counter
        }
        directory = runtime.rootsDirectory + "/\(getpid())-\(n)"
        try RuntimeDirectory.makeRootOnlyDirectory(directory, mode: 0o711)
    }

    /// The mount point of the root for `lowerdir` ("top:...:bottom"), mounted now if it is not yet. It
    /// stays mounted until `done(with:)`: call that once the sandbox's clone has copied it.
    func acquire(lowerdir: String) throws -> String {
        try state.withLock { state in
            guard !state.released else { throw HearthError.system("the sandbox engine was shut down") }
            if let index = state.mounted.firstIndex(where: { $0.lowerdir == lowerdir }) {
                var entry = state.mounted.remove(at: index)
                entry.users += 1
                state.mounted.append(entry)
                return entry.path
            }
            let path = directory + "/\(state.next)"
            state.next += 1
            guard mkdir(path, 0o755) == 0 else {
                throw HearthError.system("cannot create \(path): \(String(cString: strerror(errno)))")
            }
            let flags = MountPlan.MS_RDONLY | MountPlan.MS_NOSUID | MountPlan.MS_NODEV
            guard mount("overlay", path, "overlay", flags, "lowerdir=" + lowerdir) == 0 else {
                let reason = String(cString: strerror(errno))
                rmdir(path)
                throw HearthError.sandboxSetup("overlay root of \(lowerdir): \(reason)")
            }
            state.mounted.append(Entry(lowerdir: lowerdir, path: path, users: 1))
            while state.mounted.count > capacity, let idle = state.mounted.firstIndex(where: { $0.users == 0 }) {
                Self.unmount(state.mounted.remove(at: idle).path)
            }
            return path
        }
    }

    func done(with path: String) {
        state.withLock { state in
            if let index = state.mounted.firstIndex(where: { $0.path == path }) { state.mounted[index].users -= 1 }
        }
    }

    /// Unmounts every root (sandboxes still running keep their copies) and removes the directory.
    public func release() {
        state.withLock { state in
            state.released = true
            for entry in state.mounted { Self.unmount(entry.path) }
            state.mounted = []
            rmdir(directory)
        }
    }

    static func unmount(_ path: String) {
        _ = umount2(path, Int32(MNT_DETACH))
        rmdir(path)
    }

    /// Roots left by processes that are gone (a crash, a kill -9): unmounted and removed.
    static func sweepDeadProcesses(_ rootsDirectory: String) {
        for name in HostResources.entries(rootsDirectory) {
            guard let dash = name.firstIndex(of: "-"), let pid = Int32(name[..<dash]), pid > 0,
                  kill(pid, 0) != 0 && errno == ESRCH else { continue }
            let engineDirectory = rootsDirectory + "/" + name
            for root in HostResources.entries(engineDirectory) { unmount(engineDirectory + "/" + root) }
            rmdir(engineDirectory)
        }
    }
}
