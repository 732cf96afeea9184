import Foundation
@testable import HearthPackages
import XCTest

/// A scratch directory with a canary tree beside the extraction target, and a
/// snapshot of everything in it, so a test can prove nothing was written outside.
final class Scratch {
    let root: String
    var target: String { root + "/target" }
    var canary: String { root + "/canary" }

    init() throws {
        root = NSTemporaryDirectory() + "hearth-pkg-" + UUID().uuidString
        let fm = FileManager.default
        try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: canary, withIntermediateDirectories: true)
        try "canary".write(toFile: canary + "/file", atomically: false, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// An empty target again, for the next case.
    func resetTarget() throws {
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
    }

    /// Every path outside the target with its type, size, mode and link count.
    func outsideSnapshot() -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ path: String) {
            var st = stat()
            guard path != target, lstat(path, &st) == 0 else { return }
            out[path] = "\(st.st_mode) \(st.st_size) \(st.st_nlink) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
            if (st.st_mode & S_IFMT) == S_IFDIR {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { walk(path + "/" + name) }
            }
        }
        walk(root)
        // Host files the fixtures aim at.
        for host in ["/etc/passwd", "/etc/shadow", "/etc/cron.d/x", "/x", "/pwned"] { walk(host) }
        return out
    }
}

/// Runs a generator script once per process and returns the directory it filled.
enum Fixtures {
    nonisolated(unsafe) private static var made: [String: String] = [:]
    private static let lock = NSLock()

    static var directory: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path }

    static func generated(by script: String) throws -> String {
        try lock.withLock {
            if let dir = made[script] { return dir }
            let out = NSTemporaryDirectory() + "hearth-fixtures-" + UUID().uuidString
            let status = script.hasSuffix(".py")
                ? try run("/usr/bin/env", ["python3", directory + "/" + script, out])
                : try run("/bin/bash", [directory + "/" + script, out])
            guard status == 0 else {
                throw XCTSkip("\(script) could not build its fixtures (exit \(status)); scripts/setup installs python3, umoci, skopeo, zip and zstd")
            }
            made[script] = out
            return out
        }
    }

    /// Removes every generated fixture directory (class tear-down of the classes that use them).
    static func removeAll() {
        lock.withLock {
            for dir in made.values { try? FileManager.default.removeItem(atPath: dir) }
            made = [:]
        }
    }

    @discardableResult
    static func run(_ tool: String, _ args: [String], in dir: String? = nil, output: UnsafeMutablePointer<String>? = nil) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        if let dir { p.currentDirectoryURL = URL(fileURLWithPath: dir) }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        output?.pointee = String(decoding: data, as: UTF8.self)
        return p.terminationStatus
    }

    static func which(_ tool: String) -> String? {
        ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"].map { $0 + "/" + tool }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
