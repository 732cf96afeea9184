#if canImport(Glibc)
import Glibc
#endif

/// Reads only a zip's central directory to refuse what libarchive would happily
/// expand: entries whose data overlap (the non-recursive zip bomb), more
/// entries than allowed, and declared totals beyond the cap. Nothing is
/// decompressed here; libarchive still does all reading of contents.
enum ZipCentralDirectory {
    struct Entry {
        var name: String
        var localHeaderOffset: UInt64
        var compressedSize: UInt64
    }

    static func check(path: String, displayName: String, limits: ExtractionLimits) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PackageError.io("cannot read \(displayName): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let size = Int64(lseek(fd, 0, SEEK_END))
        // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
        let tailLength = Int(min(size, 65_557))
        guard tailLength >= 22 else { throw PackageError.corrupt(displayName, "too short to be a zip") }
        let tail = try readAt(fd, offset: size - Int64(tailLength), count: tailLength, name: displayName)
        guard let eocd = stride(from: tail.count - 22, through: 0, by: -1).first(where: { tail[$0] == 0x50 && tail[$0 + 1] == 0x4b && tail[$0 + 2] == 5 && tail[$0 + 3] == 6 }) else {
            throw PackageError.corrupt(displayName, "no end of central directory record (truncated or not a zip)")
        }
        var count = UInt64(le16(tail, eocd + 10))
        var cdSize = UInt64(le32(tail, eocd + 12))
        var cdOffset = UInt64(le32(tail, eocd + 16))
        if count == 0xffff || cdOffset == 0xffff_ffff {
            // zip64: the locator sits just before the record.
            guard eocd >= 20, le32(tail, eocd - 20) == 0x0706_4b50 else { throw PackageError.corrupt(displayName, "zip64 locator missing") }
            let recordOffset = Int64(le64(tail, eocd - 12))
            let record = try readAt(fd, offset: recordOffset, count: 56, name: displayName)
            guard le32(record, 0) == 0x0606_4b50 else { throw PackageError.corrupt(displayName, "zip64 end record missing") }
            count = le64(record, 32)
            cdSize = le64(record, 40)
            cdOffset = le64(record, 48)
        }
        guard count <= UInt64(limits.maxEntries) else {
            throw PackageError.limitExceeded("\(displayName) has \(count) entries; the limit is \(limits.maxEntries)")
        }
        guard cdOffset + cdSize <= UInt64(size), cdSize <= 64 * 1024 * 1024 else {
            throw PackageError.corrupt(displayName, "central directory lies outside the file")
        }
        let cd = try readAt(fd, offset: Int64(cdOffset), count: Int(cdSize), name: displayName)
        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        var p = 0
        for _ in 0..<count {
            guard p + 46 <= cd.count, le32(cd, p) == 0x0201_4b50 else {
                throw PackageError.corrupt(displayName, "central directory entry \(entries.count + 1) is damaged")
            }
            var compressed = UInt64(le32(cd, p + 20))
            var uncompressed = UInt64(le32(cd, p + 24))
            let nameLength = Int(le16(cd, p + 28)), extraLength = Int(le16(cd, p + 30)), commentLength = Int(le16(cd, p + 32))
            var offset = UInt64(le32(cd, p + 42))
            guard p + 46 + nameLength + extraLength + commentLength <= cd.count else {
                throw PackageError.corrupt(displayName, "central directory entry \(entries.count + 1) is truncated")
            }
            let name = String(decoding: cd[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            // zip64 extra field: the 0xffffffff fields follow in order.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = le16(cd, e), length = Int(le16(cd, e + 2))
                if id == 1 {
                    var q = e + 4
                    if uncompressed == 0xffff_ffff, q + 8 <= e + 4 + length { uncompressed = le64(cd, q); q += 8 }
                    if compressed == 0xffff_ffff, q + 8 <= e + 4 + length { compressed = le64(cd, q); q += 8 }
                    if offset == 0xffff_ffff, q + 8 <= e + 4 + length { offset = le64(cd, q); q += 8 }
                }
                e += 4 + length
            }
            entries.append(Entry(name: name, localHeaderOffset: offset, compressedSize: compressed))
            p += 46 + nameLength + extraLength + commentLength
        }
        // Each entry's data runs from its local header to at least header + 30 + compressed size;
        // sorted by offset, no entry may start inside the previous one.
        let sorted = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            if b.localHeaderOffset < a.localHeaderOffset + 30 + a.compressedSize {
                throw PackageError.hostileEntry(b.name, "overlaps the data of '\(a.name)' (a zip bomb)")
            }
        }
        if let last = sorted.last, last.localHeaderOffset + 30 + last.compressedSize > cdOffset {
            throw PackageError.hostileEntry(last.name, "its data runs into the central directory")
        }
    }

    private static func readAt(_ fd: Int32, offset: Int64, count: Int, name: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard n == count else { throw PackageError.corrupt(name, "unexpected end of file") }
        return buffer
    }

    private static func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private static func le32(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(le16(b, i)) | UInt32(le16(b, i + 2)) << 16 }
    private static func le64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(le32(b, i)) | UInt64(le32(b, i + 4)) << 32 }
}
