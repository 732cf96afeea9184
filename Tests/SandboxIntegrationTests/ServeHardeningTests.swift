import Foundation
import HearthCgroups
import HearthSandbox
import XCTest

/// Findings of hostile testing against a real daemon (issue #14), each driven with the clients a user or
/// an attacker has: boto3, curl, raw sockets. Each test failed on the daemon before its fix.
final class ServeHardeningTests: XCTestCase {
    override func setUpWithError() throws {
        try ServeDaemon.checkPrerequisites()
        _ = try ServeFixtures.make()
    }

    override class func tearDown() {
        ServeFixtures.remove()
    }

    /// Provisioned concurrency whose init fails is FAILED with AWS's reason, as on Lambda; and the daemon
    /// still stops on SIGTERM (it used to wait for good for the failed sandbox's teardown).
    func testProvisionedConcurrencyWhoseInitFailsIsFailedAndTheDaemonStillStops() throws {
        let daemon = try ServeDaemon()
        defer { daemon.remove() }
        let out = try daemon.boto(try createCounter("broken", handler: "missing_module.handler", publish: true) + """
            p = c.put_provisioned_concurrency_config(FunctionName="broken", Qualifier="1", ProvisionedConcurrentExecutions=1)
            out["put"] = p["Status"]
            for _ in range(300):
                g = c.get_provisioned_concurrency_config(FunctionName="broken", Qualifier="1")
                if g["Status"] != "IN_PROGRESS":
                    break
                time.sleep(0.1)
            out["status"] = g["Status"]
            out["reason"] = g.get("StatusReason")
            out["available"] = g["AvailableProvisionedConcurrentExecutions"]
            """)
        XCTAssertEqual(out["put"] as? String, "IN_PROGRESS")
        XCTAssertEqual(out["status"] as? String, "FAILED")
        XCTAssertEqual(out["reason"] as? String, "FUNCTION_ERROR_INIT_FAILURE")
        XCTAssertEqual(out["available"] as? Int, 0)
        let stopped = daemon.stop(within: 15)
        XCTAssertEqual(stopped.status, 0, "SIGTERM ends the daemon (it took \(stopped.seconds) s)")
    }

    /// The memory budget holds sandboxes until their teardown is over: cold starts that evict idle sandboxes
    /// used to start while the evicted ones were still alive (a burst reached 4,992 MB live against 4,096).
    /// Counted from the host: sandbox cgroups that exist at once, sampled every millisecond.
    func testColdStartsThatEvictNeverHoldMoreThanTheMemoryBudget() throws {
        let daemon = try ServeDaemon(arguments: ["--memory-budget", "512", "--prepared", "0"])
        defer { daemon.remove() }
        var setup = ""
        for n in 0..<8 { setup += try createCounter("evict\(n)") }
        _ = try daemon.boto(setup + """
            for n in range(4):
                c.invoke(FunctionName="evict%d" % n, Payload=b"{}")
            """)
        let sampler = CgroupSampler(parents: try Self.sandboxParents())
        let out = try daemon.boto("""
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                results = list(pool.map(lambda n: err(c.invoke, FunctionName="evict%d" % n, Payload=b"{}"), range(4, 8)))
            out["errors"] = [r for r in results if r]
            """)
        let most = sampler.stop()
        XCTAssertEqual((out["errors"] as? [Any])?.count, 0, "each cold start found room by evicting an idle sandbox: \(out)")
        XCTAssertGreaterThan(sampler.samples, 100)
        XCTAssertLessThanOrEqual(most, 4, "512 MB holds four 128 MB sandboxes, counting the ones still being torn down")
    }

    /// A fork bomb is killed at its deadline, not long after it, and other functions' warm invocations keep
    /// their latency meanwhile (the bomb used to end 0.55 s late while another function's invocations took
    /// up to 0.96 s). The bomb's processes are all gone soon after its answer.
    func testAForkBombEndsAtItsDeadlineWithoutSlowingOtherFunctions() throws {
        let daemon = try ServeDaemon()
        defer { daemon.remove() }
        let dir = daemon.base + "/bomb"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
            import os
            def handler(event, context):
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass
            """.write(toFile: dir + "/bomb.py", atomically: true, encoding: .utf8)
        let (zipped, zipOut) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-j", dir + "/bomb.zip", dir + "/bomb.py"])
        XCTAssertEqual(zipped, 0, zipOut)
        let out = try daemon.boto(try createCounter("calm") + """
            c.create_function(FunctionName="bomb", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", MemorySize=1024, Timeout=2,
                              Handler="bomb.handler", Code={"ZipFile": open("\(dir)/bomb.zip", "rb").read()})
            c.invoke(FunctionName="calm", Payload=b"{}")
            c.invoke(FunctionName="calm", Payload=b"{}")
            calm = []
            def bomb():
                started = time.time()
                r = c.invoke(FunctionName="bomb", Payload=b"{}")
                return time.time() - started, json.loads(r["Payload"].read())
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                future = pool.submit(bomb)
                while not future.done():
                    started = time.time()
                    c.invoke(FunctionName="calm", Payload=b"{}")
                    calm.append(time.time() - started)
                out["bomb_seconds"], out["bomb"] = future.result()
            out["calm"] = sorted(calm)
            """)
        let bombSeconds = try XCTUnwrap(out["bomb_seconds"] as? Double)
        XCTAssertEqual((out["bomb"] as? [String: Any])?["errorType"] as? String, "Sandbox.Timedout", "\(out)")
        let calm = try XCTUnwrap(out["calm"] as? [Double])
        let calmMax = calm.last ?? 0
        print("fork bomb: answered after \(bombSeconds) s (timeout 2 s); \(calm.count) warm invocations of another function meanwhile, "
              + "median \(calm[calm.count / 2] * 1000) ms, max \(calmMax * 1000) ms")
        XCTAssertLessThan(bombSeconds, 2.3, "the answer comes at the deadline")
        XCTAssertLessThan(calmMax, 0.25, "another function's warm invocations are not held up")
        // A thousand Python processes take a few seconds to exit on two CPUs (2 s was not always enough in CI).
        let gone = eventually(within: 15) { ServeLimitTests.sandboxProcesses() <= 5 }
        XCTAssertTrue(gone, "the bomb's processes are gone (\(ServeLimitTests.sandboxProcesses()) left in sandboxes)")
    }

    /// SIGTERM while the daemon is still starting stops it as one after its start would (exit 0, nothing left):
    /// the signal used to find no one watching for it yet.
    func testSIGTERMWhileStartingStopsTheDaemonCleanly() throws {
        let base = NSTemporaryDirectory() + "hearth-early-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let p = Process()
        p.executableURL = ServeDaemon.buildDirectory.appendingPathComponent("hearth")
        p.arguments = ["serve", "--listen", "127.0.0.1:0", "--url-listen", "127.0.0.1:0", "--socket", "none", "--state-dir", base + "/state", "--images-dir", RuntimeImages.directory]
        p.environment = ["HEARTH_RUNTIME_DIR": base + "/run", "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        // As soon as the daemon no longer dies of SIGTERM (it watches for it), or after 300 ms at the latest.
        let started = Date()
        while Date().timeIntervalSince(started) < 0.3 {
            let status = (try? String(contentsOfFile: "/proc/\(p.processIdentifier)/status", encoding: .utf8)) ?? ""
            let ignored = status.split(separator: "\n").first { $0.hasPrefix("SigIgn:") }.flatMap { UInt64($0.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) }
            if let ignored, ignored & (1 << (UInt64(SIGTERM) - 1)) != 0 { break }
            usleep(500)
        }
        kill(p.processIdentifier, SIGTERM)
        let stopped = eventually(within: 15) { !p.isRunning }
        if !stopped { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(stopped, "the daemon stopped (it printed: \(printed))")
        XCTAssertEqual(p.terminationReason, .exit, "it stopped by itself, not killed by the signal")
        XCTAssertEqual(p.terminationStatus, 0, printed)
        XCTAssertEqual(try Self.sandboxCgroupNames(), [], "nothing of it is left in any cgroup hierarchy")
    }

    /// A sandbox never outlives its daemon: after kill -9, busy, idle and prepared sandboxes are all gone
    /// within a second (12 of 15 busy ones used to keep running, unsupervised and without a deadline).
    func testNoSandboxOutlivesADaemonKilledWithSIGKILL() throws {
        let daemon = try ServeDaemon()
        defer { daemon.remove() }
        _ = try daemon.boto(try createCounter("orphan") + """
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                list(pool.map(lambda _: c.invoke(FunctionName="orphan", Payload=json.dumps({"sleep": 0.5})), range(3)))
            """)
        let busy = Process()
        busy.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        busy.arguments = ["-s", "-o", "/dev/null", "--max-time", "60", "-X", "POST", "--data", #"{"sleep": 30}"#,
                          daemon.endpoint + "/2015-03-31/functions/orphan/invocations"]
        try busy.run()
        defer { busy.terminate() }
        XCTAssertTrue(eventually(within: 10) {
            let status = (try? daemon.http("GET", "/hearth/v1/status"))?.2 ?? ""
            return status.contains("\"busy\":1")
        }, "one invocation is busy")
        XCTAssertGreaterThanOrEqual(ServeLimitTests.sandboxProcesses(), 8, "idle, busy and prepared sandboxes run")
        daemon.killExpectingEverySandboxGoneWithinASecond()
        // What a SIGKILL leaves (its root mounts, its cgroups) the next start removes.
        daemon.stop()
        try daemon.start()
        XCTAssertEqual(daemon.stop(), 0)
        let mounts = procFile("/proc/self/mountinfo")
        XCTAssertFalse(mounts.contains(daemon.runtimeDirectory), "no root of the killed daemon is left mounted")
    }

    /// kill -9 at several moments (idle, busy, mid-start, mid-teardown, mid-import): within a second no
    /// process of the dead daemon's sandboxes is alive, and once the daemon has started again nothing of
    /// the dead one is left in any cgroup hierarchy, the mount table or the state directory. An invocation
    /// cut off is recorded as failed in its function's log. (Every sandbox's cgroups used to stay for good.)
    func testKillMinusNineAtAnyMomentLeavesNothingOnceTheDaemonStartsAgain() throws {
        let before = HostResources.take()
        let fixtures = try ServeFixtures.make()
        let daemon = try ServeDaemon()
        // 24 MB that does not compress: an import that takes a while.
        let big = daemon.base + "/big"
        try FileManager.default.createDirectory(atPath: big, withIntermediateDirectories: true)
        var random = SystemRandomNumberGenerator()
        try Data((0..<(24 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: URL(fileURLWithPath: big + "/blob"))
        try FileManager.default.copyItem(atPath: fixtures + "/v1/app.py", toPath: big + "/app.py")
        XCTAssertEqual(try RuntimeImages.run("/usr/bin/zip", ["-q", "-0", "-r", daemon.base + "/big.zip", "."], cwd: big).0, 0)
        // A function whose init takes 5 s: a cold start long enough to be killed in the middle of.
        try FileManager.default.createDirectory(atPath: daemon.base + "/slow", withIntermediateDirectories: true)
        try "import time\ntime.sleep(5)\ndef handler(event, context):\n    return 1\n".write(toFile: daemon.base + "/slow/slow.py", atomically: true, encoding: .utf8)
        XCTAssertEqual(try RuntimeImages.run("/usr/bin/zip", ["-q", "-j", daemon.base + "/slow.zip", daemon.base + "/slow/slow.py"]).0, 0)
        _ = try daemon.boto(try createCounter("steady") + """
            c.update_function_configuration(FunctionName="steady", Timeout=60)
            c.create_function(FunctionName="cold", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", Handler="slow.handler",
                              Code={"ZipFile": open("\(daemon.base)/slow.zip", "rb").read()})
            """)
        /// The status of one function's pool (idle, busy, starting).
        func pool(_ function: String) -> [String: Any] {
            let text = (try? daemon.http("GET", "/hearth/v1/status"))?.2 ?? "{}"
            let status = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
            return ((status?["pools"] as? [[String: Any]]) ?? []).first { $0["function"] as? String == function } ?? [:]
        }

        func killAndRestart(_ moment: String, file: StaticString = #filePath, line: UInt = #line) throws {
            kill(daemon.pid, SIGKILL)
            let killed = Date()
            let gone = eventually(within: 5) { ServeLimitTests.sandboxProcesses() == 0 }
            let seconds = Date().timeIntervalSince(killed)
            XCTAssertTrue(gone && seconds < 1, "\(moment): sandbox processes outlived the daemon by \(seconds) s", file: file, line: line)
            daemon.stop()
            try daemon.start()
            XCTAssertEqual(try Self.sandboxCgroupNames(), [], "\(moment): the dead daemon's sandbox cgroups are gone", file: file, line: line)
            let roots = (try? FileManager.default.contentsOfDirectory(atPath: daemon.runtimeDirectory + "/roots")) ?? []
            XCTAssertEqual(roots.filter { !$0.hasPrefix("\(daemon.pid)-") }, [], "\(moment): the dead daemon's roots are gone", file: file, line: line)
            let mounts = procFile("/proc/self/mountinfo")
            XCTAssertFalse(mounts.contains(daemon.runtimeDirectory), "\(moment): nothing is mounted under the runtime directory", file: file, line: line)
            let code = (try? FileManager.default.contentsOfDirectory(atPath: daemon.stateDirectory + "/code")) ?? []
            XCTAssertEqual(code.filter { !$0.hasSuffix(".zip") }, [], "\(moment): no half-written upload", file: file, line: line)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: daemon.stateDirectory + "/store/tmp"), [],
                           "\(moment): no half-done import", file: file, line: line)
        }

        // Idle: a warm sandbox waiting on /next.
        _ = try daemon.boto("c.invoke(FunctionName=\"steady\", Payload=b\"{}\")")
        try killAndRestart("idle")

        // Busy: an invocation running (and its request id, to find in the log afterwards).
        let busy = Process()
        busy.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        busy.arguments = ["-s", "-D", "-", "-o", "/dev/null", "--max-time", "60", "-X", "POST", "--data", #"{"sleep": 30}"#,
                          daemon.endpoint + "/2015-03-31/functions/steady/invocations"]
        let busyOut = Pipe()
        busy.standardOutput = busyOut
        try busy.run()
        XCTAssertTrue(eventually(within: 15) { pool("steady")["busy"] as? Int == 1 }, "the invocation runs")
        try killAndRestart("busy")
        busy.waitUntilExit()
        try? busyOut.fileHandleForReading.close()
        let log = try daemon.http("GET", "/hearth/v1/functions/steady/logs").2
        XCTAssertTrue(log.contains("it was cut off") && log.contains("Status: error"), "the cut-off invocation is recorded: \(log.suffix(800))")

        // Mid-start: a cold start under way.
        let starting = Process()
        starting.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        starting.arguments = ["-s", "-o", "/dev/null", "--max-time", "60", "-X", "POST", "--data", "{}",
                              daemon.endpoint + "/2015-03-31/functions/cold/invocations"]
        try starting.run()
        XCTAssertTrue(eventually(within: 15) { pool("cold")["starting"] as? Int == 1 }, "the sandbox is starting")
        try killAndRestart("mid-start")
        starting.waitUntilExit()
        let coldLog = try daemon.http("GET", "/hearth/v1/functions/cold/logs").2
        XCTAssertTrue(coldLog.hasPrefix("START RequestId:") && coldLog.contains("it was cut off"),
                      "an invocation cut off while its sandbox started is recorded too: \(coldLog)")

        // Mid-teardown: new code drains six warm sandboxes, and the kill follows at once.
        _ = try daemon.boto("""
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                list(pool.map(lambda _: c.invoke(FunctionName="steady", Payload=json.dumps({"sleep": 0.3})), range(6)))
            c.update_function_code(FunctionName="steady", ZipFile=open("\(fixtures)/counter-v2.zip", "rb").read())
            import os, signal
            os.kill(\(daemon.pid), signal.SIGKILL)
            """)
        try killAndRestart("mid-teardown")

        // Mid-import: a 24 MB package being unpacked.
        let importing = Process()
        importing.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        importing.arguments = ["python3", "-c", """
            import boto3, botocore.config
            c = boto3.client("lambda", endpoint_url="\(daemon.endpoint)", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
                             config=botocore.config.Config(retries={"max_attempts": 0}, read_timeout=60))
            try:
                c.create_function(FunctionName="big", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/r", Handler="app.handler",
                                  Code={"ZipFile": open("\(daemon.base)/big.zip", "rb").read()})
            except Exception as e:
                print(e)
            """]
        try importing.run()
        XCTAssertTrue(eventually(within: 30) {
            ((try? FileManager.default.contentsOfDirectory(atPath: daemon.stateDirectory + "/store/tmp")) ?? []).count > 0
        }, "the import is under way")
        try killAndRestart("mid-import")
        importing.waitUntilExit()

        XCTAssertEqual(daemon.stop(), 0)
        daemon.remove()
        if ServeLimitTests.sandboxProcesses() > 0 {
            print("LEFT:", try RuntimeImages.run("/bin/sh", ["-c", "for p in $(ls /proc | grep -E '^[0-9]+$'); do grep -q /sb- /proc/$p/cgroup 2>/dev/null && echo $p $(cat /proc/$p/cmdline | tr '\\0' ' ') $(grep pids /proc/$p/cgroup); done"]).1)
        }
        XCTAssertEqual(ServeLimitTests.sandboxProcesses(), 0)
        XCTAssertEqual(HostResources.take(), before)
    }

    /// Sandbox cgroups (sb-*) below this process's cgroup in every hierarchy, v1 and v2.
    static func sandboxCgroupNames() throws -> [String] {
        let layout = try CgroupLayout.current()
        let own = layout.v1.map(\.ownDirectory) + (layout.unifiedOwnDirectory.map { [$0] } ?? [])
        return own.flatMap { dir in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/hearth")) ?? []).filter { $0.hasPrefix("sb-") }
        }.sorted()
    }

    /// A client context with text beyond ASCII reaches the function as the same text, in the Python and the
    /// Node.js runtime alike (it arrived as mojibake: UTF-8 read as Latin-1).
    func testAClientContextKeepsItsUnicodeText() throws {
        let fixtures = try ServeFixtures.make()
        let daemon = try ServeDaemon()
        defer { daemon.remove() }
        let out = try daemon.boto(try createCounter("ctx") + """
            c.create_function(FunctionName="nodectx", Runtime="nodejs20.x", Role="arn:aws:iam::123456789012:role/hearth",
                              Handler="index.handler", Code={"ZipFile": open("\(fixtures)/node.zip", "rb").read()})
            text = {"name": "Zoë ✓ 日本 🚀", "line": "a\\nb"}
            cc = base64.b64encode(json.dumps({"custom": text}, ensure_ascii=False, indent=1).encode()).decode()
            out["python"] = payload(c.invoke(FunctionName="ctx", ClientContext=cc, Payload=b"{}"))["custom"]
            out["node"] = payload(c.invoke(FunctionName="nodectx", ClientContext=cc, Payload=b"{}"))["custom"]
            out["sent"] = text
            """)
        let sent = try XCTUnwrap(out["sent"] as? [String: String])
        XCTAssertEqual(out["python"] as? [String: String], sent)
        XCTAssertEqual(out["node"] as? [String: String], sent)
    }

    /// An ImageUri names an image under the images directories only: a root-only path elsewhere is refused
    /// without saying whether it exists (the root daemon used to import it, and its files were then
    /// readable from the function), a symlink out of a root is refused, and a FIFO is refused at once (it
    /// used to hang every invocation until something wrote to it).
    func testImageURIsStayInsideTheImageDirectories() throws {
        let fixtures = try ServeFixtures.make()
        let daemon = try ServeDaemon(arguments: ["--image-dir", fixtures])
        defer { daemon.remove() }
        let secret = daemon.base + "/root-only"
        try FileManager.default.createDirectory(atPath: secret, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        XCTAssertEqual(try RuntimeImages.run("/bin/cp", ["-r", fixtures + "/fnimage", secret + "/fnimage"]).0, 0)
        let link = fixtures + "/escape-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: secret + "/fnimage")
        defer { unlink(link) }
        let fifo = fixtures + "/fifo-\(UUID().uuidString.prefix(6))"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        defer { unlink(fifo) }
        let out = try daemon.boto("""
            def create(name, uri):
                started = time.time()
                e = err(c.create_function, FunctionName=name, PackageType="Image", Role="arn:aws:iam::123456789012:role/r", Code={"ImageUri": uri})
                return {"error": e, "seconds": time.time() - started}
            out["inside"] = create("inside", "\(fixtures)/fnimage:fn")
            out["relative"] = create("relative", "fnimage:fn")
            out["secret"] = create("secret", "\(secret)/fnimage:fn")
            out["missing"] = create("missing", "\(secret)/no-such-image")
            out["dotdot"] = create("dotdot", "\(fixtures)/../\((secret as NSString).lastPathComponent)/fnimage:fn")
            out["symlink"] = create("symlink", "\(link):fn")
            out["fifo"] = create("fifo", "\(fifo)")
            """)
        func error(_ key: String) -> [String: Any]? { (out[key] as? [String: Any])?["error"] as? [String: Any] }
        XCTAssertTrue(error("inside") == nil && error("relative") == nil, "an image under a listed directory works, by path or by name: \(out)")
        let refusedSecret = try XCTUnwrap(error("secret")?["message"] as? String)
        let refusedMissing = try XCTUnwrap(error("missing")?["message"] as? String)
        XCTAssertTrue(refusedSecret.contains("must name an image under"), refusedSecret)
        XCTAssertEqual(refusedSecret.replacingOccurrences(of: "fnimage:fn", with: "X"), refusedMissing.replacingOccurrences(of: "no-such-image", with: "X"),
                       "an existing and a missing path outside the roots get the same answer")
        XCTAssertTrue((error("dotdot")?["message"] as? String ?? "").contains("must name an image under"), "\(out)")
        XCTAssertTrue((error("symlink")?["message"] as? String ?? "").contains("must name an image under"), "\(out)")
        XCTAssertTrue((error("fifo")?["message"] as? String ?? "").contains("is not an image"), "\(out)")
        XCTAssertLessThan((out["fifo"] as? [String: Any])?["seconds"] as? Double ?? 99, 2, "a FIFO is refused at once")

        // A client that cannot write to the image directories uploads the image (an OCI archive) instead,
        // with curl, or with `hearth deploy --image FILE`.
        let archive = daemon.base + "/fn-oci.tar"
        XCTAssertEqual(try RuntimeImages.run("/usr/bin/env", ["skopeo", "--insecure-policy", "copy", "-q", "oci:" + fixtures + "/fnimage:fn",
                                                             "oci-archive:" + archive]).0, 0)
        let (status, uploaded) = try RuntimeImages.run("/usr/bin/curl", ["-s", "-X", "PUT", "--data-binary", "@" + archive,
                                                                         daemon.endpoint + "/hearth/v1/images/uploaded-fn"])
        XCTAssertEqual(status, 0)
        XCTAssertTrue(uploaded.contains("\"ImageUri\":\"uploaded-fn\""), uploaded)
        let invoked = try daemon.boto("""
            c.create_function(FunctionName="fromupload", PackageType="Image", Role="arn:aws:iam::123456789012:role/r", Code={"ImageUri": "uploaded-fn"})
            out["count"] = payload(c.invoke(FunctionName="fromupload", Payload=b"{}"))["count"]
            """)
        XCTAssertEqual(invoked["count"] as? Int, 1)
        let cli = try runCLI(ServeDaemon.buildDirectory.appendingPathComponent("hearth"), ["deploy", "clideployed", "--image", archive],
                             environment: ["HEARTH_ENDPOINT": daemon.endpoint, "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        let viaCLI = try daemon.boto("out[\"count\"] = payload(c.invoke(FunctionName=\"clideployed\", Payload=b\"{}\"))[\"count\"]")
        XCTAssertEqual(viaCLI["count"] as? Int, 1)
    }

    /// Two daemons on one host never hand out the same uid (they used to), and a restarted daemon's
    /// sandboxes run under uids of its own block.
    func testTwoDaemonsOnOneHostNeverShareAUID() throws {
        let first = try ServeDaemon()
        defer { first.remove() }
        let second = try ServeDaemon()
        defer { second.remove() }
        let script = try createCounter("who") + """
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                out["uids"] = sorted(set(pool.map(lambda _: payload(c.invoke(FunctionName="who", Payload=json.dumps({"sleep": 0.5})))["uid"], range(3))))
            """
        let a = try XCTUnwrap(try first.boto(script)["uids"] as? [Int])
        let b = try XCTUnwrap(try second.boto(script)["uids"] as? [Int])
        XCTAssertEqual(a.count, 3, "three sandboxes at once, three uids")
        XCTAssertEqual(b.count, 3)
        XCTAssertTrue(Set(a).isDisjoint(with: b), "daemon 1 used \(a), daemon 2 \(b)")
        XCTAssertNotEqual(a[0] / 65_536, b[0] / 65_536, "each daemon has a block of its own")
    }

    /// Where sandbox cgroups are made for a daemon started by this process: `hearth` under our own cgroup,
    /// in the memory hierarchy.
    static func sandboxParents() throws -> [String] {
        let layout = try CgroupLayout.current()
        if let memory = layout.v1Directory(for: "memory") { return [memory + "/hearth"] }
        return [try XCTUnwrap(layout.unifiedOwnDirectory) + "/hearth"]
    }

    /// Provisioned concurrency is checked against the account's concurrency and the memory budget with
    /// Lambda's errors (100,000 used to be accepted and stay IN_PROGRESS for good).
    func testProvisionedConcurrencyIsCappedByTheAccountAndTheMemoryBudget() throws {
        let daemon = try ServeDaemon(arguments: ["--memory-budget", "1024"])
        defer { daemon.remove() }
        let out = try daemon.boto(try createCounter("prov", publish: true) + """
            out["huge"] = err(c.put_provisioned_concurrency_config, FunctionName="prov", Qualifier="1", ProvisionedConcurrentExecutions=100000)
            out["minimum"] = err(c.put_provisioned_concurrency_config, FunctionName="prov", Qualifier="1", ProvisionedConcurrentExecutions=950)
            out["memory"] = err(c.put_provisioned_concurrency_config, FunctionName="prov", Qualifier="1", ProvisionedConcurrentExecutions=9)
            out["fits"] = err(c.put_provisioned_concurrency_config, FunctionName="prov", Qualifier="1", ProvisionedConcurrentExecutions=2)
            """)
        let huge = try XCTUnwrap(out["huge"] as? [String: Any])
        XCTAssertEqual(huge["code"] as? String, "InvalidParameterValueException")
        XCTAssertEqual(huge["message"] as? String, "Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [1000].")
        let minimum = try XCTUnwrap(out["minimum"] as? [String: Any])
        XCTAssertEqual(minimum["message"] as? String,
                       "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].")
        let memory = try XCTUnwrap(out["memory"] as? [String: Any])
        XCTAssertEqual(memory["code"] as? String, "InvalidParameterValueException")
        XCTAssertTrue((memory["message"] as? String ?? "").contains("memory budget"), "\(memory)")
        XCTAssertTrue(out["fits"] is NSNull, "\(out)")
    }

    /// Alias routing as Lambda validates it (weights of 0.9 + 0.9 on two versions used to be accepted, and
    /// the alias's own version then never ran).
    func testAliasRoutingIsValidatedAsLambdaDoes() throws {
        let daemon = try ServeDaemon()
        defer { daemon.remove() }
        let out = try daemon.boto(try createCounter("routed", publish: true) + """
            c.update_function_configuration(FunctionName="routed", MemorySize=256)
            c.publish_version(FunctionName="routed")
            c.update_function_configuration(FunctionName="routed", MemorySize=512)
            c.publish_version(FunctionName="routed")
            out["two"] = err(c.create_alias, FunctionName="routed", Name="a", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.9, "3": 0.9}})
            out["high"] = err(c.create_alias, FunctionName="routed", Name="a", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 2.0}})
            out["same"] = err(c.create_alias, FunctionName="routed", Name="a", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}})
            out["latest"] = err(c.create_alias, FunctionName="routed", Name="a", FunctionVersion="$LATEST", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
            out["latest_key"] = err(c.create_alias, FunctionName="routed", Name="a", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"$LATEST": 0.5}})
            out["ok"] = err(c.create_alias, FunctionName="routed", Name="a", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
            """)
        func error(_ key: String) -> (String?, String?) {
            let e = out[key] as? [String: Any]
            return (e?["code"] as? String, e?["message"] as? String)
        }
        XCTAssertEqual(error("two").0, "InvalidParameterValueException")
        XCTAssertEqual(error("two").1, "Number of items in AdditionalVersionWeights cannot be greater than 1")
        XCTAssertEqual(error("high").0, "ValidationException")
        XCTAssertEqual(error("high").1, "1 validation error detected: Value '{2=2.0}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: "
                        + "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
        XCTAssertEqual(error("same").1, "Invalid function version 1. Function version 1 is already included in routing configuration.")
        XCTAssertEqual(error("latest").1, "$LATEST is not supported for an alias pointing to more than 1 version")
        XCTAssertEqual(error("latest_key").0, "ValidationException")
        XCTAssertTrue(out["ok"] is NSNull, "\(out)")
    }
}

/// Counts the sandbox cgroups (sb-*) under `parents` every millisecond on a thread of its own; `stop`
/// returns the most seen at once.
final class CgroupSampler: @unchecked Sendable {
    private let lock = NSLock()
    private let parents: [String]
    private var running = true
    private var most = 0
    private(set) var samples = 0

    init(parents: [String]) {
        self.parents = parents
        Thread { [self] in loop() }.start()
    }

    private func loop() {
        while lock.withLock({ running }) {
            let count = parents.reduce(0) { total, parent in
                total + ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter { $0.hasPrefix("sb-") }.count
            }
            lock.withLock {
                most = max(most, count)
                samples += 1
            }
            usleep(1000)
        }
    }

    func stop() -> Int {
        lock.withLock { running = false }
        usleep(20_000)
        return lock.withLock { most }
    }
}
