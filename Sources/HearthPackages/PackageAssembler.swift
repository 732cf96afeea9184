import HearthModel

/// Turns what a user names (an image, a function zip, Lambda layers) into what
/// a sandbox needs: layer directories for the root, read-only mounts for
/// /var/task and /opt, and the image's run configuration. Imports on the way;
/// nothing is copied per sandbox.
public struct PackageAssembler: Sendable {
    public struct Assembled: Sendable {
        /// Root filesystem layers, topmost first.
        public var rootLayers: [String]
        public var binds: [SandboxSpec.BindMount]
        public var config: ImageConfig
        public var imageDigest: Digest?
    }

    public let store: PackageStore
    public var zipLimits: ExtractionLimits = .lambdaZip
    /// Skips re-importing files that have not changed since the last assembly.
    public let cache: ImportCache?

    public init(store: PackageStore, cache: ImportCache? = nil) {
        self.store = store
        self.cache = cache
    }

    /// An image to import from a path, or one already in the store.
    public enum ImageSource: Sendable {
        case path(String)
        case stored(Digest)
    }

    public func assemble(image: String?, zip: String?, layers: [String]) throws -> Assembled {
        try assemble(image: image.map { .path($0) }, zip: zip, layers: layers)
    }

    public func assemble(image: ImageSource?, zip: String?, layers: [String]) throws -> Assembled {
        var assembled = Assembled(rootLayers: [], binds: [], config: ImageConfig(), imageDigest: nil)
        if let image {
            let (digest, stored): (Digest, StoredImage)
            switch image {
            case .path(let path):
                if let cache, let d = try? cache.image(path, importing: { try ImageImporter(store: store).importImage(path).0 }),
                   let image = try? store.image(d), image.layers.allSatisfy(store.hasLayer) {
                    (digest, stored) = (d, image)
                } else {
                    // No cache, or the store lost it since: import (and check) for real.
                    (digest, stored) = try ImageImporter(store: store).importImage(path)
                }
            case .stored(let d): (digest, stored) = (d, try store.image(d))
            }
            assembled.rootLayers = store.layerDirectories(of: stored)
            assembled.config = stored.config
            assembled.imageDigest = digest
        }
        let zips = ZipImporter(store: store, limits: zipLimits)
        var code: [StoredLayer] = []
        func importZip(_ path: String) throws -> StoredLayer {
            guard let cache else { return try zips.importZip(at: path) }
            let layer = try cache.zip(path) { try zips.importZip(at: path) }
            // The store may have been collected since; then import for real.
            return store.hasLayer(layer.digest) ? layer : try zips.importZip(at: path)
        }
        if let zip {
            let layer = try importZip(zip)
            code.append(layer)
            assembled.binds.append(.init(source: store.layerDirectory(layer.digest), target: "/var/task"))
        }
        if !layers.isEmpty {
            let imported = try layers.map { try importZip($0) }
            code += imported
            assembled.binds.append(.init(sources: imported.map { store.layerDirectory($0.digest) }, target: "/opt"))
        }
        try zips.checkUnzippedTotal(code)
        return assembled
    }
}
