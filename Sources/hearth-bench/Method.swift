import CBenchSupport
import Foundation

/// One way of starting `busybox true` on the benchmark rootfs.
struct Method: @unchecked Sendable {
    let name: String
    /// Runs once; returns false if the run failed.
    let run: @Sendable (_ index: Int) -> Bool
}

/// An external command, run with vfork+exec and timed from outside (its own start is part of its cost).
func commandMethod(_ name: String, path: String, arguments: @escaping @Sendable (Int) -> [String], mountNamespace: Int32 = -1) -> Method {
    Method(name: name) { index in
        let argv = [path] + arguments(index)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        let status = hearth_bench_run(path, cArgs, mountNamespace)
        return status == 0
    }
}

func which(_ tool: String) -> String? {
    for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let path = dir + "/" + tool
        if access(path, X_OK) == 0 { return path }
    }
    return nil
}
