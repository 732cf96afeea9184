#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Entry points for `hearth-fuzz` (scripts/fuzz): the package code that reads hostile archives,
/// driven with arbitrary bytes. Each returns normally whatever the input; a crash is the finding.
package enum PackageFuzzing {
    /// A zip package as CreateFunction receives it: the central directory check, then (if it passes)
    /// extraction into a scratch directory under `scratch`.
    package static func zip(_ bytes: [UInt8], scratch: String) {
        let limits = ExtractionLimits(maxArchiveBytes: 1 << 20, maxTotalBytes: 4 << 20, maxFileBytes: 4 << 20, maxEntries: 1000)
        do {
            try ZipCentralDirectory.check(MemoryBytes(bytes: bytes), displayName: "input", limits: limits)
        } catch {
            return
        }
        withFile(bytes, scratch: scratch) { path, target in
            _ = try? SafeExtractor(mode: .zip, limits: limits).extract(archive: path, displayName: "input", into: target)
        }
    }

    /// An image tarball (OCI archive or docker save) imported into a store under `scratch`.
    package static func image(_ bytes: [UInt8], scratch: String) {
        withFile(bytes, scratch: scratch) { path, target in
            guard let store = try? PackageStore(root: target + "-store") else { return }
            var importer = ImageImporter(store: store)
            importer.layerLimits = ExtractionLimits(maxArchiveBytes: 1 << 20, maxTotalBytes: 4 << 20, maxFileBytes: 4 << 20, maxEntries: 1000)
            importer.archiveLimits = importer.layerLimits
            _ = try? importer.importImage(path)
            try? FileManager.default.removeItem(atPath: target + "-store")
        }
    }

    /// Writes the input to a file and gives the body it and an empty directory; removes both after.
    private static func withFile(_ bytes: [UInt8], scratch: String, _ body: (String, String) -> Void) {
        let path = scratch + "/input"
        let target = scratch + "/target"
        try? FileManager.default.removeItem(atPath: target)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)),
              (try? FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)) != nil else { return }
        body(path, target)
        try? FileManager.default.removeItem(atPath: target)
        unlink(path)
    }
}
