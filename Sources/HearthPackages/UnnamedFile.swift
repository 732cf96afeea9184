#if canImport(Glibc)
import Glibc
#endif
import CSyscalls

/// A file with no name in a directory (O_TMPFILE) until it is linked under one: whatever happens before
/// that, a refusal or a crash, leaves nothing behind. `path` reaches it through /proc/self/fd for code
/// that opens by path.
public final class UnnamedFile: @unchecked Sendable {
    public let fd: Int32
    public var path: String { "/proc/self/fd/\(fd)" }

    public init(directory: String) throws {
        fd = open(directory, hearth_o_tmpfile() | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PackageError.io("cannot create a file in \(directory): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    public func write(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.write(fd, base + done, raw.count - done)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PackageError.io("cannot write an upload: \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    /// Gives the file its name, durably; an existing file of that name stays (same content by its digest).
    public func link(as target: String) throws {
        guard fsync(fd) == 0 else { throw PackageError.io("cannot sync an upload: \(String(cString: strerror(errno)))") }
        if linkat(AT_FDCWD, path, AT_FDCWD, target, AT_SYMLINK_FOLLOW) != 0 && errno != EEXIST {
            throw PackageError.io("cannot store \(target): \(String(cString: strerror(errno)))")
        }
    }
}
