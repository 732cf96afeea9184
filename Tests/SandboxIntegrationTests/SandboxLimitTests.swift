import Foundation
import HearthModel
import HearthSandbox
import XCTest

/// Memory, pids and time limits, enforced by the kernel and reported by Hearth.
final class SandboxLimitTests: SandboxTestCase {
    func testMemoryHogIsOOMKilledAndReportedAsSuch() throws {
        let result = try h().run(["/bin/probe", "memhog"], limits: ResourceLimits(memoryMB: 48, timeoutSeconds: 30, pids: 64, tmpSizeMB: 8))
        XCTAssertEqual(result.exit.limit, .outOfMemory(limitMB: 48))
        XCTAssertEqual(result.exit.status, .signaled(SIGKILL))
        XCTAssertGreaterThanOrEqual(result.exit.stats.oomKills, 1)
        let peak = try XCTUnwrap(result.exit.stats.peakMemoryBytes)
        XCTAssertGreaterThan(peak, 40 * 1024 * 1024, "peak memory is the cgroup's real peak")
        XCTAssertLessThanOrEqual(peak, 48 * 1024 * 1024)
    }

    func testPeakMemoryOfASmallCommandIsSmall() throws {
        let result = try h().run(["/bin/true"], limits: ResourceLimits(memoryMB: 128))
        XCTAssertNil(result.exit.limit)
        let peak = try XCTUnwrap(result.exit.stats.peakMemoryBytes)
        XCTAssertLessThan(peak, 16 * 1024 * 1024, "a busybox true never uses its configured 128 MB")
    }

    func testForkBombStopsAtThePidsLimitAndTheHostIsUnaffected() throws {
        let result = try h().run(["/bin/probe", "forkbomb"], limits: ResourceLimits(memoryMB: 256, timeoutSeconds: 30, pids: 40, tmpSizeMB: 8))
        let v = result.values
        XCTAssertEqual(v["error"], "EAGAIN")
        let forks = try XCTUnwrap(v["forks"].flatMap(Int.init))
        // init and the probe count too.
        XCTAssertEqual(forks, 38, "forks stop exactly at pids.max")
        XCTAssertEqual(result.exit.limit, .pidsLimit(max: 40))
        XCTAssertGreaterThanOrEqual(result.exit.stats.pidsLimitHits, 1)
        // The host can still start processes, and every forked child is gone.
        let task = Process()
        task.executableURL = URL(fileURLWithPath: "/bin/true")
        try task.run()
        task.waitUntilExit()
        XCTAssertEqual(task.terminationStatus, 0)
    }

    func testShellForkBombIsContainedUntilTheTimeout() throws {
        let started = Date()
        // The sandbox's own shell forks once, before the bomb exists, and then becomes `sleep`. When it ran the bomb's
        // first pipeline itself, the bomb could fill pids.max between its two forks, and dash exits on a failed fork:
        // a pids-limit exit after 0.05 s instead of the timeout (1 run in 4 under load; once in CI).
        let result = try h().run(["/bin/sh", "-c", "f() { f | f & }; f & exec sleep 100"],
                                 limits: ResourceLimits(memoryMB: 256, timeoutSeconds: 2, pids: 64, tmpSizeMB: 8))
        XCTAssertEqual(result.exit.limit, .timeout(seconds: 2))
        XCTAssertGreaterThanOrEqual(result.exit.stats.pidsLimitHits, 1)
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)
    }

    func testTimeoutKillsTheWholeTreeIncludingADoubleForkedDaemon() throws {
        let marker = "hearth-daemon-marker-\(UUID().uuidString)"
        var sawDaemon = false
        let result = try h().run(["/bin/probe", "daemon", marker], limits: ResourceLimits(memoryMB: 128, timeoutSeconds: 1, pids: 64, tmpSizeMB: 8)) { _ in
            for _ in 0..<100 where !sawDaemon {
                sawDaemon = !hostProcesses(containing: marker).isEmpty
                if !sawDaemon { usleep(10_000) }
            }
        }
        XCTAssertTrue(sawDaemon, "the daemon must have been running, or this test proves nothing")
        XCTAssertEqual(result.exit.limit, .timeout(seconds: 1))
        XCTAssertEqual(result.exit.status, .signaled(SIGKILL))
        XCTAssertGreaterThanOrEqual(result.exit.duration, 1.0)
        XCTAssertLessThan(result.exit.duration, 3.0)
        XCTAssertEqual(hostProcesses(containing: marker), [], "the double-forked daemon outlived the sandbox")
    }

    /// Teardown after a normal exit does not list the cgroup: PID 1's exit must have taken the
    /// processes the command left running with it, daemons included, and the cgroups go.
    func testACommandThatExitsLeavingADaemonLeavesNothingBehind() throws {
        let h = try h()
        let before = try h.settledResources()
        let marker = "hearth-leftover-marker-\(UUID().uuidString)"
        let result = try h.run(["/bin/sh", "-c", "/bin/probe daemon \(marker) >/dev/null & sleep 0.5; exit 0"]) { _ in
            // Stop looking as soon as it is seen: the shell exits 0.5 s in, taking the daemon with it.
            XCTAssertTrue(eventually(within: 5) { !hostProcesses(containing: marker).isEmpty },
                          "the daemon must have been running, or this test proves nothing")
        }
        XCTAssertEqual(result.exit.status, .exited(0))
        XCTAssertEqual(hostProcesses(containing: marker), [])
        XCTAssertEqual(HostResources.take(), before)
    }

    /// The fallback when removal fails: a process that is not in the sandbox's pid namespace (here a host
    /// process written into its cgroups) keeps the cgroup busy after PID 1 is reaped; it is killed and the
    /// cgroups removed.
    func testACgroupKeptBusyFromOutsideIsEmptiedAndRemovedAtTeardown() throws {
        let h = try h()
        let before = try h.settledResources()
        let (sandbox, collect) = try h.start(h.spec(["/bin/true"]))
        XCTAssertEqual(sandbox.wait().status, .exited(0))
        _ = collect()
        // posix_spawn, not Foundation's Process, which opens fds of its own on first use.
        var intruder: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("30"), nil]
        defer { argv.forEach { free($0) } }
        XCTAssertEqual(posix_spawn(&intruder, "/bin/sleep", nil, nil, argv, environ), 0)
        var status: Int32 = 0
        defer { if waitpid(intruder, &status, WNOHANG) == 0 { kill(intruder, SIGKILL); waitpid(intruder, &status, 0) } }
        for procs in sandbox.cgroup.joinFiles {
            try String(intruder).write(toFile: procs, atomically: false, encoding: .utf8)
        }
        XCTAssertNoThrow(try sandbox.destroy())
        XCTAssertEqual(waitpid(intruder, &status, 0), intruder)
        XCTAssertEqual(status & 0x7f, SIGKILL, "the intruder must have been killed by teardown")
        XCTAssertEqual(HostResources.take(), before)
    }

    /// The warm path reads the peak memory through one descriptor kept open: each read must see the
    /// current peak, and teardown must let the descriptor go.
    func testThePeakMemoryIsReadAnewEachTimeAndLetGoAtTeardown() throws {
        let h = try h()
        let before = try h.settledResources()
        let script = "touch /tmp/ready; while [ ! -e /tmp/go ]; do sleep 0.01; done; head -c 12000000 /dev/zero > /tmp/big; touch /tmp/done; sleep 30"
        let (sandbox, collect) = try h.start(h.spec(["/bin/sh", "-c", script]))
        XCTAssertTrue(sandboxTmpHas(sandbox, "ready"))
        let first = try XCTUnwrap(sandbox.cgroup.peakMemoryBytes())
        XCTAssertTrue(FileManager.default.createFile(atPath: "/proc/\(sandbox.pid)/root/tmp/go", contents: nil))
        XCTAssertTrue(sandboxTmpHas(sandbox, "done"))
        let second = try XCTUnwrap(sandbox.cgroup.peakMemoryBytes())
        XCTAssertGreaterThanOrEqual(second - first, 10_000_000, "the peak read before the 12 MB file was written: \(first), after: \(second)")
        try sandbox.destroy()
        _ = collect()
        XCTAssertNil(sandbox.cgroup.peakMemoryBytes(), "the cgroup is gone")
        XCTAssertEqual(HostResources.take(), before)
    }

    func testDestroyWhileRunningKillsEverything() throws {
        let h = try h()
        let marker = "hearth-destroy-marker-\(UUID().uuidString)"
        let (sandbox, collect) = try h.start(h.spec(["/bin/probe", "daemon", marker]))
        XCTAssertTrue(eventually(within: 5) { !hostProcesses(containing: marker).isEmpty })
        try sandbox.destroy()
        _ = collect()
        XCTAssertEqual(hostProcesses(containing: marker), [])
    }
}
