import Foundation
@testable import HearthPackages
import XCTest

/// Images made by umoci and skopeo, zips made by zip: imported, verified, deduplicated.
final class ImageImportTests: XCTestCase {
    var images = ""
    var storeRoot = ""
    var store: PackageStore!

    override class func tearDown() {
        Fixtures.removeAll()
        super.tearDown()
    }

    override func setUpWithError() throws {
        for tool in ["umoci", "skopeo", "zip", "zstd"] where Fixtures.which(tool) == nil {
            throw XCTSkip("\(tool) is not installed: run scripts/setup")
        }
        images = try Fixtures.generated(by: "make_images.sh")
        storeRoot = NSTemporaryDirectory() + "hearth-store-" + UUID().uuidString
        store = try PackageStore(root: storeRoot)
    }

    override func tearDown() {
        store = nil
        try? FileManager.default.removeItem(atPath: storeRoot)
    }

    func requireRoot() throws {
        // Whiteouts are overlayfs's 0/0 character devices and opaque dirs a trusted.* xattr: both need root.
        guard geteuid() == 0 else { throw XCTSkip("layers with whiteouts need root to unpack (mknod, trusted.* xattrs)") }
    }

    func layerNames() -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: storeRoot + "/layers/sha256")) ?? []).filter { !$0.hasSuffix(".json") })
    }

    func testUmociLayoutImportsWithConfigAndWhiteouts() throws {
        try requireRoot()
        let (_, image) = try ImageImporter(store: store).importImage(images + "/oci:v2")
        XCTAssertEqual(image.layers.count, 2)
        XCTAssertEqual(image.config.entrypoint, ["/bin/sh"])
        XCTAssertEqual(image.config.cmd, ["-c", "cat /etc/version"])
        XCTAssertTrue(image.config.env.contains("GREETING=hello"))
        XCTAssertEqual(image.config.workingDir, "/data")
        XCTAssertEqual(image.config.user, "0")
        let top = store.layerDirectory(image.layers[1])
        var st = stat()
        XCTAssertEqual(lstat(top + "/etc/deleted", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "a whiteout is overlayfs's 0/0 character device")
        XCTAssertEqual(st.st_rdev, 0)
        XCTAssertEqual(lstat(top + "/data/gone", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR)
        XCTAssertEqual(try String(contentsOfFile: top + "/etc/version", encoding: .utf8), "v2\n")
        XCTAssertEqual(try String(contentsOfFile: store.layerDirectory(image.layers[0]) + "/etc/version", encoding: .utf8), "v1\n")
        XCTAssertEqual(store.layerDirectories(of: image).first, top, "overlay wants the topmost layer first")
    }

    func testEveryArchiveFormatImportsToTheSameLayers() throws {
        try requireRoot()
        let importer = ImageImporter(store: store)
        let (_, layout) = try importer.importImage(images + "/oci:v2")
        for reference in ["/v2-docker.tar", "/v2-oci.tar", "/v2-docker-oci.tar", "/oci:zstd"] {
            let (_, other) = try importer.importImage(images + reference)
            XCTAssertEqual(other.layers, layout.layers, "\(reference): layers are keyed by their uncompressed digest")
            XCTAssertEqual(other.config.entrypoint, layout.config.entrypoint, reference)
        }
        XCTAssertEqual(layerNames().count, 2, "five imports, one copy of each layer")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: storeRoot + "/tmp"), [], "no temporary left")
    }

    func testOpaqueWhiteoutBecomesTheOverlayXattr() throws {
        try requireRoot()
        let (_, image) = try ImageImporter(store: store).importImage(images + "/oci:opaque")
        XCTAssertEqual(image.layers.count, 3)
        let top = store.layerDirectory(image.layers[2])
        var out = ""
        let status = try Fixtures.run("/usr/bin/env", ["python3", "-c", "import os,sys; print(os.getxattr(sys.argv[1], 'trusted.overlay.opaque'))", top + "/data"], output: &out)
        XCTAssertEqual(status, 0, out)
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "b'y'")
        XCTAssertTrue(FileManager.default.fileExists(atPath: top + "/data/fresh"), "a sibling of the opaque marker survives")
    }

    func testTwoImagesSharingABaseShareItsLayerOnDisk() throws {
        try requireRoot()
        let importer = ImageImporter(store: store)
        let (_, base) = try importer.importImage(images + "/oci:base")
        let (_, v2) = try importer.importImage(images + "/v2-docker.tar")
        XCTAssertEqual(base.layers[0], v2.layers[0])
        var a = stat(), b = stat()
        XCTAssertEqual(stat(store.layerDirectories(of: base).last! + "/bin/busybox", &a), 0)
        XCTAssertEqual(stat(store.layerDirectories(of: v2).last! + "/bin/busybox", &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino, "one copy on disk")
        XCTAssertEqual(a.st_nlink, 1)
    }

    func testTheImportCacheKnowsAFileByItsIdentity() throws {
        let zip = storeRoot + "-function.zip"
        try FileManager.default.copyItem(atPath: images + "/function.zip", toPath: zip)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: zip) }
        let assembler = PackageAssembler(store: store, cache: ImportCache())
        func codeLayer() throws -> String? {
            try assembler.assemble(image: nil as String?, zip: zip, layers: []).binds.first?.sources.first
        }
        let first = try XCTUnwrap(try codeLayer())

        // Same size and mtime, other bytes: the cache still answers with what it imported (it is used).
        var st = stat()
        XCTAssertEqual(stat(zip, &st), 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: zip))
        bytes[bytes.count - 1] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: zip))
        var times = [st.st_atim, st.st_mtim]
        XCTAssertEqual(utimensat(AT_FDCWD, zip, &times, 0), 0)
        XCTAssertEqual(try codeLayer(), first)

        // A new file (new inode and content): imported again, to a new layer.
        var out = ""
        let status = try Fixtures.run("/usr/bin/env", ["python3", "-c", """
            import os, sys, zipfile
            os.unlink(sys.argv[1])
            with zipfile.ZipFile(sys.argv[1], "w") as z:
                z.writestr("other.txt", "changed")
            """, zip], output: &out)
        XCTAssertEqual(status, 0, out)
        let second = try XCTUnwrap(try codeLayer())
        XCTAssertNotEqual(second, first)
        XCTAssertTrue(FileManager.default.fileExists(atPath: second + "/other.txt"))

        // A layer the store lost (collected) is imported again, not trusted from the cache.
        try FileManager.default.removeItem(atPath: second)
        try FileManager.default.removeItem(atPath: second + ".json")
        XCTAssertEqual(try codeLayer(), second)
        XCTAssertTrue(FileManager.default.fileExists(atPath: second + "/other.txt"))
    }

    // 86: digests and sizes, before anything is unpacked
    func copyOfLayout() throws -> String {
        let copy = storeRoot + "-layout"
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: images + "/oci", toPath: copy)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: copy) }
        return copy
    }

    func topLayerBlob(_ layout: String, tag: String) throws -> String {
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json"))) as? [String: Any]
        let manifests = index?["manifests"] as? [[String: Any]] ?? []
        let entry = try XCTUnwrap(manifests.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == tag })
        let manifestPath = layout + "/blobs/sha256/" + String((entry["digest"] as? String ?? "").dropFirst(7))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath))) as? [String: Any]
        let layer = try XCTUnwrap((manifest?["layers"] as? [[String: Any]])?.last)
        return layout + "/blobs/sha256/" + String((layer["digest"] as? String ?? "").dropFirst(7))
    }

    func testAWrongDigestIsRefusedBeforeUnpacking() throws {
        let layout = try copyOfLayout()
        let blob = try topLayerBlob(layout, tag: "base")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: blob))
        bytes[bytes.count / 2] ^= 0xff
        chmod(blob, 0o644)
        try bytes.write(to: URL(fileURLWithPath: blob))
        XCTAssertThrowsError(try ImageImporter(store: store).importImage(layout + ":base")) { error in
            XCTAssertTrue("\(error)".contains("digest mismatch"), "\(error)")
        }
        XCTAssertEqual(layerNames(), [], "nothing unpacked")
    }

    func testAWrongSizeIsRefusedBeforeHashing() throws {
        let layout = try copyOfLayout()
        let blob = try topLayerBlob(layout, tag: "base")
        chmod(blob, 0o644)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: blob))
        handle.seekToEndOfFile()
        handle.write(Data([0]))
        try handle.close()
        XCTAssertThrowsError(try ImageImporter(store: store).importImage(layout + ":base")) { error in
            XCTAssertTrue("\(error)".contains("its descriptor says"), "\(error)")
        }
        XCTAssertEqual(layerNames(), [])
    }

    // 87: limits on layers and JSON
    func testLayerCountAndManifestSizeAreLimited() throws {
        var importer = ImageImporter(store: store)
        importer.maxLayers = 1
        XCTAssertThrowsError(try importer.importImage(images + "/oci:v2")) { XCTAssertTrue("\($0)".contains("2 layers; the limit is 1"), "\($0)") }
        importer = ImageImporter(store: store)
        importer.maxJSONBytes = 100
        XCTAssertThrowsError(try importer.importImage(images + "/oci:v2")) { XCTAssertTrue("\($0)".contains("the limit is 100"), "\($0)") }
    }

    func testUnknownTagAndNonImagesGetClearErrors() throws {
        XCTAssertThrowsError(try ImageImporter(store: store).importImage(images + "/oci:nope")) { error in
            XCTAssertTrue("\(error)".contains("no image tagged 'nope'"), "\(error)")
            XCTAssertTrue("\(error)".contains("v2"), "the error lists the tags there are")
        }
        XCTAssertThrowsError(try ImageImporter(store: store).importImage(images + "/oci")) { error in
            XCTAssertTrue("\(error)".contains("PATH:TAG"), "\(error)")
        }
        XCTAssertThrowsError(try ImageImporter(store: store).importImage(images + "/function.zip")) { error in
            XCTAssertTrue("\(error)".contains("function.zip"), "\(error)")
        }
    }

    // 89: a crash mid-import leaves nothing visible and nothing behind
    func testLeftoversOfACrashedImportAreRemovedAtTheNextStart() throws {
        try FileManager.default.createDirectory(atPath: storeRoot + "/tmp/half-done/content/etc", withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: storeRoot + "/tmp/half-done/content/etc/passwd", contents: Data("x".utf8)))
        let reopened = try PackageStore(root: storeRoot)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: storeRoot + "/tmp"), [])
        // A layer directory published without its record is not a layer, and an import replaces it.
        let zip = ZipImporter(store: reopened)
        let layer = try zip.importZip(at: images + "/function.zip")
        unlink(reopened.layerDirectory(layer.digest) + ".json")
        XCTAssertFalse(reopened.hasLayer(layer.digest))
        let again = try zip.importZip(at: images + "/function.zip")
        XCTAssertEqual(again, layer)
        XCTAssertTrue(reopened.hasLayer(layer.digest))
    }

    func testGarbageCollectionKeepsReferencedLayersOnly() throws {
        try requireRoot()
        let importer = ImageImporter(store: store)
        let (baseDigest, base) = try importer.importImage(images + "/oci:base")
        let (v2Digest, v2) = try importer.importImage(images + "/oci:v2")
        try store.setReference("fn-a", to: baseDigest)
        try store.setReference("fn-b", to: v2Digest)
        XCTAssertEqual(try store.collectGarbage(), [])
        XCTAssertEqual(try store.image(v2Digest), v2)
        try store.removeReference("fn-b")
        // Another process's store (the CLI's, say) collects it: read (and so remembered) here before, it is gone all the same.
        XCTAssertEqual(try PackageStore(root: storeRoot).collectGarbage(), [v2.layers[1]], "only the layer no remaining image uses")
        XCTAssertThrowsError(try store.image(v2Digest))
        XCTAssertEqual(try store.image(baseDigest), base)
        XCTAssertTrue(store.hasLayer(base.layers[0]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.layerDirectory(v2.layers[1])))
        XCTAssertThrowsError(try store.setReference("../escape", to: baseDigest))
    }

    // Zip packages
    func testZipMadeWithZipKeepsBootstrapExecutableAndMakesAllReadable() throws {
        let layer = try ZipImporter(store: store).importZip(at: images + "/function.zip")
        let dir = store.layerDirectory(layer.digest)
        var st = stat()
        XCTAssertEqual(stat(dir + "/bootstrap", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o755)
        XCTAssertEqual(stat(dir + "/data.txt", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o644, "0600 in the zip, world-readable in the package")
        XCTAssertEqual(layer.entries, 2)
        // The same zip again: nothing extracted, same inode.
        var before = stat(), after = stat()
        stat(dir + "/bootstrap", &before)
        _ = try ZipImporter(store: store).importZip(at: images + "/function.zip")
        stat(dir + "/bootstrap", &after)
        XCTAssertEqual(before.st_ino, after.st_ino)
    }

    func testLambdaZipLimits() throws {
        var tiny = ExtractionLimits.lambdaZip
        tiny.maxArchiveBytes = 100
        XCTAssertThrowsError(try ZipImporter(store: store, limits: tiny).importZip(at: images + "/function.zip")) { error in
            XCTAssertTrue("\(error)".contains("zipped; the limit is 100"), "\(error)")
        }
        let zip = ZipImporter(store: store)
        let layer = try zip.importZip(at: images + "/function.zip")
        var small = ExtractionLimits.lambdaZip
        small.maxTotalBytes = 10
        XCTAssertThrowsError(try ZipImporter(store: store, limits: small).checkUnzippedTotal([layer, layer])) { error in
            XCTAssertTrue("\(error)".contains("function code and layers unzip to"), "\(error)")
        }
        XCTAssertNoThrow(try zip.checkUnzippedTotal([layer]))
    }
}
