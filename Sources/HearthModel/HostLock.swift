#if canImport(Glibc)
import Glibc
#endif

/// An exclusive flock on a file in a host-wide directory, held for a daemon's life: the kernel releases it
/// when the daemon dies, however it dies, so what it guards is never held by a dead one.
public final class HostLock: Sendable {
    public let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    /// The file goes with the lock, so names used once (a test's bridge) do not pile up; one a killed daemon
    /// left is taken over by the next holder and goes with it.
    deinit {
        unlink(path)
        close(fd)
    }

    /// The lock on `name` in `directory` (made if missing), or nil if a live process holds it.
    public static func acquire(_ name: String, in directory: String) throws -> HostLock? {
        try makeOwnDirectory(directory)
        let path = directory + "/" + name
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { throw HearthError.system("cannot open \(path): \(String(cString: strerror(errno)))") }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                close(fd)
                return nil
            }
            // Its holder may have unlinked the file between our open and flock: a lock on that one holds nothing.
            var held = stat(), named = stat()
            if fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_ino == named.st_ino, held.st_dev == named.st_dev {
                return HostLock(path: path, fd: fd)
            }
            close(fd)
        }
    }

    /// Whether a live process (this one included) holds the lock on `name`; a lock taken to check goes at once.
    public static func isHeld(_ name: String, in directory: String) -> Bool {
        (try? acquire(name, in: directory)) == nil
    }

    /// The directory: ours alone (root's, for a daemon), so no one else can hold or fake a lock in it.
    private static func makeOwnDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw HearthError.system("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == geteuid(), st.st_mode & 0o022 == 0 else {
            throw HearthError.system("\(path) must be a directory of uid \(geteuid()) that no one else can write to")
        }
    }
}
