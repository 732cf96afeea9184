import Foundation
@testable import HearthCgroups
import XCTest

/// cgroup v2's freezer on the real kernel, where a cgroup2 hierarchy is mounted (cgroup.freeze needs no
/// controller, so the hybrid host's controller-less mount does): a frozen process gets no CPU until
/// thawed, the thaw guard's thawAll reaches it, and SIGKILL still ends it while frozen, which the
/// supervisor's kill relies on under v2.
final class CgroupV2FreezerTests: XCTestCase {
    func testAFrozenProcessGetsNoCPUAndStillDiesOfSIGKILL() throws {
        guard geteuid() == 0 else { throw XCTSkip("making cgroups needs root (running as uid \(geteuid()))") }
        let layout = try CgroupLayout.current()
        guard let own = layout.unifiedOwnDirectory else { throw XCTSkip("no cgroup2 hierarchy is mounted on this machine") }
        let fs = KernelCgroupFilesystem()
        let parent = own + "/hearth-freezer-test-" + UUID().uuidString.prefix(8)
        let name = "sb-test-" + UUID().uuidString.prefix(8).lowercased()
        let dir = parent + "/" + name
        try fs.makeDirectory(parent, mayExist: false)
        defer { try? fs.removeDirectory(parent, attempts: 200) }
        try fs.makeDirectory(dir, mayExist: false)
        defer { try? fs.removeDirectory(dir, attempts: 200) }

        let spinner = Process()
        spinner.executableURL = URL(fileURLWithPath: "/bin/sh")
        spinner.arguments = ["-c", "while :; do :; done"]
        try spinner.run()
        defer { if spinner.isRunning { kill(spinner.processIdentifier, SIGKILL) } }
        try fs.write(String(spinner.processIdentifier), to: dir + "/cgroup.procs")

        let freezer = SandboxFreezer.v2(dir, fs: fs)
        try freezer.freeze()
        XCTAssertTrue(eventually(within: 2) { fs.read(dir + "/cgroup.events")?.contains("frozen 1") == true }, "the cgroup reports frozen")
        let frozenAt = cpuSeconds(spinner.processIdentifier)
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertLessThan(cpuSeconds(spinner.processIdentifier) - frozenAt, 0.05, "a frozen process gets no CPU")

        XCTAssertEqual(SandboxFreezer.thawAll(in: [parent], belongs: { $0 == name }, fs: fs), [name])
        XCTAssertTrue(eventually(within: 2) { fs.read(dir + "/cgroup.events")?.contains("frozen 0") == true })
        let thawedAt = cpuSeconds(spinner.processIdentifier)
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertGreaterThan(cpuSeconds(spinner.processIdentifier) - thawedAt, 0.1, "thawed, it runs again")

        try freezer.freeze()
        XCTAssertTrue(eventually(within: 2) { fs.read(dir + "/cgroup.events")?.contains("frozen 1") == true })
        kill(spinner.processIdentifier, SIGKILL)
        XCTAssertTrue(eventually(within: 1) { !spinner.isRunning }, "SIGKILL ends a frozen v2 process")
        freezer.close()
    }

    /// User and system CPU seconds of `pid` so far.
    private func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 12,
              let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
