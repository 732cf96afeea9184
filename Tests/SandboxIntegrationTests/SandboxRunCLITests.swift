import Foundation
import HearthCommands
import XCTest

/// `hearth sandbox run` as a user runs it: the real executable, real pipes.
final class SandboxRunCLITests: SandboxTestCase {
    func hearth(_ args: [String], stdin: String = "") throws -> CLIOutput {
        let h = try h()
        return try h.hearthCLI(args.map { $0 == "ROOTFS" ? h.rootfs : $0 }, stdin: stdin)
    }

    func testStreamsOutputAndReturnsTheCommandsStatus() throws {
        let r = try hearth(["sandbox", "run", "--rootfs", "ROOTFS", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
        XCTAssertEqual(r.status, 3)
        XCTAssertEqual(r.stdout, "out\n")
        XCTAssertEqual(r.stderr, "err\n")
    }

    /// Every status the command can end with is hearth's, 64 included: it is ArgumentParser's code for
    /// a usage error, which once turned a command's `exit 64` into hearth's usage status 2.
    func testEveryExitStatusOfTheCommandIsPassedThrough() throws {
        for status in [1, 2, 63, 64, 65, 125, 255] {
            let r = try hearth(["sandbox", "run", "--rootfs", "ROOTFS", "--", "/bin/sh", "-c", "exit \(status)"])
            XCTAssertEqual(r.status, Int32(status), r.stderr)
            XCTAssertEqual(r.stderr, "", "exit \(status)")
        }
    }

    func testStdinIsPipedThrough() throws {
        let r = try hearth(["sandbox", "run", "--rootfs", "ROOTFS", "--", "cat"], stdin: "hello sandbox\n")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "hello sandbox\n")
    }

    func testSignalDeathIs128PlusSignal() throws {
        let r = try hearth(["sandbox", "run", "--rootfs", "ROOTFS", "--", "/bin/sh", "-c", "kill -9 $$"])
        XCTAssertEqual(r.status, 137)
    }

    func testEnvAndWorkdirReachTheCommand() throws {
        let r = try hearth(["sandbox", "run", "--rootfs", "ROOTFS", "--env", "WHO=world", "--workdir", "/tmp", "--",
                            "/bin/sh", "-c", "echo hello $WHO from $(pwd)"])
        XCTAssertEqual(r.stdout, "hello world from /tmp\n")
    }

    func testOutOfMemoryIsNamedWithTheLimit() throws {
        let r = try hearth(["sandbox", "run", "--rootfs", "ROOTFS", "--memory", "48", "--", "/bin/probe", "memhog"])
        XCTAssertEqual(r.status, SandboxExitCode.outOfMemory)
        XCTAssertTrue(r.stderr.contains("out of memory"), r.stderr)
        XCTAssertTrue(r.stderr.contains("48 MB"), r.stderr)
    }

    func testTimeoutIsNamedWithTheSeconds() throws {
        let r = try hearth(["sandbox", "run", "--rootfs", "ROOTFS", "--timeout", "1", "--", "/bin/sleep", "30"])
        XCTAssertEqual(r.status, SandboxExitCode.timeout)
        XCTAssertTrue(r.stderr.contains("timeout: killed after 1 seconds"), r.stderr)
    }

    func testPidsLimitIsNamed() throws {
        let r = try hearth(["sandbox", "run", "--rootfs", "ROOTFS", "--pids", "20", "--", "/bin/probe", "forkbomb"])
        XCTAssertEqual(r.status, SandboxExitCode.pidsLimit)
        XCTAssertTrue(r.stderr.contains("pids limit"), r.stderr)
        XCTAssertTrue(r.stderr.contains("20 processes"), r.stderr)
    }

    /// --help is the command's help, whichever way the arguments are parsed (the command line after the
    /// options is captured for passthrough, which once took --help as the command to run).
    func testHelpShowsTheWholeCommandsUsage() throws {
        for flag in ["--help", "-h"] {
            let r = try hearth(["sandbox", "run", flag])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("USAGE: hearth sandbox run"), r.stdout + r.stderr)
            XCTAssertTrue(r.stdout.contains("--rootfs"), r.stdout)
        }
        let completion = try hearth(["sandbox", "run", "--generate-completion-script", "bash"])
        XCTAssertEqual(completion.status, 0, completion.stderr)
        XCTAssertTrue(completion.stdout.hasPrefix("#!/bin/bash"), completion.stdout + completion.stderr)
    }

    func testBadArgumentsGetAClearErrorAndStatus2() throws {
        let cases: [([String], String)] = [
            (["sandbox", "run", "--", "/bin/true"], "--rootfs"),
            (["sandbox", "run", "--rootfs", "/no/such/rootfs", "--", "/bin/true"], "/no/such/rootfs"),
            (["sandbox", "run", "--rootfs", "ROOTFS", "--", "/usr/bin/python3"], "not found in"),
            (["sandbox", "run", "--rootfs", "ROOTFS", "--", "python3"], "not found in"),
            (["sandbox", "run", "--rootfs", "ROOTFS", "--memory", "0", "--", "/bin/true"], "memory must be between"),
            (["sandbox", "run", "--rootfs", "ROOTFS", "--memory", "lots", "--", "/bin/true"], "lots"),
            (["sandbox", "run", "--rootfs", "ROOTFS", "--timeout=-1", "--", "/bin/true"], "timeout must be between"),
            (["sandbox", "run", "--rootfs", "ROOTFS", "--pids", "0", "--", "/bin/true"], "pids must be between"),
            (["sandbox", "run", "--rootfs", "ROOTFS", "--tmp-size", "999999", "--", "/bin/true"], "tmp size"),
            (["sandbox", "run", "--rootfs", "ROOTFS", "--env", "NOEQUALS", "--", "/bin/true"], "KEY=VALUE"),
            (["sandbox", "run", "--rootfs", "ROOTFS", "--workdir", "/proc/self/fd/3", "--", "/bin/true"], "/proc"),
            (["sandbox", "run", "--rootfs", "ROOTFS"], "no command"),
            (["sandbox", "run", "--rootfs", "/etc/passwd", "--", "/bin/true"], "not a directory"),
            (["sandbox", "run", "--rootfs", "/", "--", "/bin/true"], "host's own root filesystem"),
            (["sandbox", "run", "--rootfs", "/./", "--", "/bin/true"], "host's own root filesystem"),
        ]
        for (args, fragment) in cases {
            let r = try hearth(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(fragment), "\(args): stderr should mention \(fragment): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
        }
    }
}
