import CArchive

/// libarchive, which Hearth opens on first use (see CLazyLibrary): whoever makes a reader or a writer
/// asks here first, so a missing library is a clear error rather than a reader that cannot be made.
public enum ArchiveLibrary {
    public static func check() throws(PackageError) {
        if let why = hearth_archive_load_error() { throw .io("libarchive is needed to read packages and images: \(String(cString: why))") }
    }
}
