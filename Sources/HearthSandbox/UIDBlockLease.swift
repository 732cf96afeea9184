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
    private let lock: HostLock

    private init(block: Int, lock: HostLock) {
        self.block = block
        self.lock = lock
    }

    /// The uids of this block.
    public var uids: Range<UInt32> {
        let first = SandboxIdentity.base + UInt32(block) * Self.blockSize
        return first..<(first + Self.blockSize)
    }

    /// The first free block.
    public static func acquire(directory: String = directory) throws -> UIDBlockLease {
        for block in 0..<blocks {
            if let lock = try HostLock.acquire("\(block)", in: directory) { return UIDBlockLease(block: block, lock: lock) }
        }
        throw HearthError.system("all \(blocks) sandbox uid blocks under \(directory) are held by running Hearth daemons")
    }

    /// Whether a live process holds `block` (this one included).
    public static func isHeld(_ block: Int, directory: String = directory) -> Bool {
        guard (0..<blocks).contains(block) else { return false }
        return HostLock.isHeld("\(block)", in: directory)
    }
}
