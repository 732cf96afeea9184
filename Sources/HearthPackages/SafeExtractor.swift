#if canImport(Glibc)
import Glibc
#endif
import CSyscalls
import HearthModel

/// Extracts an archive into a fresh, empty directory without ever following a
/// link, writing outside it, or trusting what the archive declares. libarchive
/// only reads; every file is created here relative to directory fds with
/// O_NOFOLLOW|O_EXCL. Owners, xattrs, ACLs, setuid/setgid/sticky bits and
/// device nodes never reach the disk.
struct SafeExtractor {
    enum Mode {
        /// A Lambda zip: everything world-readable, case-only twins refused.
        case zip
        /// An OCI layer: whiteouts become overlayfs whiteouts, opaque markers an xattr.
        case layer
        /// A tar that carries an image (OCI archive, docker save): no whiteouts.
        case imageArchive
    }

    struct Result {
        var entries = 0
        var bytes: Int64 = 0
        /// For layers: sha256 of the uncompressed tar (the diff_id).
        var uncompressedDigest: Digest?
    }

    let mode: Mode
    let limits: ExtractionLimits

    /// Extracts `archive` (a file) into `target`, which must exist and be empty.
    func extract(archive path: String, displayName: String, into target: String) throws -> Result {
        var st = stat()
        guard stat(path, &st) == 0 else { throw PackageError.io("cannot read \(displayName): \(String(cString: strerror(errno)))") }
        guard Int64(st.st_size) <= limits.maxArchiveBytes else {
            throw PackageError.limitExceeded("\(displayName) is \(st.st_size) bytes, more than the \(limits.maxArchiveBytes) allowed")
        }
        let root = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else { throw PackageError.io("cannot open \(target): \(String(cString: strerror(errno)))") }
        defer { close(root) }
        let format: ArchiveReader.Format = switch mode {
        case .zip: .zip
        case .layer: .hashedTar
        case .imageArchive: .tar
        }
        let reader = try ArchiveReader(path: path, format: format, displayName: displayName)
        var state = State(root: root)
        defer { state.closeAll() }
        var result = Result()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while let entry = try reader.next() {
            result.entries += 1
            guard result.entries <= limits.maxEntries else {
                throw PackageError.limitExceeded("\(displayName) has more than \(limits.maxEntries) entries")
            }
            try extractEntry(entry, reader: reader, state: &state, result: &result, buffer: &buffer)
        }
        try state.finish(mode: mode)
        result.uncompressedDigest = try reader.uncompressedDigest()
        return result
    }

    /// Directory fds by path, the regular files extracted (for hardlinks), deferred directory modes.
    struct State {
        let root: Int32
        var directories: [EntryPath: Int32] = [:]
        var explicitDirectories = Set<EntryPath>()
        var regularFiles = Set<EntryPath>()
        var allNames = Set<EntryPath>()
        var foldedNames: [String: String] = [:]
        var directoryModes: [EntryPath: UInt32] = [:]
        var directoryTimes: [EntryPath: timespec] = [:]
        var opaque = Set<EntryPath>()

        init(root: Int32) { self.root = root }

        /// Opens (creating as needed) the directory `path`, refusing any component that is not a real directory.
        mutating func directory(_ path: EntryPath, for entry: String) throws -> Int32 {
            if path.components.isEmpty { return root }
            if let fd = directories[path] { return fd }
            let parentFd = try directory(path.parent, for: entry)
            let name = path.base
            let created = name.withUnsafeBufferPointer { b in
                mkdirat(parentFd, String(decoding: b, as: UTF8.self), 0o755)
            }
            if created != 0 && errno != EEXIST {
                throw PackageError.io("cannot create directory for '\(entry)': \(String(cString: strerror(errno)))")
            }
            let fd = openat(parentFd, String(decoding: name, as: UTF8.self), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                throw PackageError.hostileEntry(entry, "'\(path.display)' is not a directory (a symlink or file is in the way)")
            }
            directories[path] = fd
            return fd
        }

        func closeAll() {
            for fd in directories.values { close(fd) }
        }

        /// Applies directory modes, times and opaque markers last (creating entries changes a
        /// directory's mtime), through fds, never through paths.
        mutating func finish(mode: Mode) throws {
            for (path, dirMode) in directoryModes {
                let fd = try directory(path, for: path.display)
                fchmod(fd, mode_t(dirMode))
            }
            for (path, time) in directoryTimes {
                let fd = try directory(path, for: path.display)
                var times = [time, time]
                futimens(fd, &times)
            }
            for path in opaque {
                let fd = try directory(path, for: path.display)
                let value: [UInt8] = [UInt8(ascii: "y")]
                guard hearth_fsetxattr(fd, "trusted.overlay.opaque", value, 1) == 0 else {
                    throw PackageError.io("cannot mark '\(path.display)' opaque: \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    private func extractEntry(_ entry: ArchiveEntry, reader: ArchiveReader, state: inout State, result: inout Result, buffer: inout [UInt8]) throws {
        let display = String(decoding: entry.rawPath, as: UTF8.self)
        if entry.encrypted { throw PackageError.hostileEntry(display, "encrypted entries are not supported") }
        let path = try EntryPath.parse(entry.rawPath, dialect: mode == .zip ? .zip : .tar, limits: limits)
        if path.components.isEmpty {
            // "./": the root directory's own entry carries nothing we apply; anything else there would replace the root.
            guard entry.kind == .directory else { throw PackageError.hostileEntry(display, "names the extraction root itself") }
            return
        }

        if mode == .layer, let whiteout = try whiteoutTarget(path, display: display) {
            try applyWhiteout(whiteout, state: &state, display: display)
            return
        }
        if mode == .zip {
            let folded = path.display.lowercased()
            if let other = state.foldedNames[folded], other != path.display || entry.kind != .directory {
                throw PackageError.hostileEntry(display, other == path.display ? "duplicate entry" : "differs from '\(other)' only in case")
            }
            state.foldedNames[folded] = path.display
        }

        switch entry.kind {
        case .directory:
            if state.explicitDirectories.contains(path) { throw PackageError.hostileEntry(display, "duplicate entry") }
            if state.allNames.contains(path) && state.directories[path] == nil {
                throw PackageError.hostileEntry(display, "duplicate entry")
            }
            _ = try state.directory(path, for: display)
            state.explicitDirectories.insert(path)
            state.allNames.insert(path)
            state.directoryModes[path] = sanitizedMode(entry.mode, directory: true)
            if let mtime = entry.mtime { state.directoryTimes[path] = mtime }
        case .regular:
            try claim(path, state: &state, display: display)
            let parentFd = try state.directory(path.parent, for: display)
            let fd = openat(parentFd, String(decoding: path.base, as: UTF8.self),
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw errno == EEXIST ? PackageError.hostileEntry(display, "duplicate entry")
                    : PackageError.io("cannot create '\(display)': \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            var written: Int64 = 0
            try reader.readData(into: &buffer) { chunk in
                written += Int64(chunk.count)
                result.bytes += Int64(chunk.count)
                guard written <= limits.maxFileBytes else {
                    throw PackageError.limitExceeded("'\(display)' expands beyond \(limits.maxFileBytes) bytes")
                }
                guard result.bytes <= limits.maxTotalBytes else {
                    throw PackageError.limitExceeded("the archive expands beyond \(limits.maxTotalBytes) bytes (at '\(display)')")
                }
                var offset = 0
                while offset < chunk.count {
                    let n = write(fd, chunk.baseAddress?.advanced(by: offset), chunk.count - offset)
                    guard n > 0 else { throw PackageError.io("cannot write '\(display)': \(String(cString: strerror(errno)))") }
                    offset += n
                }
            }
            if entry.declaredSize >= 0 && written != entry.declaredSize {
                throw PackageError.corrupt(reader.displayName, "'\(display)' holds \(written) bytes, its header says \(entry.declaredSize)")
            }
            fchmod(fd, mode_t(sanitizedMode(entry.mode, directory: false)))
            if let mtime = entry.mtime {
                var times = [mtime, mtime]
                futimens(fd, &times)
            }
            state.regularFiles.insert(path)
        case .symlink:
            guard let target = entry.linkTarget, !target.isEmpty, !target.contains(0) else {
                throw PackageError.hostileEntry(display, "symlink without a target")
            }
            try claim(path, state: &state, display: display)
            let parentFd = try state.directory(path.parent, for: display)
            // Stored verbatim and never followed here; inside a sandbox it resolves within the sandbox's root.
            let rc = symlinkat(String(decoding: target, as: UTF8.self), parentFd, String(decoding: path.base, as: UTF8.self))
            guard rc == 0 else {
                throw errno == EEXIST ? PackageError.hostileEntry(display, "duplicate entry")
                    : PackageError.io("cannot create symlink '\(display)': \(String(cString: strerror(errno)))")
            }
            if let mtime = entry.mtime {
                var times = [mtime, mtime]
                utimensat(parentFd, String(decoding: path.base, as: UTF8.self), &times, AT_SYMLINK_NOFOLLOW)
            }
        case .hardlink:
            guard let rawTarget = entry.linkTarget else { throw PackageError.hostileEntry(display, "hardlink without a target") }
            let target = try EntryPath.parse(rawTarget, dialect: mode == .zip ? .zip : .tar, limits: limits)
            guard state.regularFiles.contains(target) else {
                throw PackageError.hostileEntry(display, "hardlink to '\(target.display)', which is not a regular file extracted earlier from this archive")
            }
            try claim(path, state: &state, display: display)
            let fromFd = try state.directory(target.parent, for: display)
            let toFd = try state.directory(path.parent, for: display)
            guard linkat(fromFd, String(decoding: target.base, as: UTF8.self), toFd, String(decoding: path.base, as: UTF8.self), 0) == 0 else {
                throw PackageError.io("cannot link '\(display)': \(String(cString: strerror(errno)))")
            }
        case .other(let what):
            throw PackageError.hostileEntry(display, "\(what) entries are not allowed")
        }
    }

    /// Every name may appear once; a path under something already extracted as a non-directory is refused by `directory`.
    private func claim(_ path: EntryPath, state: inout State, display: String) throws {
        guard !state.allNames.contains(path) else { throw PackageError.hostileEntry(display, "duplicate entry") }
        state.allNames.insert(path)
    }

    /// Files lose setuid, setgid, sticky and group/other write; everything becomes world-readable
    /// (as Lambda makes it), and executable by all where the owner could execute it.
    private func sanitizedMode(_ mode: UInt32, directory: Bool) -> UInt32 {
        if directory { return 0o755 }
        return (mode & 0o100) != 0 ? 0o755 : 0o644
    }

    /// For ".wh.NAME": the path whited out; for ".wh..wh..opq": the directory made opaque (as a marker path).
    private func whiteoutTarget(_ path: EntryPath, display: String) throws -> Whiteout? {
        let prefix = Array(".wh.".utf8)
        guard path.base.starts(with: prefix) else { return nil }
        let name = Array(path.base.dropFirst(prefix.count))
        if name == Array(".wh..opq".utf8) { return .opaque(path.parent) }
        if name.isEmpty || name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] {
            throw PackageError.hostileEntry(display, "invalid whiteout")
        }
        return .remove(EntryPath(components: path.parent.components + [name]))
    }

    enum Whiteout { case remove(EntryPath), opaque(EntryPath) }

    /// overlayfs's own whiteout: a 0/0 character device. Only lower layers are affected, as the spec says.
    private func applyWhiteout(_ whiteout: Whiteout, state: inout State, display: String) throws {
        switch whiteout {
        case .opaque(let dir):
            _ = try state.directory(dir, for: display)
            state.opaque.insert(dir)
        case .remove(let target):
            try claim(target, state: &state, display: display)
            let parentFd = try state.directory(target.parent, for: display)
            guard mknodat(parentFd, String(decoding: target.base, as: UTF8.self), S_IFCHR | 0o600, 0) == 0 else {
                throw errno == EEXIST ? PackageError.hostileEntry(display, "whiteout of a path this layer also creates")
                    : PackageError.io("cannot create whiteout for '\(display)': \(String(cString: strerror(errno)))")
            }
        }
    }
}
