#if canImport(Glibc)
import Glibc
#endif

/// Unprivileged ids for sandboxes: each live sandbox gets a uid/gid of its own,
/// so RLIMIT_NPROC and file ownership never couple two sandboxes.
public enum SandboxIdentity {
    /// Far above any uid a distribution or subuid range hands out.
    public static let base: UInt32 = 1_000_000_000
    public static let oneShotSlots: UInt32 = 1 << 22

    /// One-shot sandboxes (the CLI) derive their uid from the process id, unique among live processes.
    public static func oneShot(pid: Int32 = getpid()) -> (uid: UInt32, gid: UInt32) {
        let uid = base + oneShotSlots + UInt32(pid) % oneShotSlots
        return (uid, uid)
    }

    /// A random sandbox id: 16 hex digits after "sb-".
    public static func newID() -> String {
        var rng = SystemRandomNumberGenerator()
        let value = rng.next() as UInt64
        let hex = String(value, radix: 16)
        return "sb-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
