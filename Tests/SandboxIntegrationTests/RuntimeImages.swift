import Foundation
import XCTest

/// The runtime images, built once per checkout by scripts/build-images into .build/hearth-images.
enum RuntimeImages {
    static var repository: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
    static var directory: String { repository.appendingPathComponent(".build/hearth-images").path }

    nonisolated(unsafe) private static var output: String?
    private static let lock = NSLock()

    /// Builds (or reuses) every image; the script's output.
    @discardableResult
    static func ensureBuilt() throws -> String {
        try lock.withLock {
            if let output { return output }
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mmdebstrap") else {
                throw XCTSkip("mmdebstrap is not installed: run scripts/setup")
            }
            let (status, out) = try run(repository.appendingPathComponent("scripts/build-images").path, ["--out", directory])
            guard status == 0 else { throw XCTSkip("scripts/build-images failed (\(status)): \(out.suffix(500))") }
            output = out
            return out
        }
    }

    /// Runs `tool` to its end; its status and its stdout and stderr together, in order.
    /// Compiles a function's Java sources with the host's javac (scripts/setup installs it) into `directory`,
    /// for Java 17 bytecode as the java21 image's own loop is; the aws-lambda-java-core interfaces they use come
    /// from the runtime's sources (images/java21/src) and go into `directory` too, as a package bundles them.
    static func compileJava(_ sources: [String], into directory: String) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/javac") else {
            throw XCTSkip("javac is missing (scripts/setup installs openjdk-17-jdk-headless)")
        }
        let runtimeSources = repository.appendingPathComponent("images/java21/src").path
        let (status, out) = try run("/usr/bin/javac", ["--release", "17", "-nowarn", "-sourcepath", runtimeSources, "-d", directory] + sources)
        guard status == 0 else {
            throw NSError(domain: "RuntimeImages", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "javac failed: \(out)"])
        }
    }

    static func run(_ tool: String, _ args: [String], cwd: String? = nil, environment: [String: String]? = nil) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        if let environment { p.environment = environment }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, out)
    }
}
