#if canImport(Glibc)
import Glibc
#endif
import CSandboxInit
import HearthModel

/// A network namespace made ahead of its sandbox, so that its interface is in place before the
/// sandbox's first process runs (the sandbox joins it instead of making its own).
public enum NetworkNamespace {
    /// A new network namespace with loopback up; the caller owns the fd.
    public static func make() throws -> Int32 {
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { throw HearthError.system("cannot open /proc/thread-self/ns/net: \(String(cString: strerror(errno)))") }
        defer { close(home) }
        let fd = hearth_netns_create(home)
        guard fd >= 0 else { throw HearthError.system("cannot make a network namespace: \(String(cString: strerror(errno)))") }
        return fd
    }
}
