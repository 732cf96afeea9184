import Foundation
import XCTest

/// Lambda's freeze: between invocations an environment is frozen, so what a function leaves running in
/// the background neither runs nor costs CPU until its next event (background work used to run on).
final class ServeFreezeTests: XCTestCase {
    override func setUpWithError() throws {
        try ServeDaemon.checkPrerequisites()
    }

    /// A thread ticking every 10 ms and a child process spinning a CPU, started by the first invocation:
    /// while the environment waits 1.5 s for the second, the thread records no tick and the child gets no
    /// CPU; the second and third invocations run as usual (the thaw).
    static let background = """
        import os, subprocess, sys, threading, time, uuid
        TOKEN = uuid.uuid4().hex
        ticks = []
        child = None
        def tick():
            while True:
                ticks.append(time.monotonic())
                time.sleep(0.01)
        def cpu_seconds(pid):
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        def handler(event, context):
            global child
            if child is None:
                threading.Thread(target=tick, daemon=True).start()
                child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                time.sleep(0.3)
            # Up to now: after a thaw the handler may run before the thread's next tick.
            seen = ticks + [time.monotonic()]
            gaps = [b - a for a, b in zip(seen, seen[1:])]
            return {"maxGap": max(gaps, default=0), "childCPU": cpu_seconds(child.pid), "ticks": len(ticks), "token": TOKEN}
        """

    func testBackgroundWorkDoesNotRunBetweenInvocations() throws {
        var log = ""
        let (first, second, third) = try run(daemonArguments: []) { _ in } afterwards: { daemon in
            log = (try? daemon.http("GET", "/hearth/v1/functions/bg/logs").2) ?? ""
        }
        let gap = try XCTUnwrap(second["maxGap"] as? Double)
        let cpu = try XCTUnwrap(second["childCPU"] as? Double) - (try XCTUnwrap(first["childCPU"] as? Double))
        // When it fails, say whether the second invocation found the first sandbox at all (a cold start
        // shows an Init Duration in its REPORT line).
        let same = (first["token"] as? String) == (second["token"] as? String)
        XCTAssertGreaterThan(gap, 1.2, "the ticking thread did not stop while the environment was idle (same sandbox: \(same); log: \(log.suffix(1500)))")
        XCTAssertLessThan(cpu, 0.3, "the spinning child used CPU while the environment was idle (it used \(cpu) s)")
        XCTAssertGreaterThan(try XCTUnwrap(first["ticks"] as? Int), 10, "the thread ran during the first invocation")
        XCTAssertNotNil(third["maxGap"], "the environment runs again after its thaw")
    }

    /// A frozen sandbox cannot see its lifeline hang up (and a frozen v1 process ignores SIGKILL): the
    /// daemon's thaw guard thaws it when the daemon is killed, and it is gone within a second like any other.
    /// On a normal stop the guard goes too.
    func testAFrozenSandboxDiesWithItsDaemonAndTheGuardGoesToo() throws {
        let dir = try makePackage()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try ServeDaemon(arguments: ["--prepared", "0"])
        defer { daemon.remove() }
        XCTAssertEqual(Self.guards(of: daemon.pid).count, 1, "the daemon started its thaw guard")
        _ = try daemon.boto(create(dir) + """
            c.invoke(FunctionName="bg")
            time.sleep(0.5)
            """)
        XCTAssertGreaterThanOrEqual(ServeLimitTests.sandboxProcesses(), 3, "init, runtime and the spinning child are there, frozen")
        daemon.killExpectingEverySandboxGoneWithinASecond()
        XCTAssertTrue(eventually(within: 5) { Self.allGuards().isEmpty }, "the guard exits once it has thawed")
        daemon.stop()
        try daemon.start()
        let guardPid = try XCTUnwrap(Self.guards(of: daemon.pid).first)
        XCTAssertEqual(daemon.stop(), 0)
        XCTAssertTrue(eventually(within: 5) { kill(guardPid, 0) != 0 }, "the guard of a daemon that stopped is gone")
    }

    /// Thaw guards (`hearth thaw-guard`) running now, by pid, with their parent's pid.
    static func allGuards() -> [Int32: Int32] {
        var found: [Int32: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let cmdline = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
                  cmdline.contains("thaw-guard"), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let ppid = stat.split(separator: ")").last?.split(separator: " ").dropFirst().first.flatMap({ Int32($0) }) else { continue }
            found[pid] = ppid
        }
        return found
    }

    static func guards(of daemon: Int32) -> [Int32] { allGuards().filter { $0.value == daemon }.map(\.key) }

    /// An operator can keep idle sandboxes running (--no-freeze-idle, freeze_idle: false).
    func testFreezingCanBeTurnedOff() throws {
        let (first, second, _) = try run(daemonArguments: ["--no-freeze-idle"])
        try assertBackgroundWorkRanOn(first, second)
    }

    /// The background function's package, in a directory of its own (the caller removes it).
    private func makePackage() throws -> String {
        let dir = NSTemporaryDirectory() + "hearth-freeze-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.background.write(toFile: dir + "/app.py", atomically: true, encoding: .utf8)
        let (zipped, zipOut) = try RuntimeImages.run("/usr/bin/zip", ["-q", dir + "/fn.zip", "app.py"], cwd: dir)
        guard zipped == 0 else { throw XCTSkip("zip failed: \(zipOut)") }
        return dir
    }

    /// 1,769 MB: one whole vCPU, so an unfrozen child would use ~1.5 CPU-seconds in a 1.5 s pause.
    private func create(_ dir: String) -> String {
        """
        c.create_function(FunctionName="bg", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", MemorySize=1769,
                          Handler="app.handler", Code={"ZipFile": open("\(dir)/fn.zip", "rb").read()})

        """
    }

    /// Without its thaw guard (killed here), a daemon freezes nothing: a frozen sandbox would outlive it.
    func testNoSandboxIsFrozenOnceTheGuardIsGone() throws {
        let (first, second, _) = try run(daemonArguments: []) { daemon in
            for guardPid in Self.guards(of: daemon.pid) { kill(guardPid, SIGKILL) }
            XCTAssertTrue(eventually(within: 5) { Self.guards(of: daemon.pid).isEmpty }, "the guard is gone")
        }
        try assertBackgroundWorkRanOn(first, second)
    }

    /// The second invocation saw the ticks and CPU of a background that was never frozen.
    private func assertBackgroundWorkRanOn(_ first: [String: Any], _ second: [String: Any], line: UInt = #line) throws {
        let gap = try XCTUnwrap(second["maxGap"] as? Double)
        let cpu = try XCTUnwrap(second["childCPU"] as? Double) - (try XCTUnwrap(first["childCPU"] as? Double))
        XCTAssertLessThan(gap, 0.5, "the ticking thread ran on", line: line)
        XCTAssertGreaterThan(cpu, 0.8, "the spinning child ran on", line: line)
    }

    private func run(daemonArguments: [String], beforeInvoking: (ServeDaemon) -> Void = { _ in },
                     afterwards: (ServeDaemon) -> Void = { _ in }) throws -> ([String: Any], [String: Any], [String: Any]) {
        let dir = try makePackage()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try ServeDaemon(arguments: ["--prepared", "0"] + daemonArguments)
        defer { daemon.remove() }
        beforeInvoking(daemon)
        let out = try daemon.boto(create(dir) + """
            out["first"] = payload(c.invoke(FunctionName="bg"))
            time.sleep(1.5)
            out["second"] = payload(c.invoke(FunctionName="bg"))
            out["third"] = payload(c.invoke(FunctionName="bg"))
            """)
        afterwards(daemon)
        return (try XCTUnwrap(out["first"] as? [String: Any]), try XCTUnwrap(out["second"] as? [String: Any]),
                try XCTUnwrap(out["third"] as? [String: Any]))
    }
}
