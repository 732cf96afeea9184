#if canImport(Glibc)
import Glibc
#endif
import HearthModel
import Synchronization

/// The few operations cgroup code performs on cgroupfs. The kernel's is the real
/// one; unit tests use a fake tree in a temporary directory that follows the
/// kernel's rules (interface files appear on mkdir, no internal processes, EBUSY).
public protocol CgroupFilesystem: Sendable {
    func read(_ path: String) -> String?
    func write(_ value: String, to path: String) throws
    func exists(_ path: String) -> Bool
    /// Creates a directory; an existing one is fine only when `mayExist`.
    func makeDirectory(_ path: String, mayExist: Bool) throws
    /// Removes a cgroup directory, retrying while the kernel still counts exiting tasks.
    func removeDirectory(_ path: String, attempts: Int) throws
    /// A file to read an integer from again and again (the peak memory, on every warm invocation).
    func valueFile(_ path: String) -> any CgroupValueFile
    /// A file to write again and again (a freezer's control file).
    func controlFile(_ path: String) -> any CgroupControlFile
}

/// An integer-valued cgroup file, read as often as asked until closed.
public protocol CgroupValueFile: Sendable {
    func integer() -> Int64?
    /// Lets go of the file (at the cgroup's removal); later reads answer nil.
    func close()
}

/// Reads the file by its path each time.
struct PathValueFile: CgroupValueFile {
    let fs: any CgroupFilesystem
    let path: String

    func integer() -> Int64? { fs.integer(path) }
    func close() {}
}

/// Reads the file through one descriptor, opened at the first read and kept (pread at offset 0
/// makes cgroupfs render it anew): opening it on every invocation cost path walks through
/// cgroupfs, ~3% of the daemon's CPU under load. The descriptor does not keep the cgroup from
/// being removed; `close` lets it go.
final class OpenValueFile: CgroupValueFile {
    private let file: KeptDescriptor

    init(path: String) { file = KeptDescriptor(path: path, flags: O_RDONLY) }

    func integer() -> Int64? { file.use { fd in Self.readInteger(fd) } ?? nil }

    func close() { file.close() }

    private static func readInteger(_ fd: Int32) -> Int64? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer -> Int64? in
            var n: Int
            repeat { n = pread(fd, buffer.baseAddress, buffer.count, 0) } while n < 0 && errno == EINTR
            guard n > 0 else { return nil }
            return parseInteger(String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self))
        }
    }
}

/// A descriptor opened at its first use and kept until `close` (for good: later uses get nil).
final class KeptDescriptor: Sendable {
    let path: String
    private let flags: Int32
    /// -1: not opened yet, -2: closed for good.
    private let fd = Mutex<Int32>(-1)

    init(path: String, flags: Int32) {
        self.path = path
        self.flags = flags
    }

    deinit { close() }

    /// `body` with the descriptor, under its lock; nil if it cannot be opened or was closed.
    func use<T>(_ body: (Int32) throws -> T) rethrows -> T? {
        try fd.withLock { fd -> T? in
            if fd == -1 {
                let opened = open(path, flags | O_CLOEXEC)
                guard opened >= 0 else { return nil }
                fd = opened
            }
            guard fd >= 0 else { return nil }
            return try body(fd)
        }
    }

    func close() {
        fd.withLock { fd in
            if fd >= 0 { Glibc.close(fd) }
            fd = -2
        }
    }
}

/// A cgroup file's single integer ("123456\n").
func parseInteger(_ text: String) -> Int64? { Int64(text.trimmingWhitespace()) }

extension CgroupFilesystem {
    public func valueFile(_ path: String) -> any CgroupValueFile { PathValueFile(fs: self, path: path) }
    public func controlFile(_ path: String) -> any CgroupControlFile { PathControlFile(fs: self, path: path) }

    /// "key value" lines (memory.events, pids.events) as a dictionary.
    func keyedValues(_ path: String) -> [String: Int64] {
        guard let text = read(path) else { return [:] }
        var out: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Int64(parts[1]) { out[String(parts[0])] = value }
        }
        return out
    }

    func integer(_ path: String) -> Int64? { read(path).flatMap(parseInteger) }

    func pids(_ path: String) -> [Int32] {
        (read(path) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    func words(_ path: String) -> Set<String> {
        Set((read(path) ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }

    func removeDirectory(_ path: String) throws { try removeDirectory(path, attempts: 200) }

    /// Without cgroup.kill: SIGKILL whatever `procs` lists until it lists nothing, for at most ~0.2 s.
    /// A killed sandbox is usually gone within 0.2-1.5 ms (more for a runtime with more memory to free),
    /// so the first 20 ms are watched closely (pauses of 20, 40, 80, then 100 us); a fixed 1 ms pause
    /// made every teardown at least 1 ms.
    /// One SIGKILL to each process `procs` lists, waiting for nothing (before a thaw: a frozen v1
    /// process dies only once thawed, and then runs none of its own code).
    func signalListed(_ procs: String) {
        for pid in pids(procs) { kill(pid, SIGKILL) }
    }

    func killListed(_ procs: String) {
        var pause: UInt32 = 20, waited: UInt32 = 0
        while waited < 200_000 {
            let pids = pids(procs)
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(pause)
            waited += pause
            pause = waited < 20_000 ? min(pause * 2, 100) : 2_000
        }
    }
}

/// The kernel's cgroupfs, through plain system calls.
public struct KernelCgroupFilesystem: CgroupFilesystem {
    public init() {}

    public func write(_ value: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HearthError.cgroup("cannot open \(path): \(errnoString())") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw HearthError.cgroup("cannot write '\(value)' to \(path): \(errnoString())") }
    }

    public func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: result, as: UTF8.self)
    }

    public func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func valueFile(_ path: String) -> any CgroupValueFile { OpenValueFile(path: path) }

    public func controlFile(_ path: String) -> any CgroupControlFile { OpenControlFile(path: path) }

    public func makeDirectory(_ path: String, mayExist: Bool) throws {
        if mkdir(path, 0o755) == 0 { return }
        if errno == EEXIST && mayExist { return }
        throw HearthError.cgroup("cannot create \(path): \(errnoString())")
    }

    public func removeDirectory(_ path: String, attempts: Int) throws {
        for attempt in 0..<max(1, attempts) {
            if rmdir(path) == 0 || errno == ENOENT { return }
            guard errno == EBUSY, attempt + 1 < attempts else { break }
            usleep(2_000)
        }
        throw HearthError.cgroup("cannot remove \(path): \(errnoString())")
    }

    private func errnoString() -> String { String(cString: strerror(errno)) }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" { s.removeLast() }
        return String(s)
    }
}
