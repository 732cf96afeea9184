#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// SIGHUP (systemctl reload) re-reads the settings file: what applies at once changes, the rest is named,
/// and a broken file is refused with the daemon unchanged. (SIGHUP used to end the daemon.)
final class ServeReloadTests: XCTestCase {
    override func setUpWithError() throws {
        try ServeDaemon.checkPrerequisites()
    }

    func testSIGHUPReloadsTheSettingsFile() throws {
        let file = NSTemporaryDirectory() + "hearth-reload-\(UUID().uuidString.prefix(6)).yaml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "idle_timeout_seconds: 600\nmemory_budget_mb: 4096\nregion: us-east-1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let daemon = try ServeDaemon(arguments: ["--config", file])
        defer { daemon.remove() }
        func said(_ text: String) -> Bool { eventually(within: 10) { daemon.printed.withLock { $0.contains(text) } } }
        func budget() throws -> String { try daemon.http("GET", "/hearth/v1/status").2 }

        try "idle_timeout_seconds: 60\nmemory_budget_mb: 2048\nregion: eu-west-1\n".write(toFile: file, atomically: true, encoding: .utf8)
        kill(daemon.pid, SIGHUP)
        XCTAssertTrue(said("hearth: reloaded: idle_timeout_seconds 600.0 -> 60.0, memory_budget_mb 4096 -> 2048; "
                           + "changed but applied only at the next restart: region us-east-1 -> eu-west-1"),
                      daemon.printed.withLock { $0 })
        var status = try budget()
        XCTAssertTrue(status.contains("\"memoryBudgetMB\":2048"), status)

        try "memory_budget_mb: 1024\nmemory_budget: 5\n".write(toFile: file, atomically: true, encoding: .utf8)
        kill(daemon.pid, SIGHUP)
        XCTAssertTrue(said("hearth: reload refused, the settings in use are unchanged: "), daemon.printed.withLock { $0 })
        XCTAssertTrue(said("\(file):2: unknown setting 'memory_budget'"), daemon.printed.withLock { $0 })
        status = try budget()
        XCTAssertTrue(status.contains("\"memoryBudgetMB\":2048"), "a refused file changes nothing: \(status)")
        XCTAssertEqual(daemon.stop(), 0, "the daemon survived both reloads and stopped cleanly")
    }
}
