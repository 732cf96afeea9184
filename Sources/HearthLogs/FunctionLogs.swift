#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Somewhere else a function's log lines go as well, with the invocation they belong to (the journal).
public protocol LogMirror: Sendable {
    func record(function: String, requestId: String, _ bytes: [UInt8])
}

/// Each function's log on disk (logs/NAME.log), one stored line per line of output with its time, its
/// sequence number and its execution environment's log stream (`LogEvent`); rotated at `maxBytes` with
/// `keep` old files (NAME.log.1 is the newest of them). `hearth logs` and the CloudWatch Logs API read it.
public final class FunctionLogs: @unchecked Sendable {
    public let directory: String
    public let maxBytes: Int
    public let keep: Int
    /// Where every line also goes, with its function and request id.
    public let mirror: (any LogMirror)?
    private let lock = NSLock()
    private var open: [String: (fd: Int32, size: Int, next: UInt64)] = [:]

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

    /// The files of a function's log, oldest first.
    func files(_ function: String) -> [String] {
        let base = path(function)
        return stride(from: max(1, keep), through: 1, by: -1).map { base + ".\($0)" } + [base]
    }

    /// An invocation's log bytes: to the function's file, and to the mirror with the request id.
    public func append(_ function: String, stream: String, requestId: String, _ bytes: [UInt8]) {
        append(function, stream: stream, bytes)
        if let mirror, !bytes.isEmpty { mirror.record(function: function, requestId: requestId, bytes) }
    }

    /// Output split at its newlines, each line stored as an event of `stream` at this moment (a chunk
    /// that ends without a newline is a line too, as Lambda flushes a partial line).
    public func append(_ function: String, stream: String, _ bytes: [UInt8], now: Int64 = LogTime.nowMilliseconds()) {
        guard !bytes.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        guard var file = handle(function) else { return }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64)
        var next = file.next
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.endIndex
            LogEvent.encode(timestamp: now, sequence: next, stream: stream, message: bytes[start..<end], into: &out)
            next += 1
            start = end + 1
        }
        if file.size + out.count > maxBytes && file.size > 0 {
            close(file.fd)
            open[function] = nil
            rotate(function)
            guard let fresh = handle(function, next: next) else { return }
            file = fresh
        }
        let written = out.withUnsafeBytes { write(file.fd, $0.baseAddress, $0.count) }
        open[function] = (file.fd, file.size + max(0, written), next)
    }

    private func handle(_ function: String, next known: UInt64? = nil) -> (fd: Int32, size: Int, next: UInt64)? {
        if let file = open[function] { return file }
        let fd = Glibc.open(path(function), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return nil }
        var st = stat()
        fstat(fd, &st)
        let next = known ?? (lastSequence(function).map { $0 + 1 } ?? 1)
        let file = (fd, Int(st.st_size), next)
        open[function] = file
        return file
    }

    /// The sequence number of the newest stored event, from the end of the newest file that has one.
    private func lastSequence(_ function: String) -> UInt64? {
        for file in files(function).reversed() {
            let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var st = stat()
            fstat(fd, &st)
            let size = Int(st.st_size)
            guard size > 0 else { continue }
            let count = min(size, 1 << 16)
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(size - count)) }
            guard n > 0 else { continue }
            for line in buffer[0..<n].split(separator: 0x0A).reversed() {
                if let event = LogEvent.parse(line) { return event.sequence }
            }
        }
        return nil
    }

    private func rotate(_ function: String) {
        let base = path(function)
        unlink(base + ".\(keep)")
        if keep > 1 {
            for n in stride(from: keep - 1, through: 1, by: -1) { rename(base + ".\(n)", base + ".\(n + 1)") }
        }
        rename(base, base + ".1")
    }

    /// The current file's lines from byte `offset` as `hearth logs` prints them (the messages, or with
    /// `timestamps` each after its time); the offset to ask from next time. Only whole lines are
    /// read; an offset past the end (the file rotated) reads from the start.
    public func read(_ function: String, from offset: Int, limit: Int = 1 << 20, timestamps: Bool = false) -> (bytes: [UInt8], next: Int) {
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
        guard n > 0, var end = buffer[0..<n].lastIndex(of: 0x0A) else { return ([], start) }
        end += 1
        var out: [UInt8] = []
        out.reserveCapacity(end)
        for line in buffer[0..<end].split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            guard let event = LogEvent.parse(line) else {
                out += line
                out.append(0x0A)
                continue
            }
            if timestamps { out += (LogTime.iso8601(milliseconds: event.timestamp) + " ").utf8 }
            out += event.message.utf8
            out.append(0x0A)
        }
        return (out, start + end)
    }

    /// The messages of roughly the last `bytes` of the current file.
    public func tail(_ function: String, bytes: Int) -> [UInt8] {
        var st = stat()
        guard stat(path(function), &st) == 0 else { return [] }
        return read(function, from: max(0, Int(st.st_size) - bytes), limit: bytes).bytes
    }

    /// Every stored event of `function`, oldest first, to `body` until it returns false. Events are
    /// taken in rising sequence, so a rotation while this reads gives none twice.
    public func scan(_ function: String, _ body: (LogEvent) -> Bool) {
        var last: UInt64 = 0
        for file in files(function) {
            let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var carry: [UInt8] = []
            var block = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = block.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                guard n > 0 else { break }
                carry += block[0..<n]
                guard let end = carry.lastIndex(of: 0x0A) else { continue }
                for line in carry[0..<end].split(separator: 0x0A) {
                    guard let event = LogEvent.parse(line), event.sequence > last else { continue }
                    last = event.sequence
                    if !body(event) { return }
                }
                carry.removeSubrange(0...end)
            }
        }
    }

    /// The bytes a function's log takes on disk.
    public func storedBytes(_ function: String) -> Int {
        files(function).reduce(0) { total, file in
            var st = stat()
            return total + (stat(file, &st) == 0 ? Int(st.st_size) : 0)
        }
    }

    /// Removes a deleted function's logs.
    public func remove(_ function: String) {
        lock.lock()
        defer { lock.unlock() }
        if let file = open.removeValue(forKey: function) { close(file.fd) }
        for file in files(function) { unlink(file) }
    }
}
