#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Unprivileged ids for sandboxes: each live sandbox gets a uid/gid of its own,
/// so RLIMIT_NPROC and file ownership never couple two sandboxes. Sandbox ids
/// (and so their cgroups' names) say which process started them, so that a
/// later start can tell a dead owner's leftovers from a live one's.
public enum SandboxIdentity {
    /// Far above any uid a distribution or subuid range hands out.
    public static let base: UInt32 = 1_000_000_000
    public static let oneShotSlots: UInt32 = 1 << 22

    /// One-shot sandboxes (the CLI) derive their uid from the process id, unique among live processes.
    public static func oneShot(pid: Int32 = getpid()) -> (uid: UInt32, gid: UInt32) {
        let uid = base + oneShotSlots + UInt32(pid) % oneShotSlots
        return (uid, uid)
    }

    /// Who starts the sandboxes of this process: a daemon by the uid block it holds, else this process.
    public enum Owner: Equatable, Sendable {
        case daemon(block: Int)
        case oneShot(pid: Int32)

        var tag: String {
            switch self {
            case .daemon(let block): "d\(block)"
            case .oneShot(let pid): "p\(pid)"
            }
        }
    }

    private static let currentOwner = Mutex<Owner?>(nil)

    /// This process's owner: a daemon sets it once it holds a uid block (`UIDBlockLease`).
    public static var owner: Owner {
        get { currentOwner.withLock { $0 } ?? .oneShot(pid: getpid()) }
        set { currentOwner.withLock { $0 = newValue } }
    }

    /// A random sandbox id naming its owner: "sb-d3-" or "sb-p1234-", then 16 hex digits.
    public static func newID() -> String {
        var rng = SystemRandomNumberGenerator()
        let value = rng.next() as UInt64
        let hex = String(value, radix: 16)
        return "sb-" + owner.tag + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The owner named in a sandbox id; nil for an id in another form (one an older Hearth made).
    public static func owner(ofID id: String) -> Owner? {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "sb", parts[2].utf8.count == 16, let kind = parts[1].first else { return nil }
        let number = parts[1].dropFirst()
        guard !number.isEmpty, number.utf8.count <= 10, number.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        switch kind {
        case "d": return Int(number).map { .daemon(block: $0) }
        case "p": return Int32(number).map { .oneShot(pid: $0) }
        default: return nil
        }
    }
}
