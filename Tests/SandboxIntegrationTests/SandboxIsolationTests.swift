import Foundation
import HearthModel
import HearthSandbox
import XCTest

/// What a sandboxed process can see and do, proven from inside by the probe.
final class SandboxIsolationTests: SandboxTestCase {
    func probe(_ args: String...) throws -> SandboxHarness.Captured {
        let result = try h().run(["/bin/probe"] + args)
        XCTAssertEqual(result.exit.status, .exited(0), "probe \(args) failed: \(result.stderr)")
        return result
    }

    // MARK: credentials

    func testCapabilitySetsAreAllZero() throws {
        let v = try probe("status").values
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            XCTAssertEqual(v[set], "0000000000000000", set)
        }
    }

    func testNoNewPrivsIsSet() throws {
        XCTAssertEqual(try probe("status").values["NoNewPrivs"], "1")
    }

    func testSeccompFilterIsLoaded() throws {
        XCTAssertEqual(try probe("status").values["Seccomp"], "2")
    }

    /// SCHED_BATCH (policy 3, field 41 of /proc/PID/stat), so a runtime woken by its event does not preempt
    /// the supervisor's thread that sent it.
    func testProcessesRunAsSchedBatch() throws {
        let result = try h().run(["/bin/sh", "-c", "cat /proc/self/stat"])
        XCTAssertEqual(result.exit.status, .exited(0), result.stderr)
        let afterName = try XCTUnwrap(result.stdout.range(of: ") ", options: .backwards)).upperBound
        let fields = result.stdout[afterName...].split(separator: " ")
        XCTAssertEqual(fields.count > 38 ? String(fields[38]) : nil, "3", result.stdout)
    }

    func testRunsAsTheSandboxesUnprivilegedUid() throws {
        let v = try probe("status").values
        XCTAssertEqual(v["Uid"]?.split(separator: "\t").map(String.init), Array(repeating: "1000050000", count: 4))
        XCTAssertEqual(v["Gid"]?.split(separator: "\t").map(String.init), Array(repeating: "1000050000", count: 4))
    }

    // MARK: system calls

    private func assertSyscall(_ name: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let v = try probe("syscalls").values
        XCTAssertEqual(v[name], expected, "\(name) from inside the sandbox", file: file, line: line)
    }

    func testMountIsRefused() throws { try assertSyscall("mount", "EPERM") }
    func testUmount2IsRefused() throws { try assertSyscall("umount2", "EPERM") }
    func testUnshareIsRefused() throws {
        try assertSyscall("unshare", "EPERM")
        try assertSyscall("unshare_user", "EPERM")
    }
    func testSetnsIsRefused() throws { try assertSyscall("setns", "EPERM") }
    func testPivotRootIsRefused() throws { try assertSyscall("pivot_root", "EPERM") }
    func testPtraceIsRefused() throws { try assertSyscall("ptrace", "EPERM") }
    func testKeyctlIsRefused() throws { try assertSyscall("keyctl", "EPERM") }
    func testBpfIsRefused() throws { try assertSyscall("bpf", "EPERM") }
    func testPerfEventOpenIsRefused() throws { try assertSyscall("perf_event_open", "EPERM") }
    func testKexecLoadIsRefused() throws { try assertSyscall("kexec_load", "EPERM") }
    func testInitModuleIsRefused() throws { try assertSyscall("init_module", "EPERM") }
    func testOpenByHandleAtIsRefused() throws { try assertSyscall("open_by_handle_at", "EPERM") }

    func testOtherEscapeHatchesAreClosed() throws {
        let v = try probe("syscalls").values
        for name in ["chroot", "io_uring_setup", "userfaultfd", "clone_newpid", "personality_bsd", "socket_vsock",
                     "socket_vsock_highbits", "socket_packet", "setuid0", "sethostname", "clock_settime", "mknod"] {
            XCTAssertEqual(v[name], "EPERM", name)
        }
        XCTAssertEqual(v["clone3"], "ENOSYS", "clone3 must answer ENOSYS so libc falls back to clone")
    }

    func testOrdinaryCallsStillWork() throws {
        let v = try probe("syscalls").values
        XCTAssertEqual(v["fork"], "OK")
        XCTAssertEqual(v["socket_inet"], "OK")
        XCTAssertEqual(v["personality_query"], "OK")
    }

    // MARK: namespaces

    func testOnlyTheSandboxesProcessesAreVisible() throws {
        let v = try probe("pids").values
        // PID 1 is hearth-init, PID 2 the probe.
        XCTAssertEqual(v["pids"], "1,2")
        XCTAssertEqual(v["kill_host_init"], "ESRCH")
    }

    func testHostnameIsTheSandboxes() throws {
        XCTAssertEqual(try probe("hostname").values["hostname"], "probe-host")
    }

    func testHostLoopbackListenerIsUnreachable() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &addr) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                XCTAssertEqual(bind(listener, sa, len), 0)
                XCTAssertEqual(listen(listener, 8), 0)
                XCTAssertEqual(getsockname(listener, sa, &len), 0)
                // The listener is reachable from the host itself, so the check below can fail.
                let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(client) }
                XCTAssertEqual(connect(client, sa, len), 0, "the host listener should accept host connections")
                _ = try XCTUnwrap(Optional(sa))
            }
        }
        let port = UInt16(bigEndian: addr.sin_port)
        let v = try probe("connect", String(port)).values
        XCTAssertEqual(v["connect"], "ECONNREFUSED", "the sandbox's 127.0.0.1 is its own loopback")
        XCTAssertEqual(v["connect_outside"], "ENETUNREACH", "no route out of the sandbox")
    }

    func testTheListenerAskedForIsInsideTheSandboxsNetworkNamespace() throws {
        let port: UInt16 = 9001
        let (sandbox, collect) = try h().captured { stdio in
            try h().engine.start(h().spec(["/bin/probe", "connect", String(port)]), stdio: stdio, listenerPort: port)
        }
        let listener = try XCTUnwrap(sandbox.listener, "start(listenerPort:) hands back the socket")
        defer { close(listener) }
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        XCTAssertEqual(named, 0)
        XCTAssertEqual(UInt16(bigEndian: addr.sin_port), port)
        XCTAssertEqual(UInt32(bigEndian: addr.sin_addr.s_addr), 0x7f00_0001)
        let exit = sandbox.wait()
        try sandbox.destroy()
        let (out, err) = collect()
        let v = SandboxHarness.Captured(exit: exit, stdout: out, stderr: err).values
        XCTAssertEqual(v["connect"], "OK", "the sandbox's own 127.0.0.1:\(port) answers: \(out) \(err)")
        // The connection the probe made waits in this very socket's backlog.
        let accepted = accept(listener, nil, nil)
        XCTAssertGreaterThanOrEqual(accepted, 0, "the probe's connection reached the listener handed back")
        if accepted >= 0 { close(accepted) }
    }

    func testAListenerThatCannotBeMadeIsAClearErrorAndLeavesNothing() throws {
        // A second sandbox in the first one's network namespace finds 127.0.0.1:9001 taken.
        let port: UInt16 = 9001
        let (first, collect) = try h().captured { stdio in
            try h().engine.start(h().spec(["/bin/probe", "sleep", "30"]), stdio: stdio, listenerPort: port)
        }
        defer {
            try? first.destroy()
            _ = collect()
            if let listener = first.listener { close(listener) }
        }
        let netns = open("/proc/\(first.pid)/ns/net", O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(netns, 0)
        defer { close(netns) }
        let before = HostResources.take()
        XCTAssertThrowsError(try h().captured { stdio in
            try h().engine.start(h().spec(["/bin/true"]), stdio: stdio, networkNamespace: netns, listenerPort: port)
        }) { error in
            XCTAssertTrue("\(error)".contains("make the Runtime API listener"), "\(error)")
            XCTAssertTrue("\(error)".contains(String(cString: strerror(EADDRINUSE))), "\(error)")
        }
        XCTAssertEqual(HostResources.take(), before, "the failed start's cgroup, pipes and socketpair are gone")
    }

    // MARK: filesystem

    func testRootIsReadOnlyAndTmpIsWritable() throws {
        let v = try probe("rofs").values
        XCTAssertEqual(v["write_root"], "EROFS")
        XCTAssertEqual(v["write_bin"], "EROFS")
        XCTAssertEqual(v["write_dev"], "EROFS")
        XCTAssertEqual(v["write_tmp"], "OK")
        XCTAssertEqual(v["write_devnull"], "OK", "the sandbox user can write /dev/null (0666, whatever the supervisor's umask)")
        XCTAssertEqual(v["read_urandom"], "OK")
        XCTAssertEqual(v["write_devshm"], "OK")
        XCTAssertEqual(v["tmp_file_mode"], "644", "the command runs with umask 022")
        XCTAssertFalse(FileManager.default.fileExists(atPath: try h().rootfs + "/probe-file"), "nothing reaches the host's rootfs")
    }

    func testTmpIsWritableUpToItsSizeThenENOSPC() throws {
        let result = try h().run(["/bin/probe", "tmpfill"], limits: ResourceLimits(memoryMB: 256, pids: 64, tmpSizeMB: 8))
        let v = result.values
        XCTAssertEqual(v["error"], "ENOSPC")
        let written = try XCTUnwrap(v["written_mb"].flatMap(Int.init))
        XCTAssertTrue((7...8).contains(written), "wrote \(written) MB into an 8 MB /tmp")
    }

    func testDevShmSharesTmpsSizeAndTheMaskDirectoryIsReadOnly() throws {
        // 6 MB in /dev/shm leaves about 2 of the 8 MB for /tmp: one tmpfs backs both (and /dev).
        let script = "dd if=/dev/zero of=/dev/shm/a bs=1M count=6 2>/dev/null && echo shm=ok; "
            + "dd if=/dev/zero of=/tmp/b bs=1M count=4 2>&1 | grep -q 'No space left' && echo tmp=full; "
            + "ls -A /sys | wc -l; mkdir /proc/acpi/x 2>&1"
        let result = try h().run(["/bin/sh", "-c", script], limits: ResourceLimits(memoryMB: 256, pids: 64, tmpSizeMB: 8))
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "shm=ok")
        XCTAssertTrue(lines.contains("tmp=full"), "\(lines)")
        XCTAssertTrue(lines.contains { $0.trimmingCharacters(in: .whitespaces) == "0" }, "the staging directory is empty again: \(lines)")
        XCTAssertTrue(lines.last?.contains("Read-only file system") ?? false, "\(lines)")
    }

    func testOnlyStdioFdsAreOpen() throws {
        XCTAssertEqual(try probe("fds").values["fds"], "0,1,2")
    }

    func testMaskedProcPathsReadEmpty() throws {
        let v = try probe("masked").values
        var checked = 0
        for path in ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats",
                     "/proc/timer_stats", "/proc/interrupts", "/proc/acpi", "/proc/scsi"] {
            let value = try XCTUnwrap(v[path], path)
            if value == "absent" { continue }  // this kernel has no such file
            XCTAssertEqual(value, "0", "\(path) must read empty")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 3, "at least /proc/keys, /proc/timer_list and /proc/interrupts exist")
        XCTAssertEqual(v["umount_kcore"], "EPERM")
        XCTAssertNotEqual(v["write_core_pattern"], "OK")
    }

    // MARK: status

    func testExitStatusAndSignalsPassThrough() throws {
        XCTAssertEqual(try h().run(["/bin/probe", "exit", "7"]).exit.status, .exited(7))
        XCTAssertEqual(try h().run(["/bin/sh", "-c", "kill -9 $$"]).exit.status, .signaled(9))
    }

    /// Signals sent to the sandbox reach the command through the init's handler, which must return
    /// cleanly each time (hearth-init brings its own signal trampoline instead of glibc's).
    func testSignalsToTheSandboxAreForwardedToTheCommandEveryTime() throws {
        let h = try h()
        let script = "trap 'echo usr1' USR1; trap 'echo term; exit 7' TERM; touch /tmp/ready; while :; do sleep 0.02; done"
        let (sandbox, collect) = try h.start(h.spec(["/bin/sh", "-c", script]))
        XCTAssertTrue(sandboxTmpHas(sandbox, "ready"), "the command never set its traps")
        sandbox.signal(SIGUSR1)
        sandbox.signal(SIGUSR1)
        usleep(200_000)
        sandbox.signal(SIGTERM)
        let exit = sandbox.wait()
        let (out, _) = collect()
        try sandbox.destroy()
        XCTAssertEqual(exit.status, .exited(7))
        XCTAssertTrue(out.hasSuffix("term\n") && out.contains("usr1\n"), out)
    }

    func testMissingCommandIsReportedByInit() throws {
        let result = try h().run(["/bin/not-there"])
        XCTAssertEqual(result.exit.status, .execFailed(ENOENT))
        XCTAssertTrue(result.stderr.contains("cannot execute /bin/not-there"), result.stderr)
    }

    /// The child starts the command itself (no execvp: it may not allocate), so its PATH search is
    /// checked here: a non-executable file earlier in PATH is passed over, and when nothing else
    /// is found the failure is EACCES, not ENOENT, as execvp reports it.
    func testACommandNameIsLookedUpInPathPassingOverFilesThatAreNotExecutable() throws {
        let h = try h()
        let dir = h.rootfs + "/not-executable"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/echo", contents: Data("#!/bin/sh\n".utf8),
                                                     attributes: [.posixPermissions: 0o644]))

        let (found, collectFound) = try h.start(h.spec(["echo", "from", "bin"], environment: [("PATH", "/not-executable:/bin")]))
        XCTAssertEqual(found.wait().status, .exited(0))
        XCTAssertEqual(collectFound().0, "from bin\n")
        try found.destroy()

        let (refused, collectRefused) = try h.start(h.spec(["echo"], environment: [("PATH", "/nowhere:/not-executable")]))
        let exit = refused.wait()
        let stderr = collectRefused().1
        try refused.destroy()
        XCTAssertEqual(exit.status, .execFailed(EACCES))
        XCTAssertEqual(exit.shellStatus, 126)
        XCTAssertTrue(stderr.contains("cannot execute echo: Permission denied"), stderr)
    }

    func testTheInitRefusesToRunOutsideASandboxWithAClearError() throws {
        let initBinary = try h().buildDirectory.appendingPathComponent("hearth-init")
        for args in [[String](["/bin/true"]), ["--reap", "not-a-pid"], ["--reap", "0"], ["--reap", "4194305"], ["--exec-failed", "2"]] {
            let result = try runCLI(initBinary, args, environment: [:])
            XCTAssertEqual(result.status, 127, "\(args)")
            XCTAssertTrue(result.stderr.contains("started by hearth only"), "\(args): \(result.stderr)")
        }
    }

    func testEnvironmentIsExactlyWhatWasGiven() throws {
        let h = try h()
        let (sandbox, collect) = try h.start(h.spec(["/bin/sh", "-c", "env"], environment: [("GREETING", "hello world")]))
        _ = sandbox.wait()
        let (out, _) = collect()
        try sandbox.destroy()
        let names = Set(out.split(separator: "\n").compactMap { $0.split(separator: "=").first.map(String.init) })
        XCTAssertTrue(out.contains("GREETING=hello world"))
        // busybox sh adds PWD and SHLVL of its own; nothing of the host's environment may appear.
        XCTAssertEqual(names.subtracting(["PWD", "SHLVL"]), ["GREETING", "PATH"])
    }
}
