#if canImport(Glibc)
import Glibc
#endif
import CSyscalls
import HearthModel

/// Finds a command inside a root directory the way execvp inside the sandbox
/// will, resolving symlinks as if the directory were / (openat2 RESOLVE_IN_ROOT),
/// so a missing or non-executable command is reported before anything starts.
public enum CommandResolver {
    public static func check(command: String, rootfs: String, path: String = SandboxSpec.defaultPath) throws {
        var st = stat()
        guard stat(rootfs, &st) == 0 else {
            throw HearthError.rootfs("\(rootfs): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw HearthError.rootfs("\(rootfs) is not a directory") }
        let root = open(rootfs, hearth_o_path() | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw HearthError.rootfs("cannot open \(rootfs): \(String(cString: strerror(errno)))") }
        defer { close(root) }

        let candidates: [String]
        if command.contains("/") {
            guard command.hasPrefix("/") else {
                throw HearthError.invalidArgument("command '\(command)' must be a name looked up in PATH or an absolute path")
            }
            candidates = [command]
        } else {
            candidates = path.split(separator: ":").filter { $0.hasPrefix("/") }.map { "\($0)/\(command)" }
        }
        var found: String?
        var notExecutable: String?
        for candidate in candidates {
            let fd = hearth_openat2_beneath(root, candidate, hearth_o_path(), 1)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var cst = stat()
            guard fstat(fd, &cst) == 0, (cst.st_mode & S_IFMT) == S_IFREG else { continue }
            if cst.st_mode & 0o111 == 0 {
                notExecutable = notExecutable ?? candidate
                continue
            }
            found = candidate
            break
        }
        if found != nil { return }
        if let notExecutable { throw HearthError.rootfs("\(notExecutable) in \(rootfs) is not executable") }
        let searched = command.contains("/") ? "" : " (searched \(candidates.map { String($0.dropLast(command.count + 1)) }.joined(separator: ", ")))"
        throw HearthError.rootfs("command '\(command)' not found in \(rootfs)\(searched)")
    }
}
