#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthExecution
import HearthLogs
import HearthModel
import Synchronization

/// The invocations running now, in a file of the state directory shared with the kernel (mmap): a slot
/// is filled when an invocation starts and cleared when it ends, by memory writes alone (nothing on the
/// warm path waits for a disk). The page cache outlives a daemon killed with SIGKILL, so the next start
/// finds the invocations that were cut off and records them as failed in their functions' logs.
public final class InFlightJournal: @unchecked Sendable {
    /// One invocation: state, memory size, start time, request id, function name, version.
    static let slotBytes = 512
    /// Admitted (maybe still starting a sandbox), then running (its START line is in the log).
    private static let admitted: UInt32 = 0x4144_4d31  // "ADM1"
    private static let running: UInt32 = 0x5255_4e31  // "RUN1"
    private enum Field {
        static let state = 0, memory = 4, started = 8, requestId = (16, 48), function = (64, 128), version = (192, 128)
    }

    public struct Entry: Equatable, Sendable {
        public var requestId: String
        public var function: String
        public var version: String
        public var memoryMB: Int
        public var startedMs: UInt64
        /// It had its sandbox (else it was cut off while one started).
        public var running: Bool
    }

    /// A claimed slot, given back by `end`.
    public struct Slot: Sendable { let index: Int }

    private let base: UnsafeMutableRawPointer
    private let length: Int
    private let free: Mutex<[Int]>

    /// Opens (or creates) the journal at `path` with room for `slots` invocations at once. What a previous
    /// daemon left is in `leftovers` and is cleared from the file.
    public init(path: String, slots: Int) throws {
        let count = max(1, slots)
        length = count * Self.slotBytes
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw HearthError.system("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw HearthError.system("cannot read \(path): \(String(cString: strerror(errno)))") }
        let existing = Int(clamping: st.st_size)
        guard ftruncate(fd, off_t(max(existing, length))) == 0 else {
            throw HearthError.system("cannot size \(path): \(String(cString: strerror(errno)))")
        }
        let mapped = max(existing, length)
        guard let memory = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), memory != MAP_FAILED else {
            throw HearthError.system("cannot map \(path): \(String(cString: strerror(errno)))")
        }
        var found: [Entry] = []
        for index in 0..<(mapped / Self.slotBytes) {
            let slot = memory + index * Self.slotBytes
            if let entry = Self.read(slot) { found.append(entry) }
            memset(slot, 0, Self.slotBytes)
        }
        leftovers = found.sorted { $0.startedMs < $1.startedMs }
        // Only the first `count` slots are used from now on; a larger old file keeps its size.
        base = memory
        mappedLength = mapped
        free = Mutex(Array((0..<count).reversed()))
    }

    private let mappedLength: Int
    /// Invocations a previous daemon was running when it stopped.
    public let leftovers: [Entry]

    deinit { munmap(base, mappedLength) }

    /// Records an invocation as admitted; nil (nothing recorded) when every slot is taken.
    public func begin(requestId: String, function: String, version: String, memoryMB: Int) -> Slot? {
        guard let index = free.withLock({ $0.popLast() }) else { return nil }
        let slot = base + index * Self.slotBytes
        Self.write(requestId, at: slot, Field.requestId)
        Self.write(function, at: slot, Field.function)
        Self.write(version, at: slot, Field.version)
        slot.storeBytes(of: UInt32(clamping: memoryMB), toByteOffset: Field.memory, as: UInt32.self)
        slot.storeBytes(of: UInt64(Date().timeIntervalSince1970 * 1000), toByteOffset: Field.started, as: UInt64.self)
        // The state last: a daemon killed in the middle leaves a slot that reads as free.
        slot.storeBytes(of: Self.admitted, toByteOffset: Field.state, as: UInt32.self)
        return Slot(index: index)
    }

    /// The invocation has its sandbox and its START line.
    public func running(_ slot: Slot) {
        (base + slot.index * Self.slotBytes).storeBytes(of: Self.running, toByteOffset: Field.state, as: UInt32.self)
    }

    public func end(_ slot: Slot) {
        (base + slot.index * Self.slotBytes).storeBytes(of: 0, toByteOffset: Field.state, as: UInt32.self)
        free.withLock { $0.append(slot.index) }
    }

    private static func write(_ text: String, at slot: UnsafeMutableRawPointer, _ field: (offset: Int, length: Int)) {
        let bytes = Array(text.utf8.prefix(field.length - 1))
        memset(slot + field.offset, 0, field.length)
        bytes.withUnsafeBytes { (slot + field.offset).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(slot), byteCount: $0.count) }
    }

    private static func read(_ slot: UnsafeMutableRawPointer) -> Entry? {
        let state = slot.load(fromByteOffset: Field.state, as: UInt32.self)
        guard state == admitted || state == running else { return nil }
        func text(_ field: (offset: Int, length: Int)) -> String {
            let bytes = UnsafeRawBufferPointer(start: slot + field.offset, count: field.length)
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return Entry(requestId: text(Field.requestId), function: text(Field.function), version: text(Field.version),
                     memoryMB: Int(slot.load(fromByteOffset: Field.memory, as: UInt32.self)),
                     startedMs: slot.load(fromByteOffset: Field.started, as: UInt64.self), running: state == running)
    }

    /// Ends each invocation a stopped daemon left running in its function's log, as failed, after the
    /// runtime's output until the stop. Its START line is added unless the log has it (a START line waits
    /// for the runtime's first output before it is written, so a cut-off invocation may have none).
    public func recordLeftovers(in logs: FunctionLogs) {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        for entry in leftovers where !entry.function.isEmpty {
            // Its environment's stream is not known after the stop: one named for the invocation.
            let stream = LogStreamName.make(version: entry.version, startedAt: Int64(entry.startedMs / 1000), id: entry.requestId)
            let log = InvocationLog(sink: { bytes in logs.append(entry.function, stream: stream, requestId: entry.requestId, bytes) })
            let start = "START RequestId: \(entry.requestId) "
            let tail = String(decoding: logs.tail(entry.function, bytes: 1 << 16), as: UTF8.self)
            if !tail.contains(start) { log.start(requestId: entry.requestId, version: entry.version) }
            log.line("RequestId: \(entry.requestId) Error: Hearth stopped while this invocation ran; it was cut off")
            log.end(requestId: entry.requestId)
            let ms = Double(now >= entry.startedMs ? now - entry.startedMs : 0)
            log.report(requestId: entry.requestId, .init(durationMs: ms, memorySizeMB: entry.memoryMB, maxMemoryUsedMB: 0,
                                                         initDurationMs: nil, end: .platform(.unknown("cut off"))))
        }
    }
}
