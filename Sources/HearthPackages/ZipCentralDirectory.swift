#if canImport(Glibc)
import Glibc
#endif

/// Reads only a zip's central directory to refuse what libarchive would happily
/// expand: entries whose data overlap (the non-recursive zip bomb), more
/// entries than allowed, declared totals beyond the cap, and names libarchive
/// would cut short (a NUL inside). Nothing is decompressed here; libarchive
/// still does all reading of contents.
///
/// Every size, offset and count here comes from the archive: each is checked
/// against the file before any arithmetic, and sums use overflow-reporting
/// operations, so no value can trap.
enum ZipCentralDirectory {
    struct Entry {
        var name: String
        var localHeaderOffset: UInt64
        var compressedSize: UInt64
    }

    /// A local file header is 30 bytes before its name, extra field and data.
    static let localHeaderBytes: UInt64 = 30
    /// The central directory is read whole; Lambda's 50 MB zips stay far below this.
    static let maxCentralDirectoryBytes: UInt64 = 64 * 1024 * 1024

    static func check(path: String, displayName: String, limits: ExtractionLimits) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PackageError.io("cannot read \(displayName): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size >= 0 else { throw PackageError.io("cannot read \(displayName): \(String(cString: strerror(errno)))") }
        try check(FileBytes(fd: fd, count: UInt64(st.st_size)), displayName: displayName, limits: limits)
    }

    /// The whole check over any random-access bytes (a file, or memory for the fuzzer).
    static func check(_ source: some ZipBytes, displayName: String, limits: ExtractionLimits) throws {
        let entries = try read(source, displayName: displayName, limits: limits)
        try checkOverlaps(entries.entries, centralDirectoryOffset: entries.centralDirectoryOffset)
    }

    static func read(_ source: some ZipBytes, displayName name: String, limits: ExtractionLimits)
        throws -> (entries: [Entry], centralDirectoryOffset: UInt64) {
        let size = source.count
        // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
        let tailLength = min(size, 65_557)
        guard tailLength >= 22 else { throw PackageError.corrupt(name, "too short to be a zip") }
        let tail = try source.read(at: size - tailLength, count: Int(tailLength), name: name)
        guard let eocd = stride(from: tail.count - 22, through: 0, by: -1).first(where: {
            tail[$0] == 0x50 && tail[$0 + 1] == 0x4b && tail[$0 + 2] == 5 && tail[$0 + 3] == 6
        }) else {
            throw PackageError.corrupt(name, "no end of central directory record (truncated or not a zip)")
        }
        let end = LittleEndian(tail, name: name)
        var count = UInt64(try end.u16(eocd + 10))
        var cdSize = UInt64(try end.u32(eocd + 12))
        var cdOffset = UInt64(try end.u32(eocd + 16))
        if count == 0xffff || cdOffset == 0xffff_ffff || cdSize == 0xffff_ffff {
            // zip64: the locator sits just before the record and says where the zip64 end record is.
            guard eocd >= 20, try end.u32(eocd - 20) == 0x0706_4b50 else { throw PackageError.corrupt(name, "zip64 locator missing") }
            let recordOffset = try end.u64(eocd - 12)
            guard recordOffset <= size, size - recordOffset >= 56 else {
                throw PackageError.corrupt(name, "zip64 end record lies outside the file")
            }
            let record = LittleEndian(try source.read(at: recordOffset, count: 56, name: name), name: name)
            guard try record.u32(0) == 0x0606_4b50 else { throw PackageError.corrupt(name, "zip64 end record missing") }
            count = try record.u64(32)
            cdSize = try record.u64(40)
            cdOffset = try record.u64(48)
        }
        guard count <= UInt64(limits.maxEntries) else {
            throw PackageError.limitExceeded("\(name) has \(count) entries; the limit is \(limits.maxEntries)")
        }
        guard cdOffset <= size, cdSize <= size - cdOffset else {
            throw PackageError.corrupt(name, "central directory lies outside the file")
        }
        guard cdSize <= maxCentralDirectoryBytes else {
            throw PackageError.limitExceeded("\(name) has a central directory of \(cdSize) bytes; the limit is \(maxCentralDirectoryBytes)")
        }
        let cd = LittleEndian(try source.read(at: cdOffset, count: Int(cdSize), name: name), name: name)
        var entries: [Entry] = []
        // count <= maxEntries, and every entry takes at least 46 bytes of the directory.
        entries.reserveCapacity(Int(min(count, cdSize / 46)))
        var p = 0
        var index: UInt64 = 0
        while index < count {
            index += 1
            guard cd.bytes.count - p >= 46, try cd.u32(p) == 0x0201_4b50 else {
                throw PackageError.corrupt(name, "central directory entry \(index) is damaged")
            }
            var compressed = UInt64(try cd.u32(p + 20))
            var uncompressed = UInt64(try cd.u32(p + 24))
            let nameLength = Int(try cd.u16(p + 28)), extraLength = Int(try cd.u16(p + 30)), commentLength = Int(try cd.u16(p + 32))
            var offset = UInt64(try cd.u32(p + 42))
            // Each length is below 2^16, so the sum cannot overflow an Int.
            let entryLength = 46 + nameLength + extraLength + commentLength
            guard cd.bytes.count - p >= entryLength else {
                throw PackageError.corrupt(name, "central directory entry \(index) is truncated")
            }
            let rawName = cd.bytes[(p + 46)..<(p + 46 + nameLength)]
            let entryName = String(decoding: rawName, as: UTF8.self)
            // libarchive hands names over as C strings: "a\0b" would arrive as "a".
            guard !rawName.contains(0) else {
                throw PackageError.hostileEntry(entryName.replacingNUL(), "name contains NUL")
            }
            // zip64 extra field: the 0xffffffff fields follow in order.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while extraEnd - e >= 4 {
                let id = try cd.u16(e), length = Int(try cd.u16(e + 2))
                guard extraEnd - (e + 4) >= length else {
                    throw PackageError.corrupt(name, "central directory entry \(index) has a truncated extra field")
                }
                if id == 1 {
                    var q = e + 4
                    let fieldEnd = e + 4 + length
                    if uncompressed == 0xffff_ffff, fieldEnd - q >= 8 { uncompressed = try cd.u64(q); q += 8 }
                    if compressed == 0xffff_ffff, fieldEnd - q >= 8 { compressed = try cd.u64(q); q += 8 }
                    if offset == 0xffff_ffff, fieldEnd - q >= 8 { offset = try cd.u64(q); q += 8 }
                }
                e += 4 + length
            }
            entries.append(Entry(name: entryName, localHeaderOffset: offset, compressedSize: compressed))
            p += entryLength
        }
        return (entries, cdOffset)
    }

    /// Each entry's data runs from its local header to at least header + 30 + compressed size;
    /// sorted by offset, no entry may start inside the previous one, and none may run into the
    /// central directory. Ends are computed with overflow checks: an end past 2^64 is past the directory.
    static func checkOverlaps(_ entries: [Entry], centralDirectoryOffset: UInt64) throws {
        func dataEnd(_ e: Entry) -> UInt64? {
            let (withHeader, o1) = e.localHeaderOffset.addingReportingOverflow(localHeaderBytes)
            let (end, o2) = withHeader.addingReportingOverflow(e.compressedSize)
            return o1 || o2 ? nil : end
        }
        let sorted = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            guard let end = dataEnd(a), b.localHeaderOffset >= end else {
                throw PackageError.hostileEntry(b.name, "overlaps the data of '\(a.name)' (a zip bomb)")
            }
        }
        if let last = sorted.last {
            guard let end = dataEnd(last), end <= centralDirectoryOffset else {
                throw PackageError.hostileEntry(last.name, "its data runs into the central directory")
            }
        }
    }
}

/// Random-access bytes of a zip: a file, or memory (the fuzzer's input).
protocol ZipBytes {
    var count: UInt64 { get }
    /// Exactly `count` bytes at `offset`; the caller has checked they lie inside.
    func read(at offset: UInt64, count: Int, name: String) throws -> [UInt8]
}

struct FileBytes: ZipBytes {
    let fd: Int32
    let count: UInt64

    func read(at offset: UInt64, count: Int, name: String) throws -> [UInt8] {
        guard offset <= UInt64(Int64.max) else { throw PackageError.corrupt(name, "offset \(offset) lies outside the file") }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return pread(fd, base + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PackageError.corrupt(name, "unexpected end of file") }
            done += n
        }
        return buffer
    }
}

struct MemoryBytes: ZipBytes {
    let bytes: [UInt8]
    var count: UInt64 { UInt64(bytes.count) }

    func read(at offset: UInt64, count: Int, name: String) throws -> [UInt8] {
        guard offset <= UInt64(bytes.count), count <= bytes.count - Int(offset) else {
            throw PackageError.corrupt(name, "unexpected end of file")
        }
        return Array(bytes[Int(offset)..<(Int(offset) + count)])
    }
}

/// Bounds-checked little-endian reads: an index outside the bytes is a corrupt archive, never a trap.
struct LittleEndian {
    let bytes: [UInt8]
    let name: String

    init(_ bytes: [UInt8], name: String) {
        self.bytes = bytes
        self.name = name
    }

    private func field(_ i: Int, _ width: Int) throws -> UInt64 {
        guard i >= 0, bytes.count - i >= width else { throw PackageError.corrupt(name, "a record ends early") }
        var value: UInt64 = 0
        for k in stride(from: width - 1, through: 0, by: -1) { value = value << 8 | UInt64(bytes[i + k]) }
        return value
    }

    func u16(_ i: Int) throws -> UInt16 { UInt16(truncatingIfNeeded: try field(i, 2)) }
    func u32(_ i: Int) throws -> UInt32 { UInt32(truncatingIfNeeded: try field(i, 4)) }
    func u64(_ i: Int) throws -> UInt64 { try field(i, 8) }
}

extension String {
    /// For error messages: a NUL shown as \0 rather than ending the text in a terminal.
    func replacingNUL() -> String {
        String(unicodeScalars.flatMap { $0 == "\u{0}" ? ["\\", "0"] : [Character($0)] })
    }
}
