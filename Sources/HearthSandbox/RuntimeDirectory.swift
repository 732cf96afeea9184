#if canImport(Glibc)
import Glibc
#endif
import HearthModel

/// Host-side directories every sandbox start uses: the skeleton layer, the (always empty) directory
/// a child mounts its own root on in its own namespace, and the shared roots' mount points.
public struct RuntimeDirectory: Sendable {
    public let path: String
    public var skeleton: String { path + "/skeleton" }
    public var rootMountPoint: String { path + "/rootfs" }
    /// Where shared root overlays are mounted (`SharedRoots`).
    public var rootsDirectory: String { path + "/roots" }

    public static let defaultPath = "/run/hearth"

    public init(path: String = RuntimeDirectory.defaultPath) throws {
        self.path = path
        try Self.makeRootOnlyDirectory(path, mode: 0o711)
        try Self.makeRootOnlyDirectory(skeleton, mode: 0o755)
        for dir in MountPlan.skeletonDirectories {
            try Self.makeRootOnlyDirectory(skeleton + "/" + dir, mode: dir == "tmp" ? 0o1777 : 0o755)
        }
        try Self.makeRootOnlyDirectory(rootMountPoint, mode: 0o755)
        try Self.makeRootOnlyDirectory(rootsDirectory, mode: 0o711)
    }

    /// Creates the directory or checks that an existing one is a real, root-owned directory.
    static func makeRootOnlyDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw HearthError.system("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == 0 else {
            throw HearthError.system("\(path) must be a directory owned by root")
        }
        guard st.st_mode & 0o7777 == mode || chmod(path, mode) == 0 else {
            throw HearthError.system("cannot set the mode of \(path): \(String(cString: strerror(errno)))")
        }
    }
}
