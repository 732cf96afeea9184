#if canImport(Glibc)
import Glibc
#endif
import HearthModel

/// A block of sandbox uids held by one daemon for its life: an flock on a file under a host-wide
/// directory, which the kernel releases when the daemon dies, however it dies. Two daemons on one
/// host never share a uid, and a daemon's restart takes a free block (its own old one, once the sweep
/// has killed whatever the dead daemon left running in it).
public final class UIDBlockLease: Sendable {
    /// Host-wide, whatever runtime or state directory each daemon uses.
    public static let directory = "/run/hearth-uid-blocks"
    /// 64 blocks of 65,536 uids fill the daemons' range below the one-shot CLI's (base + 2^22).
    public static let blocks = 64
    public static let blockSize: UInt32 = 65_536

    public let block: Int
    private let fd: Int32

    private init(block: Int, fd: Int32) {
        self.block = block
        self.fd = fd
    }

    deinit { close(fd) }

    /// The uids of this block.
    public var uids: Range<UInt32> {
        let first = SandboxIdentity.base + UInt32(block) * Self.blockSize
        return first..<(first + Self.blockSize)
    }

    /// The first free block.
    public static func acquire(directory: String = directory) throws -> UIDBlockLease {
        try makeOwnDirectory(directory)
        for block in 0..<blocks {
            if let fd = try lock(block, directory: directory) { return UIDBlockLease(block: block, fd: fd) }
        }
        throw HearthError.system("all \(blocks) sandbox uid blocks under \(directory) are held by running Hearth daemons")
    }

    /// The lease directory: ours alone (root's, for a daemon), so no one else can hold or fake a lease.
    private static func makeOwnDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw HearthError.system("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == geteuid(), st.st_mode & 0o022 == 0 else {
            throw HearthError.system("\(path) must be a directory of uid \(geteuid()) that no one else can write to")
        }
    }

    /// Whether a live process holds `block` (this one included).
    public static func isHeld(_ block: Int, directory: String = directory) -> Bool {
        guard (0..<blocks).contains(block) else { return false }
        guard let fd = try? lock(block, directory: directory) else { return true }
        close(fd)
        return false
    }

    /// An fd holding the block's lock, or nil if someone holds it.
    private static func lock(_ block: Int, directory: String) throws -> Int32? {
        let path = directory + "/\(block)"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw HearthError.system("cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return fd }
        close(fd)
        return nil
    }
}
