import Foundation
import HearthPackages
import XCTest

/// The runtime images unpacked once per test run, for the daemons the tests start.
///
/// A daemon with a new state directory unpacks a runtime image at its first deploy of that runtime: 2 s
/// for Python on a quiet debug build, 5-10 s while the suite's other work runs, and most tests start a
/// daemon of their own. A daemon's store that already holds the layers (as a user's does after its first
/// deploy) only checks the image's blobs. `ServeAPITests`' daemon starts with an empty store, so the
/// daemon's own import stays tested end to end.
enum RuntimeStoreSeed {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var template: PackageStore?

    /// Makes `stateDirectory/store` hold every runtime image's layers, as symbolic links to one store
    /// the images were imported into (layers are read-only, so daemons can share them).
    static func seed(stateDirectory: String) throws {
        let store = stateDirectory + "/store"
        guard !FileManager.default.fileExists(atPath: store) else { return }
        let source = try templateStore()
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let seeded = try PackageStore(root: store)
        let layers = source.root + "/layers/sha256"
        for name in try FileManager.default.contentsOfDirectory(atPath: layers) {
            try FileManager.default.createSymbolicLink(atPath: seeded.root + "/layers/sha256/" + name,
                                                       withDestinationPath: layers + "/" + name)
        }
    }

    private static func templateStore() throws -> PackageStore {
        try lock.withLock {
            if let template { return template }
            try RuntimeImages.ensureBuilt()
            let root = NSTemporaryDirectory() + "hearth-runtime-store-\(getpid())"
            try? FileManager.default.removeItem(atPath: root)
            let store = try PackageStore(root: root)
            let images = RuntimeImages.directory
            for name in try FileManager.default.contentsOfDirectory(atPath: images).sorted()
            where FileManager.default.fileExists(atPath: images + "/" + name + "/index.json") {
                _ = try ImageImporter(store: store).importImage(path: images + "/" + name, tag: nil)
            }
            XCTestObservationCenter.shared.addTestObserver(RemoveAtEnd(path: root))
            template = store
            return store
        }
    }

    /// Removes the template when the test bundle ends (scripts/test's scratch directory would too;
    /// a bare `swift test` has none).
    private final class RemoveAtEnd: NSObject, XCTestObservation, @unchecked Sendable {
        let path: String
        init(path: String) { self.path = path }
        func testBundleDidFinish(_ testBundle: Bundle) { try? FileManager.default.removeItem(atPath: path) }
    }
}
