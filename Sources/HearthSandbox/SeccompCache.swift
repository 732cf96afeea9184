#if canImport(Glibc)
import Glibc
#endif
import CSeccomp
import HearthModel
import Synchronization

/// Compiled programs kept in the runtime directory (root's own, and on /run gone at reboot), so a
/// one-shot `hearth sandbox run` reads its filter instead of compiling it with libseccomp (about 1.5 ms
/// of its start). A file's name carries a digest of the profile, libseccomp's version and the kernel's
/// release; one that is not root's own regular file of whole instructions is ignored and replaced.
enum SeccompCache {
    private static let loaded = Mutex<[String: SeccompProgram]>([:])

    /// The program for `profile`, from the cache in `directory` or compiled (and cached there).
    static func program(_ profile: SeccompProfile, in directory: String) throws -> SeccompProgram {
        let path = directory + "/seccomp-" + key(profile) + ".bpf"
        if let program = loaded.withLock({ $0[path] }) { return program }
        let program: SeccompProgram
        if let cached = read(path) {
            program = cached
        } else {
            program = try SeccompCompiler.compile(profile)
            store(program, at: path)
        }
        loaded.withLock { $0[path] = program }
        return program
    }

    /// 16 hex digits of FNV-1a over everything the compiled program depends on. Only root writes the
    /// directory, so the digest guards against staleness, not against a forger.
    static func key(_ profile: SeccompProfile) -> String {
        var text = "allow " + profile.allowed.joined(separator: ",")
        for (name, rule) in profile.conditional {
            switch rule {
            case .maskedEqual(let index, let mask, let value): text += "\n\(name) \(index) & \(mask) == \(value)"
            case .oneOf(let index, let values): text += "\n\(name) \(index) in " + values.map(String.init).joined(separator: ",")
            }
        }
        text += "\nenosys " + profile.enosys.joined(separator: ",")
        if let version = seccomp_version() {
            text += "\nlibseccomp \(version.pointee.major).\(version.pointee.minor).\(version.pointee.micro)"
        }
        var names = utsname()
        if uname(&names) == 0 {
            text += "\nkernel " + withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            text += " " + withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private static func read(_ path: String) -> SeccompProgram? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == 0, st.st_mode & 0o022 == 0,
              st.st_size > 0, st.st_size % 8 == 0, st.st_size / 8 <= Int(UInt16.max) else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n == bytes.count else { return nil }
        return SeccompProgram(bytes: bytes)
    }

    /// Written whole under a temporary name and renamed, so a reader never sees half a program; a
    /// failure only means the next process compiles again.
    private static func store(_ program: SeccompProgram, at path: String) {
        let temporary = path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let written = program.bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == program.bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            return
        }
    }
}
