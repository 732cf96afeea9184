#if canImport(Glibc)
import Glibc
#endif
import CSyscalls

/// The directories an API client may name images in (the images directory and any the operator lists):
/// the daemon runs as root, so an ImageUri is never an arbitrary host path. A name is resolved inside a
/// root with openat2(RESOLVE_BENEATH), so no symlink leads out of it; only a regular file (an archive)
/// or a directory (an OCI layout) is accepted, so a FIFO or a device cannot stall or feed an import;
/// and a refusal never says whether a path outside the roots exists.
public struct ImageRoots: Sendable {
    public let directories: [String]

    public init(_ directories: [String]) {
        self.directories = directories.map { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    /// An image found under a root, held open: `path` reaches it through /proc/self/fd.
    public final class Opened: @unchecked Sendable {
        let fd: Int32
        public let isDirectory: Bool
        /// Where `ImageImporter` reads it, and the tag the URI named, if any.
        public var path: String { "/proc/self/fd/\(fd)" }
        public let tag: String?

        init(fd: Int32, isDirectory: Bool, tag: String?) {
            self.fd = fd
            self.isDirectory = isDirectory
            self.tag = tag
        }

        deinit { close(fd) }
    }

    /// Opens `uri` (`NAME[:TAG]` relative to a root, or an absolute path under one, `[:TAG]`).
    public func open(_ uri: String) throws -> Opened {
        let (path, tag) = Self.split(uri)
        guard !path.isEmpty, !path.contains("\0") else { throw PackageError.invalidImage("ImageUri is empty") }
        var candidates: [(root: String, relative: String)] = []
        if path.hasPrefix("/") {
            for root in directories where path.hasPrefix(root + "/") {
                candidates.append((root, String(path.dropFirst(root.count + 1))))
            }
            guard !candidates.isEmpty else { throw outside(uri) }
        } else {
            candidates = directories.map { ($0, path) }
        }
        for (root, relative) in candidates {
            guard !relative.split(separator: "/").contains("..") else { throw outside(uri) }
            let rootFd = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard rootFd >= 0 else { continue }
            defer { close(rootFd) }
            let fd = hearth_openat2_beneath(rootFd, relative, hearth_o_path(), 0)
            if fd < 0 {
                // EXDEV: a symlink pointed out of the root.
                if errno == EXDEV || errno == ELOOP { throw outside(uri) }
                continue
            }
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                close(fd)
                continue
            }
            switch st.st_mode & S_IFMT {
            case S_IFREG, S_IFDIR:
                return Opened(fd: fd, isDirectory: (st.st_mode & S_IFMT) == S_IFDIR, tag: tag)
            default:
                close(fd)
                throw PackageError.invalidImage("\(uri) is not an image: only an archive file or an OCI layout directory is read")
            }
        }
        throw PackageError.invalidImage("no image \(uri) under \(directories.joined(separator: ", "))")
    }

    private func outside(_ uri: String) -> PackageError {
        .invalidImage("ImageUri must name an image under \(directories.joined(separator: ", ")) (as NAME[:TAG] or a path there); \(uri) does not")
    }

    /// A name an uploaded image is kept under: [a-zA-Z0-9][a-zA-Z0-9._-]{0,127}.
    public static func isUploadName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 128 else { return false }
        func alnum(_ b: UInt8) -> Bool { (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) }
        return alnum(first) && name.utf8.allSatisfy { alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// "path:tag" → (path, tag): the last colon, when what follows it has no slash.
    public static func split(_ uri: String) -> (String, String?) {
        if let colon = uri.lastIndex(of: ":"), !uri[uri.index(after: colon)...].contains("/"), colon != uri.startIndex {
            return (String(uri[..<colon]), String(uri[uri.index(after: colon)...]))
        }
        return (uri, nil)
    }
}
