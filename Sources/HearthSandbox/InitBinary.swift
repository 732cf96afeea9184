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
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                close(memfd)
                throw HearthError.system("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            var offset = 0
            while offset < n {
                let w = buffer[offset..<n].withUnsafeBytes { write(memfd, $0.baseAddress, $0.count) }
                guard w > 0 else {
                    close(memfd)
                    throw HearthError.system("cannot copy hearth-init: \(String(cString: strerror(errno)))")
                }
                offset += w
            }
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
        if let explicit = ProcessInfo.processInfo.environment["HEARTH_INIT"] { return explicit }
        var candidates: [String] = []
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(exe.appendingPathComponent("hearth-init").path)
        candidates.append(exe.deletingLastPathComponent().appendingPathComponent("libexec/hearth/hearth-init").path)
        if let found = candidates.first(where: { access($0, X_OK) == 0 }) { return found }
        throw HearthError.system("hearth-init not found (looked in \(candidates.joined(separator: ", "))); set HEARTH_INIT")
    }
}
