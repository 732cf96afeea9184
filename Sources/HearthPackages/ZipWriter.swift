import CArchive
import Foundation

/// Writes a zip of files given in memory, with libarchive (the library that reads every package here):
/// how Hearth makes the packages of its own built-in functions.
public enum ZipWriter {
    public struct Entry: Sendable {
        public var path: String
        public var contents: [UInt8]
        public var mode: UInt32

        public init(path: String, contents: [UInt8], mode: UInt32 = 0o644) {
            self.path = path
            self.contents = contents
            self.mode = mode
        }
    }

    /// Writes `entries` as a zip at `path` (created or replaced).
    public static func write(_ entries: [Entry], to path: String) throws {
        try ArchiveLibrary.check()
        guard let a = archive_write_new() else { throw PackageError.corrupt(path, "cannot allocate a zip writer") }
        defer { archive_write_free(a) }
        func check(_ status: Int32, _ step: String) throws {
            guard status == ARCHIVE_OK else {
                let message = archive_error_string(a).map { String(cString: $0) } ?? "status \(status)"
                throw PackageError.corrupt(path, "cannot write the zip (\(step)): \(message)")
            }
        }
        try check(archive_write_set_format_zip(a), "format")
        try check(archive_write_open_filename(a, path), "open")
        for file in entries {
            guard let entry = archive_entry_new() else { throw PackageError.corrupt(path, "cannot allocate an entry") }
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, file.path)
            archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG (a macro Swift does not import)
            archive_entry_set_perm(entry, file.mode)
            archive_entry_set_size(entry, Int64(file.contents.count))
            archive_entry_set_mtime(entry, 315_532_800, 0)
            try check(archive_write_header(a, entry), "header of \(file.path)")
            let written = file.contents.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            guard written == file.contents.count else { throw PackageError.corrupt(path, "cannot write \(file.path) into the zip") }
        }
        try check(archive_write_close(a), "close")
    }
}
