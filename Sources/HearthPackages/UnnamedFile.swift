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
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ raw: UnsafeRawBufferPointer) throws {
        guard let base = raw.baseAddress else { return }
        var done = 0
        while done < raw.count {
            let n = Glibc.write(fd, base + done, raw.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PackageError.io("cannot write an upload: \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    /// Its size now.
    public var size: Int64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
    }

    /// Its whole content, read from the start (for bodies known to be small enough: an Invoke's 6 MB).
    public func readAll(limit: Int) throws -> [UInt8] {
        let length = Int(clamping: size)
        guard length <= limit else { throw PackageError.limitExceeded("\(length) bytes, more than \(limit)") }
        var buffer = [UInt8](repeating: 0, count: length)
        var done = 0
        while done < length {
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return pread(fd, base + done, length - done, off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PackageError.io("cannot read back an upload: \(String(cString: strerror(errno)))") }
            done += n
        }
        return buffer
    }

    /// A reader from the start: each call returns the next block, empty at the end.
    public func blocks(size: Int = 1 << 16) -> () throws -> [UInt8] {
        var offset: off_t = 0
        return { [self] in
            var buffer = [UInt8](repeating: 0, count: size)
            while true {
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, offset) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw PackageError.io("cannot read back an upload: \(String(cString: strerror(errno)))") }
                offset += off_t(n)
                return Array(buffer[0..<n])
            }
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
