#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Imports container images: an OCI image layout directory, an OCI archive
/// (a tar of a layout), or a `docker save` tarball, in its legacy
/// manifest.json form or the OCI form newer Docker writes. Every blob's size
/// and digest are checked before it is used; layers are unpacked into the store.
public struct ImageImporter: Sendable {
    public let store: PackageStore
    public var layerLimits: ExtractionLimits = .imageLayer
    public var maxLayers = 128
    public var maxJSONBytes = 1 << 20
    /// The tarball itself, unpacked to read its layout.
    public var archiveLimits = ExtractionLimits(
        maxArchiveBytes: 10 * 1024 * 1024 * 1024, maxTotalBytes: 10 * 1024 * 1024 * 1024,
        maxFileBytes: 10 * 1024 * 1024 * 1024, maxEntries: 10_000)

    public init(store: PackageStore) { self.store = store }

    /// `reference` is a path, optionally followed by ":TAG" to pick one image of a layout
    /// holding several (as umoci and skopeo name them, e.g. "dir:latest").
    public func importImage(_ reference: String) throws -> (Digest, StoredImage) {
        let (path, tag) = Self.split(reference)
        return try importImage(path: path, tag: tag)
    }

    /// The image at `path` (a layout directory, or an archive), the one tagged `tag` if the layout holds several.
    public func importImage(path: String, tag: String?) throws -> (Digest, StoredImage) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw PackageError.io("cannot read image \(path): \(String(cString: strerror(errno)))") }
        let image: StoredImage
        if (st.st_mode & S_IFMT) == S_IFDIR {
            image = try importDirectory(path, tag: tag)
        } else {
            // A tarball: unpack it (safely, it is input like any other) and read the layout inside.
            let work = try store.makeTemporaryDirectory()
            defer { try? store.removeTree(work) }
            _ = try SafeExtractor(mode: .imageArchive, limits: archiveLimits)
                .extract(archive: path, displayName: lastPathComponent(path), into: work)
            image = try importDirectory(work, tag: tag)
        }
        return (try store.saveImage(image), image)
    }

    /// `ImageRoots.split`, unless the whole reference names a file (a path may hold a colon).
    static func split(_ reference: String) -> (String, String?) {
        let (path, tag) = ImageRoots.split(reference)
        var st = stat()
        if tag != nil, stat(reference, &st) != 0, stat(path, &st) == 0 { return (path, tag) }
        return (reference, nil)
    }

    private func importDirectory(_ dir: String, tag: String?) throws -> StoredImage {
        let fm = FileManager.default
        if fm.fileExists(atPath: dir + "/index.json") {
            return try importLayout(dir, tag: tag)
        }
        if fm.fileExists(atPath: dir + "/manifest.json") {
            return try importDockerLegacy(dir, tag: tag)
        }
        throw PackageError.invalidImage("\(dir) is neither an OCI image layout (index.json) nor a docker save archive (manifest.json)")
    }

    // MARK: OCI layout

    struct Descriptor: Decodable {
        var mediaType: String?
        var digest: String
        var size: Int64
        var annotations: [String: String]?
        var platform: Platform?
        struct Platform: Decodable { var architecture: String?; var os: String? }
    }

    struct Index: Decodable { var manifests: [Descriptor] }
    struct Manifest: Decodable { var config: Descriptor; var layers: [Descriptor] }

    struct ConfigFile: Decodable {
        struct Config: Decodable {
            var Entrypoint: [String]?
            var Cmd: [String]?
            var Env: [String]?
            var WorkingDir: String?
            var User: String?
        }
        struct RootFS: Decodable { var diff_ids: [String] }
        var architecture: String?
        var os: String?
        var config: Config?
        var rootfs: RootFS
    }

    private func importLayout(_ dir: String, tag: String?) throws -> StoredImage {
        let index = try decodeJSON(Index.self, file: dir + "/index.json", what: "index.json")
        var descriptor = try pick(index.manifests, tag: tag, what: "index.json")
        // An index may point at a further index (multi-platform); follow to a manifest.
        for _ in 0..<4 where Self.isIndex(descriptor.mediaType) {
            let nested = try decodeJSON(Index.self, bytes: try verifiedBlob(dir, descriptor), what: descriptor.digest)
            descriptor = try pick(nested.manifests, tag: nil, what: descriptor.digest)
        }
        let manifest = try decodeJSON(Manifest.self, bytes: try verifiedBlob(dir, descriptor), what: "manifest \(descriptor.digest)")
        guard manifest.layers.count <= maxLayers else {
            throw PackageError.limitExceeded("the image has \(manifest.layers.count) layers; the limit is \(maxLayers)")
        }
        let config = try decodeJSON(ConfigFile.self, bytes: try verifiedBlob(dir, manifest.config), what: "image config")
        try checkPlatform(config)
        guard config.rootfs.diff_ids.count == manifest.layers.count else {
            throw PackageError.invalidImage("the config lists \(config.rootfs.diff_ids.count) diff_ids for \(manifest.layers.count) layers")
        }
        var layers: [Digest] = []
        for (layer, diffID) in zip(manifest.layers, config.rootfs.diff_ids) {
            try Self.checkLayerMediaType(layer.mediaType)
            let path = try blobPath(dir, layer)
            try verify(path, layer)
            layers.append(try importLayer(path, diffID: try Digest(parsing: diffID), name: layer.digest))
        }
        return StoredImage(layers: layers, config: Self.imageConfig(config))
    }

    private func pick(_ manifests: [Descriptor], tag: String?, what: String) throws -> Descriptor {
        if let tag {
            guard let found = manifests.first(where: { $0.annotations?["org.opencontainers.image.ref.name"] == tag }) else {
                let tags = manifests.compactMap { $0.annotations?["org.opencontainers.image.ref.name"] }
                throw PackageError.invalidImage("no image tagged '\(tag)' in \(what) (it has: \(tags.joined(separator: ", ")))")
            }
            return found
        }
        let forUs = manifests.filter { $0.platform == nil || ($0.platform?.os == "linux" && $0.platform?.architecture == Self.architecture) }
        guard let first = forUs.first else {
            throw PackageError.invalidImage("\(what) holds no image for linux/\(Self.architecture)")
        }
        if forUs.count > 1 && manifests.allSatisfy({ $0.platform == nil }) {
            let tags = manifests.compactMap { $0.annotations?["org.opencontainers.image.ref.name"] }
            throw PackageError.invalidImage("\(what) holds \(manifests.count) images; name one with PATH:TAG (tags: \(tags.joined(separator: ", ")))")
        }
        return first
    }

    static var architecture: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }

    private func checkPlatform(_ config: ConfigFile) throws {
        if let os = config.os, os != "linux" { throw PackageError.invalidImage("the image is for \(os), not linux") }
        if let arch = config.architecture, arch != Self.architecture {
            throw PackageError.invalidImage("the image is for \(arch); this machine runs \(Self.architecture)")
        }
    }

    static func isIndex(_ mediaType: String?) -> Bool {
        mediaType == "application/vnd.oci.image.index.v1+json" || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
    }

    static let layerMediaTypes: Set<String> = [
        "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
    ]

    static func checkLayerMediaType(_ mediaType: String?) throws {
        guard let mediaType, layerMediaTypes.contains(mediaType) else {
            throw PackageError.invalidImage("unsupported layer media type '\(mediaType ?? "none")'")
        }
    }

    private func blobPath(_ dir: String, _ descriptor: Descriptor) throws -> String {
        let digest = try Digest(parsing: descriptor.digest)
        // The directories on the way are real ones: no symlink leads a blob's path out of the layout.
        for sub in ["/blobs", "/blobs/sha256"] {
            var st = stat()
            guard lstat(dir + sub, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw PackageError.invalidImage("the layout's \(sub.dropFirst()) is missing or not a directory")
            }
        }
        return dir + "/blobs/sha256/" + digest.hex
    }

    /// Size first (cheap, and refuses a swapped huge blob before reading it), then the digest.
    private func verify(_ path: String, _ descriptor: Descriptor) throws {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw PackageError.invalidImage("blob \(descriptor.digest) is missing")
        }
        guard Int64(st.st_size) == descriptor.size else {
            throw PackageError.digestMismatch("blob \(descriptor.digest) is \(st.st_size) bytes, its descriptor says \(descriptor.size)")
        }
        let (actual, _) = try Digest.of(file: path)
        guard actual.description == descriptor.digest else {
            throw PackageError.digestMismatch("blob \(descriptor.digest) hashes to \(actual)")
        }
    }

    private func verifiedBlob(_ dir: String, _ descriptor: Descriptor) throws -> Data {
        guard descriptor.size <= Int64(maxJSONBytes) else {
            throw PackageError.limitExceeded("\(descriptor.digest) is \(descriptor.size) bytes; JSON documents are limited to \(maxJSONBytes)")
        }
        let path = try blobPath(dir, descriptor)
        try verify(path, descriptor)
        guard let data = FileManager.default.contents(atPath: path) else { throw PackageError.io("cannot read \(path)") }
        return data
    }

    private func importLayer(_ path: String, diffID: Digest, name: String) throws -> Digest {
        let stored = try store.importLayer(diffID) { target in
            let result = try SafeExtractor(mode: .layer, limits: layerLimits).extract(archive: path, displayName: "layer \(name)", into: target)
            guard let actual = result.uncompressedDigest else { throw PackageError.corrupt(name, "no content digest") }
            return (actual, result)
        }
        return stored.digest
    }

    // MARK: docker save (legacy manifest.json)

    struct DockerManifest: Decodable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    private func importDockerLegacy(_ dir: String, tag: String?) throws -> StoredImage {
        let entries = try decodeJSON([DockerManifest].self, file: dir + "/manifest.json", what: "manifest.json")
        let entry: DockerManifest
        if let tag {
            guard let found = entries.first(where: { ($0.RepoTags ?? []).contains { $0 == tag || $0.hasSuffix(":" + tag) } }) else {
                throw PackageError.invalidImage("no image tagged '\(tag)' in manifest.json")
            }
            entry = found
        } else {
            guard entries.count == 1, let only = entries.first else {
                throw PackageError.invalidImage("manifest.json holds \(entries.count) images; name one with PATH:TAG")
            }
            entry = only
        }
        guard entry.Layers.count <= maxLayers else {
            throw PackageError.limitExceeded("the image has \(entry.Layers.count) layers; the limit is \(maxLayers)")
        }
        let configPath = try insidePath(dir, entry.Config)
        let configData = try contents(configPath, limit: maxJSONBytes, what: entry.Config)
        // The config's file name is its own digest, in both the legacy and the OCI-blob naming.
        let configName = lastPathComponent(entry.Config).replacingOccurrences(of: ".json", with: "")
        if configName.utf8.count == 64 {
            let actual = Digest.of(bytes: Array(configData))
            guard actual.hex == configName else { throw PackageError.digestMismatch("image config \(entry.Config) hashes to \(actual)") }
        }
        let config = try decodeJSON(ConfigFile.self, bytes: configData, what: "image config")
        try checkPlatform(config)
        guard config.rootfs.diff_ids.count == entry.Layers.count else {
            throw PackageError.invalidImage("the config lists \(config.rootfs.diff_ids.count) diff_ids for \(entry.Layers.count) layers")
        }
        var layers: [Digest] = []
        for (layerFile, diffID) in zip(entry.Layers, config.rootfs.diff_ids) {
            let path = try insidePath(dir, layerFile)
            // No descriptor here: the layer is checked against its diff_id while it is unpacked.
            layers.append(try importLayer(path, diffID: try Digest(parsing: diffID), name: layerFile))
        }
        return StoredImage(layers: layers, config: Self.imageConfig(config))
    }

    /// A relative path from a manifest, refused if it could leave the archive.
    private func insidePath(_ dir: String, _ relative: String) throws -> String {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.hasPrefix("/"), !parts.contains(".."), !parts.contains(""), !relative.contains("\0") else {
            throw PackageError.invalidImage("manifest.json names '\(relative.prefix(80))', which is not a path inside the archive")
        }
        // Every directory on the way is a real one: no symlink leads out of the archive.
        var walked = dir
        for part in parts.dropLast() {
            walked += "/" + part
            var st = stat()
            guard lstat(walked, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw PackageError.invalidImage("manifest.json names '\(relative)', which is not a path inside the archive")
            }
        }
        let path = dir + "/" + relative
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw PackageError.invalidImage("manifest.json names '\(relative)', which is missing or not a regular file")
        }
        return path
    }

    // MARK: helpers

    static func imageConfig(_ file: ConfigFile) -> ImageConfig {
        ImageConfig(entrypoint: file.config?.Entrypoint, cmd: file.config?.Cmd, env: file.config?.Env ?? [],
                    workingDir: file.config?.WorkingDir.flatMap { $0.isEmpty ? nil : $0 }, user: file.config?.User)
    }

    /// A file of the image, never through a symlink (a layout's symlink could point anywhere on the host).
    private func contents(_ path: String, limit: Int, what: String) throws -> Data {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw PackageError.invalidImage("\(what) is missing or not a regular file") }
        guard st.st_size <= limit else { throw PackageError.limitExceeded("\(what) is \(st.st_size) bytes; the limit is \(limit)") }
        guard let data = FileManager.default.contents(atPath: path) else { throw PackageError.io("cannot read \(what)") }
        return data
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, file: String, what: String) throws -> T {
        try decodeJSON(type, bytes: try contents(file, limit: maxJSONBytes, what: what), what: what)
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, bytes: Data, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: bytes)
        } catch {
            throw PackageError.invalidImage("\(what) is not valid: \(error)")
        }
    }
}
