import Foundation
import HearthSandbox
import XCTest

/// The daemon's limits and lifecycle, each test with a daemon of its own settings:
/// account concurrency, the memory budget, idle retirement, restarts, the CLI, leaks.
final class ServeLimitTests: XCTestCase {
    override func setUpWithError() throws {
        try ServeDaemon.checkPrerequisites()
        _ = try ServeFixtures.make()
    }

    override class func tearDown() {
        ServeFixtures.remove()
    }

    func testAccountConcurrencyLimitThrottlesWithItsReason() throws {
        let daemon = try ServeDaemon(arguments: ["--account-concurrency", "2"])
        defer { daemon.remove() }
        let out = try daemon.boto(try createCounter("acct") + """
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                results = list(pool.map(lambda _: err(c.invoke, FunctionName="acct", Payload=json.dumps({"sleep": 2})), range(3)))
            out["errors"] = [r for r in results if r]
            """)
        let errors = try XCTUnwrap(out["errors"] as? [[String: Any]])
        XCTAssertEqual(errors.count, 1, "two run, the third is over the account's concurrency: \(errors)")
        XCTAssertEqual(errors.first?["reason"] as? String, "ConcurrentInvocationLimitExceeded")
        XCTAssertEqual(errors.first?["status"] as? Int, 429)
    }

    func testMemoryBudgetEvictsIdleSandboxesFirstThenThrottles() throws {
        let daemon = try ServeDaemon(arguments: ["--memory-budget", "256"])
        defer { daemon.remove() }
        let out = try daemon.boto(try createCounter("mem-a") + (try createCounter("mem-b")) + (try createCounter("mem-c")) + """
            out["a"] = payload(c.invoke(FunctionName="mem-a", Payload=b"{}"))["count"]
            out["b"] = payload(c.invoke(FunctionName="mem-b", Payload=b"{}"))["count"]
            # Both idle sandboxes fill the budget: c's start must retire a's (least recently used).
            out["c"] = payload(c.invoke(FunctionName="mem-c", Payload=b"{}"))["count"]
            out["b_again"] = payload(c.invoke(FunctionName="mem-b", Payload=b"{}"))["count"]
            out["a_again"] = payload(c.invoke(FunctionName="mem-a", Payload=b"{}"))["count"]
            # Two busy sandboxes take the whole budget; a third invocation is refused at once.
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                futures = [pool.submit(err, c.invoke, FunctionName=n, Payload=json.dumps({"sleep": 2})) for n in ["mem-a", "mem-b"]]
                time.sleep(0.7)
                out["third"] = err(c.invoke, FunctionName="mem-c", Payload=b"{}")
                out["busy_ok"] = [f.result() for f in futures]
            """)
        XCTAssertEqual(out["a"] as? Int, 1)
        XCTAssertEqual(out["b"] as? Int, 1)
        XCTAssertEqual(out["c"] as? Int, 1)
        XCTAssertEqual(out["b_again"] as? Int, 2, "b was used more recently than a, so it stayed warm")
        XCTAssertEqual(out["a_again"] as? Int, 1, "a was evicted to make room for c")
        XCTAssertEqual((out["third"] as? [String: Any])?["status"] as? Int, 429)
        XCTAssertEqual((out["third"] as? [String: Any])?["reason"] as? String, "ConcurrentInvocationLimitExceeded")
        XCTAssertEqual((out["busy_ok"] as? [Any])?.allSatisfy { $0 is NSNull }, true)
    }

    func testIdleSandboxesRetireAfterTheIdleTimeout() throws {
        let daemon = try ServeDaemon(arguments: ["--idle-timeout", "1"])
        defer { daemon.remove() }
        let out = try daemon.boto(Self.statusHelpers + (try createCounter("idle")) + """
            out["first"] = payload(c.invoke(FunctionName="idle", Payload=b"{}"))["count"]
            out["warm"] = payload(c.invoke(FunctionName="idle", Payload=b"{}"))["count"]
            out["prepared"] = wait_prepared(2)
            time.sleep(2.5)
            out["prepared_after_idle"] = status()["prepared"]
            out["after_idle"] = payload(c.invoke(FunctionName="idle", Payload=b"{}"))["count"]
            """)
        XCTAssertEqual(out["prepared"] as? Int, 2)
        XCTAssertEqual(out["prepared_after_idle"] as? Int, 0, "an image no cold start wanted for the idle timeout gives its prepared sandboxes back")
        XCTAssertEqual(out["warm"] as? Int, 2)
        XCTAssertEqual(out["after_idle"] as? Int, 1, "the idle sandbox was retired, so this one is new")
    }

    static let statusHelpers = """
        import urllib.request
        def status():
            return json.load(urllib.request.urlopen(c.meta.endpoint_url + "/hearth/v1/status"))
        def wait_prepared(n):
            for _ in range(200):
                if status()["prepared"] == n:
                    break
                time.sleep(0.05)
            return status()["prepared"]

        """

    func testColdStartsSpecialisePreparedSandboxesOfTheRuntimeImage() throws {
        let daemon = try ServeDaemon()
        defer { daemon.remove() }
        var out = try daemon.boto(Self.statusHelpers + (try createCounter("first")) + (try createCounter("second")) + """
            out["prepared_at_start"] = status()["prepared"]
            out["first"] = payload(c.invoke(FunctionName="first", Payload=b"{}"))["count"]
            out["prepared_before"] = wait_prepared(2)
            out["second"] = payload(c.invoke(FunctionName="second", Payload=b"{}"))["count"]
            out["second_warm"] = payload(c.invoke(FunctionName="second", Payload=b"{}"))["count"]
            out["prepared_after"] = wait_prepared(2)
            """)
        // Prepared sandboxes that died (killed from outside) cost a cold start nothing but the long way.
        let inits = heldInits(of: daemon.pid, count: 2)
        XCTAssertEqual(inits.count, 2, "two held inits, children of the daemon")
        for pid in inits { kill(pid, SIGKILL) }
        out.merge(try daemon.boto(Self.statusHelpers + (try createCounter("third")) + """
            out["third"] = payload(c.invoke(FunctionName="third", Payload=b"{}"))["count"]
            metrics = urllib.request.urlopen(c.meta.endpoint_url + "/metrics").read().decode()
            out["metrics"] = [l for l in metrics.splitlines() if l.startswith("hearth_prepared_starts_total")]
            """), uniquingKeysWith: { $1 })
        XCTAssertEqual(out["prepared_at_start"] as? Int, 0, "nothing is prepared before a runtime image is used")
        XCTAssertEqual(out["first"] as? Int, 1)
        XCTAssertEqual(out["prepared_before"] as? Int, 2, "the runtime image is stocked after its first cold start")
        XCTAssertEqual(out["second"] as? Int, 1, "a prepared sandbox runs the second function from a fresh start")
        XCTAssertEqual(out["second_warm"] as? Int, 2, "and stays warm like any other")
        XCTAssertEqual(out["prepared_after"] as? Int, 2, "refilled after use")
        XCTAssertEqual(out["third"] as? Int, 1, "a dead prepared sandbox is skipped for a new one")
        XCTAssertEqual(out["metrics"] as? [String], ["hearth_prepared_starts_total{function=\"second\"} 1"],
                       "third started the long way")
    }

    func testPreparedSandboxesCanBeTurnedOff() throws {
        let daemon = try ServeDaemon(arguments: ["--prepared", "0"])
        defer { daemon.remove() }
        let out = try daemon.boto(Self.statusHelpers + (try createCounter("solo")) + """
            out["count"] = payload(c.invoke(FunctionName="solo", Payload=b"{}"))["count"]
            time.sleep(0.5)
            out["prepared"] = status()["prepared"]
            """)
        XCTAssertEqual(out["count"] as? Int, 1)
        XCTAssertEqual(out["prepared"] as? Int, 0)
    }

    func testARestartKeepsFunctionsVersionsAliasesAndSettings() throws {
        let daemon = try ServeDaemon()
        defer { daemon.remove() }
        _ = try daemon.boto(try createCounter("keep") + """
            c.publish_version(FunctionName="keep")
            c.create_alias(FunctionName="keep", Name="live", FunctionVersion="1")
            c.put_function_concurrency(FunctionName="keep", ReservedConcurrentExecutions=7)
            """)
        XCTAssertEqual(daemon.stop(), 0, "SIGTERM ends the daemon cleanly")
        try daemon.start()
        let out = try daemon.boto("""
            out["config"] = c.get_function_configuration(FunctionName="keep")["MemorySize"]
            out["versions"] = [v["Version"] for v in c.list_versions_by_function(FunctionName="keep")["Versions"]]
            out["alias"] = c.get_alias(FunctionName="keep", Name="live")["FunctionVersion"]
            out["reserved"] = c.get_function_concurrency(FunctionName="keep")["ReservedConcurrentExecutions"]
            r = c.invoke(FunctionName="keep", Qualifier="live", Payload=b"{}")
            out["invoke"] = {"executed": r["ExecutedVersion"], "count": payload(r)["count"]}
            """)
        XCTAssertEqual(out["config"] as? Int, 128)
        XCTAssertEqual(out["versions"] as? [String], ["$LATEST", "1"])
        XCTAssertEqual(out["alias"] as? String, "1")
        XCTAssertEqual(out["reserved"] as? Int, 7)
        XCTAssertEqual((out["invoke"] as? [String: Any])?["executed"] as? String, "1")
        XCTAssertEqual((out["invoke"] as? [String: Any])?["count"] as? Int, 1)
    }

    /// `hearth deploy` changes a function only if every step succeeds: a mistake it can see is refused
    /// before anything is sent, and a step the daemon refuses after others succeeded undoes them.
    func testAFailedDeployLeavesTheFunctionAsItWas() throws {
        let fixtures = try ServeFixtures.make()
        let daemon = try ServeDaemon()
        defer { daemon.remove() }
        let hearthPath = ServeDaemon.buildDirectory.appendingPathComponent("hearth")
        func hearth(_ args: [String]) throws -> CLIOutput {
            try runCLI(hearthPath, args, environment: ["HEARTH_ENDPOINT": "unix:" + daemon.socket, "PATH": "/usr/bin:/bin"])
        }
        func state() throws -> (code: String?, memory: Int?, greeting: String?, reserved: Int?) {
            let out = try daemon.boto("""
                r = c.invoke(FunctionName="atomic", Payload=b"{}")
                out["code"] = json.loads(r["Payload"].read())["code"]
                f = c.get_function(FunctionName="atomic")
                out["memory"] = f["Configuration"]["MemorySize"]
                out["greeting"] = f["Configuration"].get("Environment", {}).get("Variables", {}).get("GREETING")
                out["reserved"] = f.get("Concurrency", {}).get("ReservedConcurrentExecutions")
                """)
            return (out["code"] as? String, out["memory"] as? Int, out["greeting"] as? String, out["reserved"] as? Int)
        }
        var r = try hearth(["deploy", "atomic", "--zip", fixtures + "/counter-v1.zip", "--runtime", "python3.11", "--handler", "app.handler",
                            "--env", "GREETING=hey", "--memory", "192", "--reserved-concurrency", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let notAZip = fixtures + "/not-a-zip.zip"
        try "just text".write(toFile: notAZip, atomically: true, encoding: .utf8)
        let failures: [([String], String)] = [
            // Seen here: nothing is sent.
            (["--zip", fixtures + "/counter-v2.zip", "--memory", "99999"], "Member must have value less than or equal to 10240"),
            (["--zip", notAZip, "--memory", "256"], "not-a-zip.zip"),
            // Refused by the daemon with the configuration, before the code is touched.
            (["--zip", fixtures + "/counter-v2.zip", "--memory", "256", "--layer", "arn:aws:lambda:us-east-1:000000000000:layer:nope:1"], "deploy failed"),
            // Refused after the configuration and the code were changed: both are put back.
            (["--zip", fixtures + "/counter-v2.zip", "--memory", "256", "--env", "GREETING=bye", "--reserved-concurrency", "950"], "the function is as it was"),
        ]
        for (args, fragment) in failures {
            r = try hearth(["deploy", "atomic"] + args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(fragment), "\(args.joined(separator: " ")): \(r.stderr)")
            let now = try state()
            XCTAssertEqual(now.code, "v1", "the code is unchanged after: \(args.joined(separator: " "))")
            XCTAssertEqual(now.memory, 192, "the memory is unchanged after: \(args.joined(separator: " "))")
            XCTAssertEqual(now.greeting, "hey", "the environment is unchanged after: \(args.joined(separator: " "))")
            XCTAssertEqual(now.reserved, 3, "the reserved concurrency is unchanged after: \(args.joined(separator: " "))")
        }
        r = try hearth(["deploy", "atomic", "--zip", fixtures + "/counter-v2.zip", "--memory", "256"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try state().code, "v2", "a deploy that succeeds still changes it")
    }

    func testTheHearthCLIIsAClientOfTheAPI() throws {
        let fixtures = try ServeFixtures.make()
        let daemon = try ServeDaemon()
        defer { daemon.remove() }
        func hearth(_ args: [String], endpoint: String? = nil) throws -> (Int32, String, String) {
            let r = try runCLI(ServeDaemon.buildDirectory.appendingPathComponent("hearth"), args,
                               environment: ["HEARTH_ENDPOINT": endpoint ?? "unix:" + daemon.socket, "PATH": "/usr/bin:/bin"])
            return (r.status, r.stdout, r.stderr)
        }
        var (status, out, err) = try hearth(["deploy", "cli", "--zip", fixtures + "/counter-v1.zip", "--runtime", "python3.11",
                                             "--handler", "app.handler", "--env", "GREETING=hey", "--memory", "192"])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.contains("created cli"), out)
        (status, out, err) = try hearth(["invoke", "cli", "{}", "--tail"])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.contains("\"count\": 1") && out.contains("\"GREETING\": \"hey\""), out)
        XCTAssertTrue(err.contains("REPORT RequestId:"), "--tail puts the log on stderr: \(err)")
        (status, out, _) = try hearth(["invoke", "cli", "{\"fail\": true}"])
        XCTAssertEqual(status, 1, "a function error exits 1")
        XCTAssertTrue(out.contains("ValueError"), out)
        // Over TCP this time: the endpoint variable picks the transport.
        (status, out, err) = try hearth(["list"], endpoint: daemon.endpoint)
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.contains("NAME") && out.contains("cli") && out.contains("192"), out)
        (status, out, _) = try hearth(["list", "--json"])
        let listed = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]
        XCTAssertEqual(listed?.first?["FunctionName"] as? String, "cli")
        (status, out, _) = try hearth(["show", "cli"])
        XCTAssertTrue(out.contains("GREETING=hey") && out.contains("192 MB"), out)
        (status, out, _) = try hearth(["status"])
        XCTAssertTrue(out.contains("cli") && out.contains("IDLE"), out)
        (status, out, _) = try hearth(["logs", "cli"])
        XCTAssertEqual(out.components(separatedBy: "REPORT RequestId:").count - 1, 2, out)
        // --follow prints the log there is, then what is added, each line once.
        let follower = try FollowedOutput(ServeDaemon.buildDirectory.appendingPathComponent("hearth"), ["logs", "cli", "--follow"],
                                          environment: ["HEARTH_ENDPOINT": "unix:" + daemon.socket, "PATH": "/usr/bin:/bin"])
        defer { follower.stop() }
        XCTAssertTrue(follower.wait { $0.components(separatedBy: "REPORT RequestId:").count - 1 == 2 }, "the log so far: \(follower.text)")
        (status, _, err) = try hearth(["invoke", "cli", "{}"])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(follower.wait { $0.components(separatedBy: "REPORT RequestId:").count - 1 == 3 }, "the new invocation: \(follower.text)")
        usleep(800_000)  // more than two of its polls: nothing is printed twice
        XCTAssertEqual(follower.text.components(separatedBy: "START RequestId:").count - 1, 3, follower.text)
        XCTAssertEqual(follower.text.components(separatedBy: "REPORT RequestId:").count - 1, 3, follower.text)
        XCTAssertTrue(follower.isRunning, "--follow keeps running until it is stopped")
        (status, out, err) = try hearth(["deploy", "cli", "--zip", fixtures + "/counter-v2.zip", "--provisioned", "1"])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.contains("provisioned concurrency 1 on version 1"), out)
        (status, out, _) = try hearth(["invoke", "cli"])
        XCTAssertTrue(out.contains("\"code\": \"v2\""), "the update replaced the code: \(out)")
        (status, out, err) = try hearth(["delete", "cli"])
        XCTAssertEqual(status, 0, err)
        (status, _, err) = try hearth(["invoke", "cli"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(err.contains("ResourceNotFoundException"), err)
        (status, _, err) = try hearth(["list"], endpoint: "http://127.0.0.1:1")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(err.contains("cannot reach the Hearth daemon"), err)
        (status, _, err) = try hearth(["list"], endpoint: "ftp://example")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(err.contains("http://HOST:PORT or unix:/PATH"), err)
        (status, _, err) = try hearth(["list"], endpoint: "unix:relative.sock")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(err.contains("absolute path"), err)
    }

    /// Lambda's ephemeral storage is disk: what a function writes to /tmp is not held in its memory, and
    /// `EphemeralStorage` is a hard limit. (On a tmpfs /tmp the 128 MB function is killed for its memory.)
    func testTmpIsEphemeralStorageOnDiskOfTheFunctionsSize() throws {
        let daemon = try ServeDaemon()
        defer { daemon.remove() }
        let out = try daemon.boto(#"""
            import io, zipfile
            source = """
            import os, errno
            def handler(event, context):
                written, error = 0, None
                chunk = b"x" * 1048576
                try:
                    with open("/tmp/fill", "wb") as f:
                        for _ in range(event["mb"]):
                            f.write(chunk)
                            f.flush()
                            written += len(chunk)
                except OSError as e:
                    error = errno.errorcode.get(e.errno)
                    if not os.path.exists("/tmp/fill"):
                        error = "open: " + repr(e)
                s = os.statvfs("/tmp")
                if os.path.exists("/tmp/fill"):
                    written = os.path.getsize("/tmp/fill")
                    os.remove("/tmp/fill")
                mounts = [line for line in open("/proc/self/mountinfo") if " /tmp " in line]
                return {"written": written, "error": error, "sizeMB": s.f_blocks * s.f_frsize // 1048576,
                        "free": s.f_bavail * s.f_frsize, "mounts": mounts}
            """
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as z:
                z.writestr("fill.py", source)
            def make(name, memory, **extra):
                c.create_function(FunctionName=name, Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", MemorySize=memory,
                                  Timeout=120, Handler="fill.handler", Code={"ZipFile": buffer.getvalue()}, **extra)
            make("fill-default", 128)
            # A whole vCPU (1,769 MB) to write its gigabyte: 128 MB buys 7% of one.
            make("fill-1024", 1769, EphemeralStorage={"Size": 1024})
            r = c.invoke(FunctionName="fill-default", Payload=json.dumps({"mb": 400}))
            out["default"] = payload(r)
            out["default_error"] = r.get("FunctionError")
            r = c.invoke(FunctionName="fill-1024", Payload=json.dumps({"mb": 1100}))
            out["big"] = payload(r)
            out["big_error"] = r.get("FunctionError")
            out["config"] = c.get_function_configuration(FunctionName="fill-1024")["EphemeralStorage"]
            """#)
        XCTAssertTrue(out["default_error"] is NSNull, "\(out)")
        let small = try XCTUnwrap(out["default"] as? [String: Any], "\(out)")
        XCTAssertEqual(small["written"] as? Int, 400 * 1_048_576, "a 128 MB function wrote 400 MB to /tmp: \(small)")
        XCTAssertTrue(small["error"] is NSNull)
        XCTAssertTrue((512...530).contains(small["sizeMB"] as? Int ?? 0), "\(small)")
        XCTAssertTrue(out["big_error"] is NSNull, "\(out)")
        let big = try XCTUnwrap(out["big"] as? [String: Any], "\(out)")
        XCTAssertEqual(big["error"] as? String, "ENOSPC", "\(big)")
        let written = big["written"] as? Int ?? 0
        XCTAssertTrue((1024 * 1_048_576...1027 * 1_048_576).contains(written), "ENOSPC just past 1024 MB, after \(written) bytes")
        XCTAssertEqual(out["config"] as? [String: Int], ["Size": 1024])
    }

    func testTheDaemonLeavesNothingBehind() throws {
        let before = HostResources.take()
        let daemon = try ServeDaemon()
        _ = try daemon.boto(try createCounter("leak") + """
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda _: c.invoke(FunctionName="leak", Payload=json.dumps({"sleep": 0.3})), range(8)))
            c.invoke(FunctionName="leak", Payload=json.dumps({"fail": True}))
            """)
        XCTAssertGreaterThan(Self.sandboxProcesses(), 0, "warm sandboxes are alive while the daemon runs")
        // One invocation still running when SIGTERM comes: its sandbox goes with the daemon too.
        let busy = Process()
        busy.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        busy.arguments = ["-s", "-o", "/dev/null", "-X", "POST", "--data", #"{"sleep": 30}"#, daemon.endpoint + "/2015-03-31/functions/leak/invocations"]
        try busy.run()
        defer { busy.terminate() }
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(daemon.stop(), 0)
        daemon.remove()
        XCTAssertEqual(Self.sandboxProcesses(), 0, "no sandbox outlives the daemon")
        XCTAssertEqual(HostResources.take(), before)
    }

    func testSandboxesBeingTornDownWhenTheDaemonStopsGoWithIt() throws {
        let before = HostResources.take()
        let daemon = try ServeDaemon()
        let fixtures = try ServeFixtures.make()
        // Eight idle sandboxes; new code drains them (torn down in the background), and SIGTERM follows at once.
        _ = try daemon.boto(try createCounter("drained") + """
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda _: c.invoke(FunctionName="drained", Payload=json.dumps({"sleep": 0.3})), range(8)))
            c.update_function_code(FunctionName="drained", ZipFile=open("\(fixtures)/counter-v2.zip", "rb").read())
            import os, signal
            os.kill(\(daemon.pid), signal.SIGTERM)
            """)
        XCTAssertEqual(daemon.stop(), 0)
        daemon.remove()
        XCTAssertEqual(Self.sandboxProcesses(), 0, "no sandbox outlives the daemon")
        XCTAssertEqual(HostResources.take(), before)
    }

    /// Processes in a sandbox's cgroup (named sb-<hex>) anywhere on the host.
    static func sandboxProcesses() -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { pid in
            Int(pid) != nil && ((try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? "").contains("/sb-")
        }.count
    }
}
