#if canImport(Glibc)
import Glibc
#endif
import HearthModel

/// A sandbox's cgroup in the hierarchy that can freeze it: cgroup v2's own (cgroup.freeze), or v1's
/// freezer hierarchy, which the init joins with the others. Lambda freezes an environment between
/// invocations; so does the supervisor, through this. The whole sandbox is frozen, its init too, so
/// the daemon's thaw guard (`ThawGuard`) thaws its sandboxes when it dies: a frozen init cannot see
/// its lifeline hang up, and a frozen v1 process ignores even SIGKILL until thawed.
public struct SandboxFreezer: Sendable {
    /// The cgroup's directory.
    public let directory: String
    /// The file that freezes and thaws it: cgroup v2's cgroup.freeze, v1's freezer.state.
    public let controlPath: String
    let frozenValue: String
    let thawedValue: String
    private let control: any CgroupControlFile

    init(directory: String, controlName: String, frozen: String, thawed: String, fs: any CgroupFilesystem) {
        self.directory = directory
        controlPath = directory + "/" + controlName
        frozenValue = frozen
        thawedValue = thawed
        control = fs.controlFile(controlPath)
    }

    static func v1(_ directory: String, fs: any CgroupFilesystem) -> SandboxFreezer {
        SandboxFreezer(directory: directory, controlName: "freezer.state", frozen: "FROZEN", thawed: "THAWED", fs: fs)
    }

    static func v2(_ directory: String, fs: any CgroupFilesystem) -> SandboxFreezer {
        SandboxFreezer(directory: directory, controlName: "cgroup.freeze", frozen: "1", thawed: "0", fs: fs)
    }

    /// Stops every process in the cgroup where it is; the kernel finishes the freeze asynchronously.
    public func freeze() throws { try control.write(frozenValue) }

    /// Lets them run again.
    public func thaw() throws { try control.write(thawedValue) }

    /// Lets go of the kept descriptor (at the cgroup's removal).
    func close() { control.close() }

    /// Thaws every sandbox cgroup (sb-...) in `parents` whose name `belongs` accepts, in whichever
    /// hierarchy has a freezer; returns the names thawed.
    public static func thawAll(in parents: [String], belongs: (String) -> Bool,
                               fs: any CgroupFilesystem = KernelCgroupFilesystem()) -> [String] {
        var thawed: [String] = []
        for parent in parents {
            for name in fs.sandboxDirectories(in: [parent]).sorted() where belongs(name) {
                let dir = parent + "/" + name
                let freezer = fs.exists(dir + "/freezer.state") ? v1(dir, fs: fs) : v2(dir, fs: fs)
                if (try? freezer.thaw()) != nil { thawed.append(name) }
                freezer.close()
            }
        }
        return thawed
    }
}

/// A cgroup control file written again and again (a freezer's, twice per warm invocation).
public protocol CgroupControlFile: Sendable {
    func write(_ value: String) throws
    func close()
}

/// Writes the file by its path each time.
struct PathControlFile: CgroupControlFile {
    let fs: any CgroupFilesystem
    let path: String

    func write(_ value: String) throws { try fs.write(value, to: path) }
    func close() {}
}

/// Writes through one descriptor, opened at the first write and kept, as `OpenValueFile` reads: no
/// path walk through cgroupfs on the warm path.
final class OpenControlFile: CgroupControlFile {
    private let file: KeptDescriptor

    init(path: String) { file = KeptDescriptor(path: path, flags: O_WRONLY) }

    func write(_ value: String) throws {
        let written: Void? = try file.use { fd in
            let bytes = Array(value.utf8)
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n == bytes.count else {
                throw HearthError.cgroup("cannot write '\(value)' to \(file.path): \(String(cString: strerror(errno)))")
            }
        }
        guard written != nil else { throw HearthError.cgroup("cannot open \(file.path): \(String(cString: strerror(errno)))") }
    }

    func close() { file.close() }
}
