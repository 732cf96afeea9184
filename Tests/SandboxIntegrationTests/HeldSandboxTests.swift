import Foundation
import HearthModel
import HearthSandbox
import XCTest

/// Prepared ("held") sandboxes: made ahead with nothing of a function inside,
/// then specialised. What runs in one must be exactly as isolated and limited
/// as in a sandbox started fresh, with the function's own code and limits.
final class HeldSandboxTests: SandboxTestCase {
    /// Held with the harness's default limits (256 MB, 16 MB /tmp); the function's own are applied at specialise.
    func runHeld(_ command: [String], limits: ResourceLimits = SandboxHarness.defaultLimits, binds: [SandboxSpec.BindMount] = [],
                 hostname: String = "held-host") throws -> SandboxHarness.Captured {
        let h = try h()
        let (held, collect) = try h.captured { stdio in
            try h.engine.prebuild(layers: [h.rootfs], limits: SandboxHarness.defaultLimits, stdio: stdio, networkNamespace: nil)
        }
        var spec = h.spec(command, limits: limits)
        spec.binds = binds
        spec.hostname = hostname
        let sandbox = try h.engine.specialise(held, as: spec)
        let exit = sandbox.wait()
        try sandbox.destroy()
        let (out, err) = collect()
        return SandboxHarness.Captured(exit: exit, stdout: out, stderr: err)
    }

    func testASpecialisedSandboxIsLockedDownLikeAFreshOne() throws {
        let status = try runHeld(["/bin/probe", "status"])
        XCTAssertEqual(status.exit.status, .exited(0), status.stderr)
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            XCTAssertEqual(status.values[set], "0000000000000000", set)
        }
        XCTAssertEqual(status.values["NoNewPrivs"], "1")
        XCTAssertEqual(status.values["Seccomp"], "2")
        XCTAssertEqual(status.values["Uid"]?.split(separator: "\t").map(String.init), Array(repeating: "1000050000", count: 4))

        let calls = try runHeld(["/bin/probe", "syscalls"]).values
        for name in ["mount", "umount2", "setns", "pivot_root", "ptrace", "bpf"] {
            XCTAssertEqual(calls[name], "EPERM", name)
        }
        XCTAssertEqual(try runHeld(["/bin/probe", "fds"]).values["fds"], "0,1,2", "the control socket is closed before the command runs")
        XCTAssertEqual(try runHeld(["/bin/probe", "hostname"]).values["hostname"], "held-host")
        let rofs = try runHeld(["/bin/probe", "rofs"]).values
        XCTAssertEqual(rofs["write_root"], "EROFS")
        XCTAssertEqual(rofs["write_tmp"], "OK")
        XCTAssertEqual(rofs["tmp_file_mode"], "644")
    }

    /// A held init starts the command with the same C as the spawn: PATH search, and an exec failure
    /// reported as one.
    func testAHeldSandboxFindsItsCommandInPathAndReportsOneItCannotExecute() throws {
        let found = try runHeld(["echo", "from", "path"])
        XCTAssertEqual(found.exit.status, .exited(0), found.stderr)
        XCTAssertEqual(found.stdout, "from path\n")
        let missing = try runHeld(["/bin/not-there"])
        XCTAssertEqual(missing.exit.status, .execFailed(ENOENT))
        XCTAssertEqual(missing.exit.shellStatus, 127)
        XCTAssertTrue(missing.stderr.contains("cannot execute /bin/not-there"), missing.stderr)
    }

    func testTheFunctionsCodeIsAttachedReadOnlyAndLayersStack() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-held-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        for (dir, file, text) in [("task", "hello", "from task"), ("layer1", "both", "layer one"), ("layer1", "one", "only one"),
                                  ("layer2", "both", "layer two")] {
            try FileManager.default.createDirectory(atPath: "\(base)/\(dir)", withIntermediateDirectories: true)
            try text.write(toFile: "\(base)/\(dir)/\(file)", atomically: false, encoding: .utf8)
        }
        chmod(base, 0o755)
        let script = "cat /var/task/hello; echo; cat /opt/both; echo; cat /opt/one; echo; (echo x > /var/task/new) 2>/dev/null || echo task-refused; (echo x > /opt/new) 2>/dev/null || echo opt-refused"
        let r = try runHeld(["/bin/sh", "-c", script],
                            binds: [.init(source: base + "/task", target: "/var/task"),
                                    .init(sources: [base + "/layer1", base + "/layer2"], target: "/opt")])
        XCTAssertEqual(r.exit.status, .exited(0), r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n"), ["from task", "layer two", "only one", "task-refused", "opt-refused"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/task/new"))
    }

    func testTheFunctionsLimitsReplaceThePreparedOnes() throws {
        let fill = try runHeld(["/bin/probe", "tmpfill"], limits: ResourceLimits(memoryMB: 256, pids: 64, tmpSizeMB: 8))
        XCTAssertEqual(fill.values["error"], "ENOSPC")
        let written = try XCTUnwrap(fill.values["written_mb"].flatMap(Int.init))
        XCTAssertTrue((7...8).contains(written), "wrote \(written) MB into an 8 MB /tmp (held with 16 MB)")

        let hog = try runHeld(["/bin/probe", "memhog"], limits: ResourceLimits(memoryMB: 48, timeoutSeconds: 30, pids: 64, tmpSizeMB: 8))
        XCTAssertEqual(hog.exit.limit, .outOfMemory(limitMB: 48), "held at 256 MB, limited to the function's 48")
        let peak = try XCTUnwrap(hog.exit.stats.peakMemoryBytes)
        XCTAssertLessThanOrEqual(peak, 48 * 1024 * 1024)
    }

    func testAFailedSpecialisationNamesTheStepAndLeavesNothing() throws {
        let h = try h()
        _ = try runHeld(["/bin/true"])
        let before = HostResources.take()
        for _ in 0..<5 {
            let devNull = open("/dev/null", O_RDWR)
            let held = try h.engine.prebuild(layers: [h.rootfs], limits: SandboxHarness.defaultLimits,
                                             stdio: .init(stdin: devNull, stdout: devNull, stderr: devNull), networkNamespace: nil)
            close(devNull)
            var spec = h.spec(["/bin/true"])
            spec.workingDirectory = "/no/such/dir"
            XCTAssertThrowsError(try h.engine.specialise(held, as: spec)) { error in
                XCTAssertTrue("\(error)".contains("chdir"), "\(error)")
            }
            // Another root than the one it was made for is refused before anything is sent.
            let other = try h.engine.prebuild(layers: [h.rootfs], limits: SandboxHarness.defaultLimits,
                                              stdio: .init(stdin: 0, stdout: 2, stderr: 2), networkNamespace: nil)
            var wrong = h.spec(["/bin/true"])
            wrong.layers = [h.rootfs, "/nonexistent"]
            XCTAssertThrowsError(try h.engine.specialise(other, as: wrong)) { error in
                XCTAssertTrue("\(error)".contains("root layers"), "\(error)")
            }
            // Code may only go to the skeleton's mount points.
            let third = try h.engine.prebuild(layers: [h.rootfs], limits: SandboxHarness.defaultLimits,
                                              stdio: .init(stdin: 0, stdout: 2, stderr: 2), networkNamespace: nil)
            var elsewhere = h.spec(["/bin/true"])
            elsewhere.binds = [.init(source: h.rootfs, target: "/etc")]
            XCTAssertThrowsError(try h.engine.specialise(third, as: elsewhere)) { error in
                XCTAssertTrue("\(error)".contains("mount target /etc is not one of"), "\(error)")
            }
            // A held init that died (killed from outside) is reported, not waited for.
            let killed = try h.engine.prebuild(layers: [h.rootfs], limits: SandboxHarness.defaultLimits,
                                               stdio: .init(stdin: 0, stdout: 2, stderr: 2), networkNamespace: nil)
            let inits = heldInits(of: getpid(), count: 1)
            XCTAssertEqual(inits.count, 1)
            for pid in inits { kill(pid, SIGKILL) }
            XCTAssertThrowsError(try h.engine.specialise(killed, as: h.spec(["/bin/true"]))) { error in
                XCTAssertTrue("\(error)".contains("prepared sandbox"), "\(error)")
            }
            // A held sandbox that is never used is discarded whole.
            let unused = try h.engine.prebuild(layers: [h.rootfs], limits: SandboxHarness.defaultLimits,
                                               stdio: .init(stdin: 0, stdout: 2, stderr: 2), networkNamespace: nil)
            unused.discard()
        }
        XCTAssertEqual(HostResources.take(), before)
        XCTAssertEqual(zombieChildren(), 0)
    }
}
