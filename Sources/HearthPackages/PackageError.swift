/// Why a package or image was refused. Every message names the offending entry or file.
public enum PackageError: Error, Equatable, CustomStringConvertible, Sendable {
    /// An archive entry that could write outside the target, or is not allowed at all.
    case hostileEntry(String, String)
    /// A cap was hit (size, entries, depth).
    case limitExceeded(String)
    /// The archive cannot be read (truncated, corrupt, wrong format).
    case corrupt(String, String)
    /// A blob's digest or size differs from its descriptor.
    case digestMismatch(String)
    /// An image or manifest that is well-formed but not usable.
    case invalidImage(String)
    case io(String)

    public var description: String {
        switch self {
        case .hostileEntry(let name, let why): return "refused entry '\(name)': \(why)"
        case .limitExceeded(let m): return "limit exceeded: \(m)"
        case .corrupt(let name, let m): return "\(name) is not a valid archive: \(m)"
        case .digestMismatch(let m): return "digest mismatch: \(m)"
        case .invalidImage(let m): return "invalid image: \(m)"
        case .io(let m): return m
        }
    }
}

/// Caps applied while extracting; they count bytes actually written, never declared sizes.
public struct ExtractionLimits: Sendable, Equatable {
    public var maxArchiveBytes: Int64
    public var maxTotalBytes: Int64
    public var maxFileBytes: Int64
    public var maxEntries: Int
    public var maxPathBytes: Int = 4096
    public var maxDepth: Int = 128

    public init(maxArchiveBytes: Int64, maxTotalBytes: Int64, maxFileBytes: Int64, maxEntries: Int) {
        self.maxArchiveBytes = maxArchiveBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxFileBytes = maxFileBytes
        self.maxEntries = maxEntries
    }

    /// Lambda's limits for a zip package: 50 MB zipped, 250 MB unzipped.
    public static let lambdaZip = ExtractionLimits(
        maxArchiveBytes: 50 * 1024 * 1024, maxTotalBytes: 250 * 1024 * 1024, maxFileBytes: 250 * 1024 * 1024, maxEntries: 100_000)

    /// One image layer: Lambda allows 10 GB images.
    public static let imageLayer = ExtractionLimits(
        maxArchiveBytes: 10 * 1024 * 1024 * 1024, maxTotalBytes: 10 * 1024 * 1024 * 1024,
        maxFileBytes: 10 * 1024 * 1024 * 1024, maxEntries: 1_000_000)
}
