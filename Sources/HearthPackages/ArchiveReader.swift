#if canImport(Glibc)
import Glibc
#endif
import CArchive
import Crypto
import HearthModel

/// One entry as libarchive reports it; names are the archive's raw bytes.
struct ArchiveEntry {
    enum Kind: Equatable { case regular, directory, symlink, hardlink, other(String) }
    var rawPath: [UInt8]
    var kind: Kind
    var mode: UInt32
    /// Declared size; never trusted for limits.
    var declaredSize: Int64
    var linkTarget: [UInt8]?
    var encrypted: Bool
    /// Modification time, kept: Python trusts a .pyc only if its source's mtime matches.
    var mtime: timespec?
}

/// Streaming reader over libarchive. Formats are chosen by the caller so a zip
/// import never parses tar and a layer never parses zip.
final class ArchiveReader {
    enum Format {
        case zip
        /// A tar, plain or compressed with gzip or zstd.
        case tar
        /// As tar, and the uncompressed stream is hashed on the way (a layer's diff_id).
        case hashedTar
    }

    private let archive: OpaquePointer
    private let fd: Int32
    /// For .hashedTar: the reader that decompresses, feeding `archive` through a callback.
    private let stream: DecompressedStream?
    let displayName: String

    init(path: String, format: Format, displayName: String) throws {
        try ArchiveLibrary.check()
        guard let a = archive_read_new() else { throw PackageError.corrupt(displayName, "cannot allocate a reader") }
        archive = a
        self.displayName = displayName
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            archive_read_free(a)
            throw PackageError.io("cannot open \(displayName): \(String(cString: strerror(errno)))")
        }
        var rc: Int32
        switch format {
        case .zip:
            // The seekable reader trusts the central directory, as unzip does.
            archive_read_support_format_zip_seekable(a)
            archive_read_support_filter_none(a)
            stream = nil
            rc = archive_read_open_fd(a, fd, 1 << 16)
        case .tar:
            Self.supportTar(a)
            archive_read_support_filter_gzip(a)
            archive_read_support_filter_zstd(a)
            stream = nil
            rc = archive_read_open_fd(a, fd, 1 << 16)
        case .hashedTar:
            Self.supportTar(a)
            do {
                let s = try DecompressedStream(fd: fd, displayName: displayName)
                stream = s
                rc = archive_read_open(a, Unmanaged.passUnretained(s).toOpaque(), nil, { _, client, buffer in
                    guard let client, let buffer else { return -1 }
                    return Unmanaged<DecompressedStream>.fromOpaque(client).takeUnretainedValue().next(buffer)
                }, nil)
            } catch {
                archive_read_free(a)
                close(fd)
                throw error
            }
        }
        // Every stored property is set by now, so a throw here runs deinit, which frees both.
        guard rc == ARCHIVE_OK else { throw PackageError.corrupt(displayName, Self.errorString(a)) }
    }

    private static func supportTar(_ a: OpaquePointer) {
        archive_read_support_format_tar(a)
        archive_read_support_format_gnutar(a)
        archive_read_support_filter_none(a)
    }

    deinit {
        archive_read_free(archive)
        close(fd)
    }

    /// sha256 of everything decompressed so far, after draining the rest (the tar's padding).
    func uncompressedDigest() throws -> Digest? {
        guard let stream else { return nil }
        return try stream.finish()
    }

    /// The next entry, or nil at the end.
    func next() throws -> ArchiveEntry? {
        var entry: OpaquePointer?
        let rc = archive_read_next_header(archive, &entry)
        if rc == ARCHIVE_EOF { return nil }
        guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let entry else {
            throw PackageError.corrupt(displayName, Self.errorString(archive))
        }
        guard let namePointer = archive_entry_pathname(entry) else {
            throw PackageError.hostileEntry("(unnamed)", "entry without a name")
        }
        let rawPath = Array(UnsafeBufferPointer(start: UnsafeRawPointer(namePointer).assumingMemoryBound(to: UInt8.self),
                                                count: strlen(namePointer)))
        let mode = UInt32(archive_entry_mode(entry))
        var kind: ArchiveEntry.Kind
        var target: [UInt8]?
        if let hard = archive_entry_hardlink(entry) {
            kind = .hardlink
            target = Array(UnsafeBufferPointer(start: UnsafeRawPointer(hard).assumingMemoryBound(to: UInt8.self), count: strlen(hard)))
        } else {
            switch mode & 0o170000 {
            case 0o100000: kind = .regular
            case 0o040000: kind = .directory
            case 0o120000:
                kind = .symlink
                if let link = archive_entry_symlink(entry) {
                    target = Array(UnsafeBufferPointer(start: UnsafeRawPointer(link).assumingMemoryBound(to: UInt8.self), count: strlen(link)))
                }
            case 0o020000: kind = .other("character device")
            case 0o060000: kind = .other("block device")
            case 0o010000: kind = .other("FIFO")
            case 0o140000: kind = .other("socket")
            default: kind = .other("entry of unknown type")
            }
        }
        return ArchiveEntry(rawPath: rawPath, kind: kind, mode: mode & 0o7777,
                            declaredSize: archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : -1,
                            linkTarget: target, encrypted: archive_entry_is_encrypted(entry) != 0,
                            mtime: archive_entry_mtime_is_set(entry) != 0
                                ? timespec(tv_sec: Int(archive_entry_mtime(entry)), tv_nsec: Int(archive_entry_mtime_nsec(entry))) : nil)
    }

    /// Reads the current entry's data in blocks; `body` returns false to stop early.
    func readData(into buffer: inout [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            if n == 0 { return }
            if n < 0 { throw PackageError.corrupt(displayName, Self.errorString(archive)) }
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    private static func errorString(_ a: OpaquePointer) -> String {
        archive_error_string(a).map { String(cString: $0) } ?? "unreadable archive"
    }
}

/// Decompresses a (gzip, zstd or plain) file with libarchive's "raw" format and
/// hands the bytes to a second reader, hashing them on the way.
final class DecompressedStream {
    private let raw: OpaquePointer
    private var hasher = SHA256()
    /// Handed to libarchive by pointer, so it must not move: allocated once, freed in deinit.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    private var failed: String?
    let displayName: String

    init(fd: Int32, displayName: String) throws {
        try ArchiveLibrary.check()
        guard let r = archive_read_new() else { throw PackageError.corrupt(displayName, "cannot allocate a reader") }
        raw = r
        self.displayName = displayName
        archive_read_support_format_raw(r)
        archive_read_support_filter_none(r)
        archive_read_support_filter_gzip(r)
        archive_read_support_filter_zstd(r)
        var entry: OpaquePointer?
        guard archive_read_open_fd(r, fd, 1 << 16) == ARCHIVE_OK, archive_read_next_header(r, &entry) == ARCHIVE_OK else {
            let message = archive_error_string(r).map { String(cString: $0) } ?? "unreadable"
            archive_read_free(r)
            throw PackageError.corrupt(displayName, message)
        }
    }

    deinit {
        archive_read_free(raw)
        buffer.deallocate()
    }

    /// The read callback: the next block, 0 at the end, -1 on error.
    func next(_ out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        let n = archive_read_data(raw, buffer.baseAddress, buffer.count)
        if n < 0 {
            failed = archive_error_string(raw).map { String(cString: $0) } ?? "decompression failed"
            return -1
        }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        out.pointee = UnsafeRawPointer(buffer.baseAddress)
        return n
    }

    func finish() throws -> Digest {
        while true {
            var out: UnsafeRawPointer?
            if withUnsafeMutablePointer(to: &out, { next($0) }) <= 0 { break }
        }
        if let failed { throw PackageError.corrupt(displayName, failed) }
        return Digest(hasher.finalize())
    }
}
