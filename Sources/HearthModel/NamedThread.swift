#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension Thread {
    /// Runs `body` on a thread of its own, named `name` where `top -H`, `perf` and /proc show it (Linux
    /// keeps 15 bytes). Foundation on Linux gives the kernel a name set before `start()` never, and one
    /// set from inside only when the new thread runs after its creator recorded it: such threads kept
    /// their creator's name ("r-initiated-qos"). So the thread names itself, through /proc (Glibc's
    /// module does not export pthread_setname_np).
    public static func startNamed(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                let bytes = Array(name.utf8.prefix(15))
                _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            body()
        }
        thread.name = name
        thread.start()
    }
}
