#if canImport(Glibc)
import Glibc
#endif
import CSandboxInit
import CSyscalls
import Foundation
import HearthModel

/// hearth-init, copied once into a sealed memfd. Sandboxes exec the memfd, so
/// no host binary is ever reachable from inside and nothing can rewrite it.
public final class InitBinary: Sendable {
    public let fd: Int32

    public init(path: String) throws {
        let source = open(path, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw HearthError.system("cannot open hearth-init at \(path): \(String(cString: strerror(errno)))") }
        defer { close(source) }
        let memfd = hearth_memfd_create("hearth-init")
        guard memfd >= 0 else { throw HearthError.system("memfd_create: \(String(cString: strerror(errno)))") }
        // The kernel copies it (no buffer of ours to zero and fault in on every start of the CLI).
        while true {
            let n = sendfile(memfd, source, nil, 1 << 30)
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                close(memfd)
                throw HearthError.system("cannot copy hearth-init from \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
        }
        fchmod(memfd, 0o555)
        guard hearth_seal_memfd(memfd) == 0 else {
            close(memfd)
            throw HearthError.system("cannot seal the hearth-init memfd: \(String(cString: strerror(errno)))")
        }
        fd = memfd
    }

    deinit { close(fd) }

    /// hearth-init next to the running executable (the build directory, and the test runner in it),
    /// in ../libexec/hearth (installed), or HEARTH_INIT when set.
    public static func locate() throws -> String {
        if let explicit = getenv("HEARTH_INIT") { return String(cString: explicit) }
        var candidates: [String] = []
        if let resolved = realpath("/proc/self/exe", nil) {
            let exe = String(cString: resolved)
            free(resolved)
            let directory = exe.lastIndex(of: "/").map { String(exe[..<$0]) } ?? "."
            let parent = directory.lastIndex(of: "/").map { String(directory[..<$0]) } ?? ""
            candidates.append(directory + "/hearth-init")
            candidates.append(parent + "/libexec/hearth/hearth-init")
        }
        if let found = candidates.first(where: { access($0, X_OK) == 0 }) { return found }
        throw HearthError.system("hearth-init not found (looked in \(candidates.joined(separator: ", "))); set HEARTH_INIT")
    }
}
