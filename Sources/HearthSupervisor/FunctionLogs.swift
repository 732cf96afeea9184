#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Somewhere else a function's log lines go as well, with the invocation they belong to (the journal).
public protocol LogMirror: Sendable {
    func record(function: String, requestId: String, _ bytes: [UInt8])
}

/// Each function's log on disk (logs/NAME.log), rotated at `maxBytes` with
/// `keep` old files (NAME.log.1 is the newest of them), read by `hearth logs`.
public final class FunctionLogs: @unchecked Sendable {
    public let directory: String
    public let maxBytes: Int
    public let keep: Int
    /// Where every line also goes, with its function and request id.
    public let mirror: (any LogMirror)?
    private let lock = NSLock()
    private var open: [String: (fd: Int32, size: Int)] = [:]

    public init(directory: String, maxBytes: Int = 8 << 20, keep: Int = 3, mirror: (any LogMirror)? = nil) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        self.maxBytes = maxBytes
        self.keep = keep
        self.mirror = mirror
    }

    deinit {
        for (_, file) in open { close(file.fd) }
    }

    func path(_ function: String) -> String { directory + "/" + function + ".log" }

    /// An invocation's log bytes: to the function's file, and to the mirror with the request id.
    public func append(_ function: String, requestId: String, _ bytes: [UInt8]) {
        append(function, bytes)
        if let mirror, !bytes.isEmpty { mirror.record(function: function, requestId: requestId, bytes) }
    }

    public func append(_ function: String, _ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        guard var file = handle(function) else { return }
        if file.size + bytes.count > maxBytes && file.size > 0 {
            close(file.fd)
            open[function] = nil
            rotate(function)
            guard let fresh = handle(function) else { return }
            file = fresh
        }
        let written = bytes.withUnsafeBytes { write(file.fd, $0.baseAddress, $0.count) }
        if written > 0 { open[function] = (file.fd, file.size + written) }
    }

    private func handle(_ function: String) -> (fd: Int32, size: Int)? {
        if let file = open[function] { return file }
        let fd = Glibc.open(path(function), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return nil }
        var st = stat()
        fstat(fd, &st)
        let file = (fd, Int(st.st_size))
        open[function] = file
        return file
    }

    private func rotate(_ function: String) {
        let base = path(function)
        unlink(base + ".\(keep)")
        if keep > 1 {
            for n in stride(from: keep - 1, through: 1, by: -1) { rename(base + ".\(n)", base + ".\(n + 1)") }
        }
        rename(base, base + ".1")
    }

    /// The current file from `offset`; the offset to ask from next time. An offset past the end
    /// (the file rotated) reads from the start.
    public func read(_ function: String, from offset: Int, limit: Int = 1 << 20) -> (bytes: [UInt8], next: Int) {
        lock.lock()
        defer { lock.unlock() }
        let fd = Glibc.open(path(function), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return ([], 0) }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let size = Int(st.st_size)
        let start = offset > size ? 0 : max(0, offset)
        let count = min(limit, size - start)
        guard count > 0 else { return ([], start) }
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(start)) }
        return (n > 0 ? Array(buffer[0..<n]) : [], start + max(0, n))
    }

    /// The last `bytes` of the current file.
    public func tail(_ function: String, bytes: Int) -> [UInt8] {
        var st = stat()
        guard stat(path(function), &st) == 0 else { return [] }
        return read(function, from: max(0, Int(st.st_size) - bytes), limit: bytes).bytes
    }

    /// Removes a deleted function's logs.
    public func remove(_ function: String) {
        lock.lock()
        defer { lock.unlock() }
        if let file = open.removeValue(forKey: function) { close(file.fd) }
        let base = path(function)
        unlink(base)
        for n in 1...max(1, keep) { unlink(base + ".\(n)") }
    }
}
