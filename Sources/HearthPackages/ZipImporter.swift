#if canImport(Glibc)
import Glibc
#endif

/// Lambda zip packages (function code and layers) into the store, keyed by the zip's sha256.
public struct ZipImporter: Sendable {
    public let store: PackageStore
    public let limits: ExtractionLimits

    public init(store: PackageStore, limits: ExtractionLimits = .lambdaZip) {
        self.store = store
        self.limits = limits
    }

    /// Imports one zip; an identical zip imported before is not extracted again.
    /// `displayName` names the zip in errors (default: its file name).
    public func importZip(at path: String, displayName: String? = nil) throws -> StoredLayer {
        let name = displayName ?? lastPathComponent(path)
        try Self.check(at: path, displayName: name, limits: limits)
        let (digest, _) = try Digest.of(file: path)
        return try store.importLayer(digest) { target in
            let result = try SafeExtractor(mode: .zip, limits: limits).extract(archive: path, displayName: name, into: target)
            return (digest, result)
        }
    }

    /// What can be known of a zip without extracting it: a regular file within the zipped limit whose
    /// central directory holds (sizes, offsets, names, counts). `hearth deploy` checks before it sends.
    public static func check(at path: String, displayName: String? = nil, limits: ExtractionLimits = .lambdaZip) throws {
        let name = displayName ?? lastPathComponent(path)
        var st = stat()
        guard stat(path, &st) == 0 else { throw PackageError.io("cannot read \(path): \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw PackageError.io("\(path) is not a regular file") }
        guard Int64(st.st_size) <= limits.maxArchiveBytes else {
            throw PackageError.limitExceeded("\(name) is \(st.st_size) bytes zipped; the limit is \(limits.maxArchiveBytes)")
        }
        try ZipCentralDirectory.check(path: path, displayName: name, limits: limits)
    }

    /// A function's code and its layers must fit Lambda's unzipped limit together.
    public func checkUnzippedTotal(_ layers: [StoredLayer]) throws {
        let total = layers.reduce(Int64(0)) { $0 + $1.bytes }
        guard total <= limits.maxTotalBytes else {
            throw PackageError.limitExceeded("function code and layers unzip to \(total) bytes; the limit is \(limits.maxTotalBytes)")
        }
    }
}

func lastPathComponent(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
