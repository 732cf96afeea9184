import Foundation
import XCTest

/// The runtime images scripts/build-images makes from Debian packages run in a sandbox.
final class RuntimeImageTests: SandboxTestCase {
    static var imagesDirectory: String { RuntimeImages.directory }

    func buildImages() throws -> String { try RuntimeImages.ensureBuilt() }

    func run(_ image: String, _ command: [String]) throws -> (Int32, String, String) {
        _ = try buildImages()
        let r = try h().hearthCLI(["sandbox", "run", "--image", Self.imagesDirectory + "/" + image, "--"] + command)
        return (r.status, r.stdout, r.stderr)
    }

    func testBuildsAreReusedUntilTheRecipeChanges() throws {
        _ = try buildImages()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/build-images").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: script)
        p.arguments = ["--out", Self.imagesDirectory]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        for name in ["provided", "python3", "nodejs"] {
            XCTAssertTrue(out.contains("build-images: \(name) reused"), out)
        }
    }

    func testProvidedHasBashAndCurlForCustomRuntimes() throws {
        let (status, out, err) = try run("provided", ["bash", "-c", "curl --version | head -1 | cut -d' ' -f1; id -u"])
        XCTAssertEqual(status, 0, err)
        let lines = out.split(separator: "\n")
        XCTAssertEqual(lines.first, "curl")
        XCTAssertNotEqual(lines.last, "0")
    }

    func testPython3IsDebiansWithHearthsBootstrap() throws {
        let (status, out, err) = try run("python3", ["sh", "-c", "python3 -c 'import sys; print(sys.version_info[:2])'; test -x /var/runtime/bootstrap && echo bootstrap"])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, "(3, 11)\nbootstrap\n")
    }

    func testNodejsIsDebiansWithHearthsBootstrap() throws {
        let (status, out, err) = try run("nodejs", ["sh", "-c", "node -e 'console.log(typeof require(\"http\").request)'; node --check /var/runtime/runtime.js && echo bootstrap"])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, "function\nbootstrap\n")
    }
}
