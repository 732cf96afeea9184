#if canImport(Glibc)
import Glibc
#endif
import CSyscalls
import CSeccomp
import HearthModel

/// A compiled classic-BPF seccomp program, ready for the child to load with
/// seccomp(2). Compiled with libseccomp in the parent, once per profile (`SeccompCache`).
public struct SeccompProgram: Sendable {
    /// struct sock_filter[] as raw bytes (8 bytes per instruction).
    public let bytes: [UInt8]
    public var instructionCount: Int { bytes.count / 8 }
}

public enum SeccompCompiler {
    static let actAllow: UInt32 = 0x7fff_0000
    static let actKillProcess: UInt32 = 0x8000_0000
    static func actErrno(_ e: Int32) -> UInt32 { 0x0005_0000 | (UInt32(e) & 0xffff) }

    public static func compile(_ profile: SeccompProfile) throws -> SeccompProgram {
        guard let ctx = seccomp_init(actErrno(EPERM)) else { throw HearthError.seccomp("seccomp_init failed") }
        defer { seccomp_release(ctx) }
        // Only the native architecture: i386 and x32 calls from an x86_64 process kill it.
        try check(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, actKillProcess), "set bad-arch action")
        // We set no_new_privs ourselves before loading; the exported program must not depend on it.
        try check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "clear NNP attribute")
        // A binary tree of syscall numbers: faster to check, and the kernel loads (JITs) it in half the time.
        try check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), "select binary-tree layout")

        for name in profile.allowed {
            let nr = seccomp_syscall_resolve_name(name)
            guard nr != __NR_SCMP_ERROR else { continue }
            try check(seccomp_rule_add_array(ctx, actAllow, nr, 0, nil), "allow \(name)")
        }
        for (name, rule) in profile.conditional {
            let nr = seccomp_syscall_resolve_name(name)
            guard nr != __NR_SCMP_ERROR else { continue }
            switch rule {
            case .maskedEqual(let index, let mask, let value):
                var cmp = scmp_arg_cmp(arg: index, op: SCMP_CMP_MASKED_EQ, datum_a: mask, datum_b: value)
                try check(seccomp_rule_add_array(ctx, actAllow, nr, 1, &cmp), "allow \(name) with a mask")
            case .oneOf(let index, let values):
                for value in values {
                    var cmp = scmp_arg_cmp(arg: index, op: SCMP_CMP_EQ, datum_a: value, datum_b: 0)
                    try check(seccomp_rule_add_array(ctx, actAllow, nr, 1, &cmp), "allow \(name)(\(value))")
                }
            }
        }
        for name in profile.enosys {
            let nr = seccomp_syscall_resolve_name(name)
            guard nr != __NR_SCMP_ERROR else { continue }
            try check(seccomp_rule_add_array(ctx, actErrno(ENOSYS), nr, 0, nil), "ENOSYS for \(name)")
        }
        return SeccompProgram(bytes: try export(ctx))
    }

    /// libseccomp 2.5 exports only to a file descriptor: use a memfd and read it back.
    private static func export(_ ctx: scmp_filter_ctx) throws -> [UInt8] {
        let fd = hearth_memfd_create("hearth-seccomp")
        guard fd >= 0 else { throw HearthError.seccomp("memfd_create: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try check(seccomp_export_bpf(ctx, fd), "export BPF")
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0, size % 8 == 0, size / 8 <= Int(UInt16.max) else { throw HearthError.seccomp("exported program has size \(size)") }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n == Int(size) else { throw HearthError.seccomp("short read of exported program") }
        return bytes
    }

    private static func check(_ rc: Int32, _ what: String) throws {
        guard rc == 0 else { throw HearthError.seccomp("\(what): \(String(cString: strerror(-rc)))") }
    }
}
