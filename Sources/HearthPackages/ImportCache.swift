#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Remembers what a file or image layout already imported to, keyed by its
/// identity (device, inode, size, modification time), so building a function
/// again does not hash and check a runtime image or zip that has not changed.
/// A changed file has a new identity and is imported (and checked) again.
public final class ImportCache: Sendable {
    struct Identity: Hashable {
        var path: String
        var device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int
    }

    private let images = Mutex<[Identity: Digest]>([:])
    private let zips = Mutex<[Identity: StoredLayer]>([:])

    public init() {}

    /// An image layout is identified by its index.json (what a new tag or build rewrites).
    static func identity(_ path: String, file: String? = nil) -> Identity? {
        var st = stat()
        guard stat(file ?? path, &st) == 0 else { return nil }
        return Identity(path: path, device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                        seconds: st.st_mtim.tv_sec, nanoseconds: st.st_mtim.tv_nsec)
    }

    func image(_ reference: String, importing body: () throws -> Digest) rethrows -> Digest {
        let (path, _) = ImageImporter.split(reference)
        guard let id = Self.identity(reference, file: path + "/index.json") else { return try body() }
        if let digest = images.withLock({ $0[id] }) { return digest }
        let digest = try body()
        images.withLock { $0[id] = digest }
        return digest
    }

    func zip(_ path: String, importing body: () throws -> StoredLayer) rethrows -> StoredLayer {
        guard let id = Self.identity(path) else { return try body() }
        if let layer = zips.withLock({ $0[id] }) { return layer }
        let layer = try body()
        zips.withLock { $0[id] = layer }
        return layer
    }
}
