#if canImport(Glibc)
import Glibc
#endif
import CSyscalls
import Foundation
import HearthModel
import Synchronization

/// The content-addressed package store under the state directory:
///
///     store/layers/sha256/<hex>/        one unpacked, read-only layer, shared by every sandbox using it
///     store/layers/sha256/<hex>.json    its size and entry count
///     store/images/sha256/<hex>.json    a StoredImage (layers + config), named by its own digest
///     store/refs/<name>                 a name (function version, runtime image) → image digest
///     store/tmp/                        imports in progress; emptied whenever the store is opened
///
/// Imports build in tmp/ and appear with one rename, so a crash leaves nothing
/// visible. An flock serialises imports against garbage collection.
public final class PackageStore: Sendable {
    public let root: String
    /// Images read before, by digest: a file named by its own digest never changes, and decoding it again
    /// cost every cold start's build ~0.1 ms of JSONDecoder.
    private let decodedImages = Mutex<[Digest: StoredImage]>([:])

    public init(root: String) throws {
        self.root = root
        for dir in ["", "/layers", "/layers/sha256", "/images", "/images/sha256", "/refs", "/tmp"] {
            if mkdir(root + dir, 0o755) != 0 && errno != EEXIST {
                throw PackageError.io("cannot create \(root + dir): \(String(cString: strerror(errno)))")
            }
        }
        try withLock { try removeContents(of: root + "/tmp") }
    }

    public func layerDirectory(_ digest: Digest) -> String { root + "/layers/sha256/" + digest.hex }

    public func hasLayer(_ digest: Digest) -> Bool {
        access(layerDirectory(digest) + ".json", F_OK) == 0
    }

    public func layer(_ digest: Digest) throws -> StoredLayer {
        try readJSON(StoredLayer.self, layerDirectory(digest) + ".json")
    }

    /// Extracts into tmp/ with `body` and publishes the result as layer `digest`.
    /// If the layer already exists, nothing is extracted.
    func importLayer(_ digest: Digest? = nil, extract body: (String) throws -> (Digest, SafeExtractor.Result)) throws -> StoredLayer {
        if let digest, hasLayer(digest) { return try layer(digest) }
        let work = try makeTemporaryDirectory()
        defer { try? removeTree(work) }
        let content = work + "/content"
        guard mkdir(content, 0o755) == 0 else { throw PackageError.io("cannot create \(content): \(String(cString: strerror(errno)))") }
        let (actual, result) = try body(content)
        if let digest, digest != actual {
            throw PackageError.digestMismatch("layer content is \(actual), its descriptor says \(digest)")
        }
        let stored = StoredLayer(digest: actual, bytes: result.bytes, entries: result.entries)
        try syncFilesystem(content)
        return try withLock {
            if hasLayer(actual) { return try layer(actual) }
            let target = layerDirectory(actual)
            // A leftover directory without its .json is an import that crashed between the two renames.
            if access(target, F_OK) == 0 { try removeTree(target) }
            guard rename(content, target) == 0 else {
                throw PackageError.io("cannot publish layer \(actual): \(String(cString: strerror(errno)))")
            }
            try writeJSON(stored, to: target + ".json")
            return stored
        }
    }

    @discardableResult
    public func saveImage(_ image: StoredImage) throws -> Digest {
        let data = try Self.encoder.encode(image)
        let digest = Digest.of(bytes: Array(data))
        try withLock {
            for layer in image.layers where !hasLayer(layer) {
                throw PackageError.invalidImage("layer \(layer) is not in the store")
            }
            try writeAtomically(Array(data), to: root + "/images/sha256/" + digest.hex + ".json")
        }
        return digest
    }

    public func image(_ digest: Digest) throws -> StoredImage {
        let path = root + "/images/sha256/" + digest.hex + ".json"
        // Still there (garbage collection, or another process's, may have removed it since).
        if let known = decodedImages.withLock({ $0[digest] }), access(path, F_OK) == 0 { return known }
        let image = try readJSON(StoredImage.self, path)
        decodedImages.withLock { $0[digest] = image }
        return image
    }

    /// The layer directories of an image, topmost first, as overlay wants them.
    public func layerDirectories(of image: StoredImage) -> [String] {
        image.layers.reversed().map(layerDirectory)
    }

    public static func validateReferenceName(_ name: String) throws {
        let ok = !name.isEmpty && name.utf8.count <= 200 && !name.hasPrefix(".")
            && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 || $0 == 46 || $0 == 58 }
        guard ok else { throw PackageError.invalidImage("invalid reference name '\(name.prefix(80))'") }
    }

    public func setReference(_ name: String, to digest: Digest) throws {
        try Self.validateReferenceName(name)
        try withLock { try writeAtomically(Array(digest.description.utf8), to: root + "/refs/" + name) }
    }

    public func reference(_ name: String) throws -> Digest? {
        try Self.validateReferenceName(name)
        guard let data = FileManager.default.contents(atPath: root + "/refs/" + name) else { return nil }
        return try Digest(parsing: String(decoding: data, as: UTF8.self))
    }

    public func removeReference(_ name: String) throws {
        try Self.validateReferenceName(name)
        try withLock { _ = unlink(root + "/refs/" + name) }
    }

    /// Removes images no reference names and layers no remaining image uses.
    /// Returns the digests of the layers removed.
    @discardableResult
    public func collectGarbage() throws -> [Digest] {
        try withLock {
            let fm = FileManager.default
            var liveImages = Set<String>()
            for name in (try? fm.contentsOfDirectory(atPath: root + "/refs")) ?? [] {
                if let data = fm.contents(atPath: root + "/refs/" + name),
                   let digest = try? Digest(parsing: String(decoding: data, as: UTF8.self)) {
                    liveImages.insert(digest.hex)
                }
            }
            var liveLayers = Set<String>()
            for file in (try? fm.contentsOfDirectory(atPath: root + "/images/sha256")) ?? [] where file.hasSuffix(".json") {
                let hex = String(file.dropLast(5))
                if liveImages.contains(hex), let image = try? image(Digest(hex: hex)) {
                    liveLayers.formUnion(image.layers.map(\.hex))
                } else {
                    unlink(root + "/images/sha256/" + file)
                    _ = decodedImages.withLock { $0.removeValue(forKey: Digest(hex: hex)) }
                }
            }
            var removed: [Digest] = []
            for entry in (try? fm.contentsOfDirectory(atPath: root + "/layers/sha256")) ?? [] where !entry.hasSuffix(".json") {
                guard !liveLayers.contains(entry) else { continue }
                // The .json goes first: without it the layer is not visible, whatever happens next.
                unlink(root + "/layers/sha256/" + entry + ".json")
                try removeTree(root + "/layers/sha256/" + entry)
                removed.append(Digest(hex: entry))
            }
            return removed
        }
    }

    // MARK: helpers

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    func makeTemporaryDirectory() throws -> String {
        let path = root + "/tmp/" + UUID().uuidString
        guard mkdir(path, 0o700) == 0 else { throw PackageError.io("cannot create \(path): \(String(cString: strerror(errno)))") }
        return path
    }

    private func withLock<T>(_ body: () throws -> T) throws -> T {
        let fd = open(root + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PackageError.io("cannot open the store lock: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw PackageError.io("cannot lock the store: \(String(cString: strerror(errno)))") }
        return try body()
    }

    private func readJSON<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else { throw PackageError.io("missing \(path)") }
        return try JSONDecoder().decode(type, from: data)
    }

    private func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        try writeAtomically(Array(try Self.encoder.encode(value)), to: path)
    }

    private func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let tmp = root + "/tmp/" + UUID().uuidString
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PackageError.io("cannot write \(tmp): \(String(cString: strerror(errno)))") }
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard n == bytes.count, synced, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw PackageError.io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func syncFilesystem(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = hearth_syncfs(fd)
    }

    func removeTree(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            try removeContents(of: path)
            guard rmdir(path) == 0 else { throw PackageError.io("cannot remove \(path): \(String(cString: strerror(errno)))") }
        } else {
            guard unlink(path) == 0 else { throw PackageError.io("cannot remove \(path): \(String(cString: strerror(errno)))") }
        }
    }

    private func removeContents(of path: String) throws {
        // Through FileManager's listing but never following links: entries are removed, not their targets.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            try removeTree(path + "/" + name)
        }
    }
}
