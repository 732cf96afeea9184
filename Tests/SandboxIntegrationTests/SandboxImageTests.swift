import Foundation
import XCTest

/// Images, zips and layers run through `hearth sandbox run`, proven from inside.
final class SandboxImageTests: SandboxTestCase {
    nonisolated(unsafe) static var images: String?

    /// Images made by umoci and skopeo (the packages tests' fixture script), built once.
    func fixtures() throws -> String {
        if let images = Self.images { return images }
        for tool in ["umoci", "skopeo", "zip", "zstd", "python3"] where !["/usr/bin/", "/usr/local/bin/", "/bin/"].contains(where: { FileManager.default.isExecutableFile(atPath: $0 + tool) }) {
            throw XCTSkip("\(tool) is not installed: run scripts/setup")
        }
        let out = NSTemporaryDirectory() + "hearth-images-" + UUID().uuidString
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("HearthPackagesTests/Fixtures/make_images.sh").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script, out]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("make_images.sh failed (exit \(p.terminationStatus))") }
        // Two Lambda layers with one file in common: the later one must win at /opt.
        for (name, content) in [("layer1", "first"), ("layer2", "second")] {
            let dir = out + "/" + name
            try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
            try content.write(toFile: dir + "/shared.txt", atomically: false, encoding: .utf8)
            try name.write(toFile: dir + "/only-\(name).txt", atomically: false, encoding: .utf8)
            let zip = Process()
            zip.executableURL = URL(fileURLWithPath: "/usr/bin/zip")
            zip.arguments = ["-q", "-r", "../\(name).zip", "."]
            zip.currentDirectoryURL = URL(fileURLWithPath: dir)
            try zip.run()
            zip.waitUntilExit()
        }
        Self.images = out
        return out
    }

    override class func tearDown() {
        if let images { try? FileManager.default.removeItem(atPath: images) }
        images = nil
        super.tearDown()
    }

    func hearth(_ args: [String]) throws -> CLIOutput {
        let images = try fixtures()
        return try h().hearthCLI(args.map { $0.replacingOccurrences(of: "IMAGES", with: images) })
    }

    func testEntrypointCmdEnvWorkdirApplyAndUser0StaysUnprivileged() throws {
        let plain = try hearth(["sandbox", "run", "--image", "IMAGES/oci:v2"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.stdout, "v2\n", "ENTRYPOINT /bin/sh with CMD -c 'cat /etc/version'")
        let r = try hearth(["sandbox", "run", "--image", "IMAGES/oci:v2", "--env", "EXTRA=1", "--", "-c", "pwd; echo $GREETING $EXTRA; id -u"])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.prefix(2), ["/data", "hello 1"], r.stderr)
        let uid = try XCTUnwrap(lines.last.flatMap { Int($0) })
        XCTAssertGreaterThan(uid, 0, "the image says USER 0; the sandbox runs as its own uid")
    }

    func testWhiteoutsAndReplacementsAreVisibleFromInside() throws {
        let r = try hearth(["sandbox", "run", "--image", "IMAGES/oci:v2", "--", "-c", "cat /etc/version; ls /etc; ls /data"])
        XCTAssertEqual(r.stdout, "v2\nversion\nadded\nkeep\nold\n", r.stderr)
    }

    func testEveryFormatRunsTheSameImage() throws {
        for image in ["IMAGES/v2-docker.tar", "IMAGES/v2-oci.tar", "IMAGES/v2-docker-oci.tar", "IMAGES/oci:zstd"] {
            let r = try hearth(["sandbox", "run", "--image", image, "--", "-c", "cat /etc/version; ls /data"])
            XCTAssertEqual(r.stdout, "v2\nadded\nkeep\nold\n", "\(image): \(r.stderr)")
        }
    }

    func testOpaqueDirectoryHidesLowerLayersContents() throws {
        let r = try hearth(["sandbox", "run", "--image", "IMAGES/oci:opaque", "--", "-c", "ls /data"])
        XCTAssertEqual(r.stdout, "fresh\n", r.stderr)
    }

    func testZipAtVarTaskAndLayersAtOptInOrder() throws {
        let r = try hearth(["sandbox", "run", "--image", "IMAGES/oci:base", "--zip", "IMAGES/function.zip",
                            "--layer", "IMAGES/layer1.zip", "--layer", "IMAGES/layer2.zip", "--",
                            "-c", "/var/task/bootstrap; cat /opt/shared.txt; echo; ls /opt; touch /var/task/x /opt/x 2>&1 | wc -l"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "bootstrap ran: data\nsecond\nbin\nonly-layer1.txt\nonly-layer2.txt\nshared.txt\n2\n",
                       "the later layer wins; /var/task and /opt are read-only")
    }

    func testStartingASandboxCopiesNoPackageFile() throws {
        let r = try hearth(["sandbox", "run", "--image", "IMAGES/oci:v2", "--", "-c", "stat -c %i /bin/busybox"])
        let inside = try XCTUnwrap(UInt64(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), r.stderr)
        let store = try h().runtimeDirectory + "/state/store/layers/sha256"
        let onHost = try FileManager.default.contentsOfDirectory(atPath: store).compactMap { layer -> UInt64? in
            var st = stat()
            return stat(store + "/" + layer + "/bin/busybox", &st) == 0 ? UInt64(st.st_ino) : nil
        }
        XCTAssertEqual(onHost, [inside], "the sandbox sees the store's own file, not a copy")
    }

    func testPackageErrorsAreUsageErrors() throws {
        let both = try hearth(["sandbox", "run", "--rootfs", "/", "--image", "IMAGES/oci:v2", "--", "true"])
        XCTAssertEqual(both.status, 2)
        XCTAssertTrue(both.stderr.contains("exactly one of --rootfs DIR and --image PATH"), both.stderr)
        let missing = try hearth(["sandbox", "run", "--image", "IMAGES/no-such-image.tar"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no-such-image.tar"), missing.stderr)
        let notZip = try hearth(["sandbox", "run", "--image", "IMAGES/oci:v2", "--zip", "IMAGES/v2-oci.tar", "--", "-c", "true"])
        XCTAssertEqual(notZip.status, 2)
        XCTAssertTrue(notZip.stderr.contains("v2-oci.tar"), notZip.stderr)
    }
}
