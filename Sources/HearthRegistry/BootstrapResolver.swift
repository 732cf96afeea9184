#if canImport(Glibc)
import Glibc
#endif

/// Lambda's order for finding a runtime's entry point: /var/task/bootstrap,
/// then /opt/bootstrap, then the runtime image's /var/runtime/bootstrap. Looked up
/// in the layer directories on the host, never by running anything.
public enum BootstrapResolver {
    /// - Parameters:
    ///   - task: directory mounted at /var/task, if any.
    ///   - opt: directories stacked at /opt, topmost first.
    ///   - root: the root's layers, topmost first.
    public static func resolve(task: String?, opt: [String], root: [String]) -> String? {
        if let task, isExecutable(task + "/bootstrap") { return "/var/task/bootstrap" }
        if let top = opt.first(where: { exists($0 + "/bootstrap") }), isExecutable(top + "/bootstrap") { return "/opt/bootstrap" }
        if let top = root.first(where: { exists($0 + "/var/runtime/bootstrap") }), isExecutable(top + "/var/runtime/bootstrap") {
            return "/var/runtime/bootstrap"
        }
        return nil
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func isExecutable(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && (st.st_mode & 0o111) != 0
    }
}
