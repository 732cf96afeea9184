import Foundation
import HearthModel
import HearthPackages
import Synchronization

/// Which build of a runtime a function runs, as Lambda names it (RuntimeVersionConfig's
/// RuntimeVersionArn, `arn:aws:lambda:REGION::runtime:<64 hex digits>`): the SHA-256 of the runtime
/// image's OCI index, so the name changes when scripts/build-images makes a different image.
public final class RuntimeVersions: Sendable {
    let imagesDirectory: String
    /// By image, with the index's modification time it was read at (a rebuilt image is read again).
    private let known = Mutex<[String: (modified: Int, digest: String)]>([:])

    public init(imagesDirectory: String) { self.imagesDirectory = imagesDirectory }

    /// The hex digest of `runtime`'s image; nil for a name Hearth has no image for, or one not built.
    public func digest(runtime: String) -> String? {
        guard let info = try? RuntimeCatalog.lookup(runtime) else { return nil }
        let index = imagesDirectory + "/" + info.image + "/index.json"
        var st = stat()
        guard stat(index, &st) == 0 else { return nil }
        let modified = Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec)
        if let cached = known.withLock({ $0[info.image] }), cached.modified == modified { return cached.digest }
        guard let (digest, _) = try? Digest.of(file: index) else { return nil }
        known.withLock { $0[info.image] = (modified, digest.hex) }
        return digest.hex
    }

    public func arn(runtime: String, region: String) -> String? {
        digest(runtime: runtime).map { "arn:aws:lambda:\(region)::runtime:\($0)" }
    }
}
