import Foundation
import HearthSandbox
import XCTest

/// `hearth compare` end to end: a function deployed on a real daemon (fetched through the API),
/// replayed from a sparse CSV trace serverless and always-on in real sandboxes, its JSON checked for
/// every field and for numbers that agree, its HTML opened in headless Chromium; and the command's
/// refusals, which need no root.
final class CompareTests: XCTestCase {
    static var hearth: URL { ServeDaemon.buildDirectory.appendingPathComponent("hearth") }
    var scratch = ""

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "hearth-compare-test-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }

    func testADeployedFunctionComparedOnASparseTrace() throws {
        try ServeDaemon.checkPrerequisites()
        let daemon = try ServeDaemon()
        defer {
            daemon.remove()
            ServeFixtures.remove()
        }
        _ = try daemon.boto(try createCounter("sparse"))
        // Five minutes of trace time, 20 times faster: 15 s an arm. With a one-minute keep-alive the
        // serverless arm starts cold at 0, 120 and 250 and holds nothing in between.
        let trace = scratch + "/arrivals.csv"
        try "seconds\n0\n40\n45\n120\n250\n290\n".write(toFile: trace, atomically: true, encoding: .utf8)
        let out = scratch + "/report"
        let before = HostResources.Inventory.take()
        let r = try runCLI(Self.hearth, ["compare", "sparse", "--trace", trace, "--speedup", "20", "--idle-timeout", "60", "--environments", "2",
                                         "--out", out, "--endpoint", daemon.endpoint, "--json"],
                           environment: ["HEARTH_IMAGES_DIR": RuntimeImages.directory, "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = r.json
        let fromFile = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/comparison.json"))) as? [String: Any]
        XCTAssertEqual(fromFile?["verdict"] as? String, json["verdict"] as? String, "the file holds what was printed")
        let s = try XCTUnwrap(json["serverless"] as? [String: Any]), a = try XCTUnwrap(json["alwaysOn"] as? [String: Any])
        for arm in [s, a] {
            for field in ["requests", "succeeded", "functionErrors", "throttles", "failures", "coldStarts", "coldStartShare", "latency",
                          "billedDurationMs", "reservedGBSeconds", "usedGBSeconds", "cpuSeconds", "peakEnvironments", "bill", "driverLag",
                          "timeline", "latencyCDF"] {
                XCTAssertNotNil(arm[field], "\(arm["arm"] ?? "?") has no \(field)")
            }
            let latency = try XCTUnwrap(arm["latency"] as? [String: Double])
            XCTAssertEqual(Set(latency.keys), ["p50Ms", "p90Ms", "p99Ms", "p999Ms", "maxMs"])
            XCTAssertEqual(arm["requests"] as? Int, 6)
            XCTAssertEqual(arm["succeeded"] as? Int, 6)
            XCTAssertGreaterThan(arm["usedGBSeconds"] as? Double ?? 0, 0, "memory used is read from the sandboxes' cgroups")
        }
        XCTAssertNotNil(json["breakEvenRequestsPerSecond"])
        XCTAssertTrue((json["verdict"] as? String ?? "").contains("cheaper"), "\(json["verdict"] ?? "")")
        // What a sparse trace shows: serverless holds less memory; always-on never starts cold.
        XCTAssertLessThan(s["reservedGBSeconds"] as? Double ?? 1e9, a["reservedGBSeconds"] as? Double ?? 0)
        XCTAssertEqual(a["coldStarts"] as? Int, 0)
        XCTAssertEqual(s["coldStarts"] as? Int, 3, "cold at 0, 120 and 250 with a 60 s keep-alive")
        // Two 128 MB environments held for the trace's 290 s.
        XCTAssertEqual(a["reservedGBSeconds"] as? Double ?? 0, 2 * 0.125 * 290, accuracy: 2 * 0.125 * 290 * 0.1)
        // Lambda's bill: billed GB-seconds are the billed durations times the memory.
        let billed = Double(s["billedDurationMs"] as? Int ?? 0)
        let bill = try XCTUnwrap(s["bill"] as? [String: Any])
        XCTAssertEqual(bill["billedGBSeconds"] as? Double ?? 0, billed / 1000 * 128 / 1024, accuracy: 1e-12)
        XCTAssertEqual(bill["model"] as? String, "lambda")
        XCTAssertEqual((a["bill"] as? [String: Any])?["model"] as? String, "capacity")
        // By name, not by count: the comparison's engine may also sweep what a killed process left.
        XCTAssertEqual(HostResources.Inventory.take().added(since: before), [], "the comparison's sandboxes and mounts are all gone")

        try assertOpensInChromium(out + "/report.html")
    }

    /// Always-on environments that each serve several requests at once (AWS_LAMBDA_MAX_CONCURRENCY): eight
    /// requests of 600 ms arriving together are all served at once by 2 x 4 places, by Python's workers
    /// (processes) and by Node.js's (async loops in one process). Were each environment one at a time,
    /// the last would wait three durations.
    func testAlwaysOnEnvironmentsServeSeveralRequestsAtOnce() throws {
        try ServeDaemon.checkPrerequisites()
        let trace = scratch + "/burst.csv"
        try "seconds,duration_ms\n".appending((0..<8).map { "0.\($0),600\n" }.joined()).write(toFile: trace, atomically: true, encoding: .utf8)
        let node = scratch + "/node"
        try FileManager.default.createDirectory(atPath: node, withIntermediateDirectories: true)
        try """
            exports.handler = async (event, context) => {
              console.log('working');
              await new Promise((resolve) => setTimeout(resolve, 600));
              return context.awsRequestId;
            };
            """.write(toFile: node + "/index.js", atomically: true, encoding: .utf8)
        let (zipped, zipOut) = try RuntimeImages.run("/usr/bin/zip", ["-q", node + "/fn.zip", "index.js"], cwd: node)
        guard zipped == 0 else { throw XCTSkip("zip failed: \(zipOut)") }
        let before = HostResources.Inventory.take()
        for (name, function) in [("python", ["--builtin", "sleep"]),
                                 ("node", ["--zip", node + "/fn.zip", "--runtime", "nodejs18.x", "--handler", "index.handler"])] {
            let r = try runCLI(Self.hearth, ["compare"] + function + ["--trace", trace, "--environments", "2", "--per-environment", "4",
                                                                      "--out", scratch + "/" + name, "--json"],
                               environment: ["HEARTH_IMAGES_DIR": RuntimeImages.directory, "PATH": "/usr/bin:/bin"])
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            let a = try XCTUnwrap(r.json["alwaysOn"] as? [String: Any], name)
            XCTAssertEqual(a["perEnvironment"] as? Int, 4)
            XCTAssertEqual(a["succeeded"] as? Int, 8, "\(name): \(a)")
            XCTAssertEqual(a["coldStarts"] as? Int, 0, name)
            XCTAssertEqual(a["peakEnvironments"] as? Int, 2, name)
            let latency = try XCTUnwrap(a["latency"] as? [String: Double], name)
            // All eight at once: each about one duration. One at a time per environment, the last would take four.
            XCTAssertGreaterThan(latency["maxMs"] ?? 0, 590, name)
            XCTAssertLessThan(latency["maxMs"] ?? .infinity, 1_500, "\(name): served at once, not in turn (\(latency))")
        }
        XCTAssertEqual(HostResources.Inventory.take().added(since: before), [], "the comparison's sandboxes and mounts are all gone")
    }

    /// A timeout cannot stop one invocation without stopping its siblings in the same runtime: the one
    /// that hangs is answered Sandbox.Timedout at its deadline while the one beside it, still running, is
    /// answered as usual, and the environment is retired and replaced afterwards. (Were the environment
    /// killed at the timeout, as a one-at-a-time environment is, the second would fail with it.)
    func testATimeoutInASharedEnvironmentLeavesItsSiblingRunning() throws {
        try ServeDaemon.checkPrerequisites()
        let trace = scratch + "/two.csv"
        try "seconds\n0\n2.5\n".write(toFile: trace, atomically: true, encoding: .utf8)
        let node = scratch + "/node"
        try FileManager.default.createDirectory(atPath: node, withIntermediateDirectories: true)
        // An environment's first invocation hangs past the 3 s timeout; the others take 1 s.
        try """
            let calls = 0;
            exports.handler = async () => {
              calls += 1;
              await new Promise((resolve) => setTimeout(resolve, calls === 1 ? 60000 : 1000));
              return 'done';
            };
            """.write(toFile: node + "/index.js", atomically: true, encoding: .utf8)
        let (zipped, zipOut) = try RuntimeImages.run("/usr/bin/zip", ["-q", node + "/fn.zip", "index.js"], cwd: node)
        guard zipped == 0 else { throw XCTSkip("zip failed: \(zipOut)") }
        let before = HostResources.Inventory.take()
        let started = Date()
        let r = try runCLI(Self.hearth, ["compare", "--zip", node + "/fn.zip", "--runtime", "nodejs18.x", "--handler", "index.handler",
                                         "--trace", trace, "--environments", "1", "--per-environment", "4", "--out", scratch + "/out", "--json"],
                           environment: ["HEARTH_IMAGES_DIR": RuntimeImages.directory, "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try XCTUnwrap(r.json["alwaysOn"] as? [String: Any])
        XCTAssertEqual(a["succeeded"] as? Int, 1, "the sibling was answered: \(a)")
        XCTAssertEqual((a["functionErrors"] as? Int ?? 0) + (a["failures"] as? Int ?? 0), 1, "the hung one timed out: \(a)")
        // The latencies are the answered requests': the sibling's, which ran its second to the end.
        let latency = try XCTUnwrap(a["latency"] as? [String: Double])
        XCTAssertEqual(latency["maxMs"] ?? 0, 1_000, accuracy: 400, "\(latency)")
        // The whole run (both arms) took seconds: the hung invocation was answered at its deadline, not after 60 s.
        XCTAssertLessThan(Date().timeIntervalSince(started), 55)
        XCTAssertEqual(HostResources.Inventory.take().added(since: before), [], "the retired environment and its replacement are gone")
    }

    /// The report in a real browser: four charts drawn (each with lines), and a screenshot taken.
    func assertOpensInChromium(_ html: String) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else {
            print("CompareTests: skipping the browser check: /usr/bin/chromium is not installed (scripts/setup installs it)")
            return
        }
        let flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + scratch + "/chromium"]
        let (dumped, dom) = try RuntimeImages.run("/usr/bin/chromium", flags + ["--dump-dom", "file://" + html])
        XCTAssertEqual(dumped, 0, dom.suffix(500).description)
        XCTAssertEqual(dom.components(separatedBy: "<svg class=\"chart\"").count - 1, 4, "four charts in the rendered page")
        XCTAssertGreaterThanOrEqual(dom.components(separatedBy: "class=\"series\"").count - 1, 8, "with their lines")
        let shot = scratch + "/report.png"
        let (status, out) = try RuntimeImages.run("/usr/bin/chromium", flags + ["--window-size=1360,1500", "--screenshot=" + shot, "file://" + html])
        XCTAssertEqual(status, 0, out.suffix(500).description)
        let size = (try? FileManager.default.attributesOfItem(atPath: shot)[.size] as? Int) ?? 0
        XCTAssertGreaterThan(size, 20_000, "a screenshot with something on it")
    }

    func testMistakesAreRefusedBeforeAnythingRuns() throws {
        let bad = scratch + "/bad.csv"
        try "1\n2\nsoon\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--builtin", "sleep", "--trace", bad], "bad.csv:3: 'soon' is not an arrival time in seconds"),
            (["--builtin", "nap", "--trace", "steady:1"], "--builtin must be sleep or busy, got 'nap'"),
            (["f", "--builtin", "sleep", "--trace", "steady:1"], "give one function"),
            (["--zip", "f.zip", "--trace", "steady:1"], "--zip needs --runtime and --handler"),
            (["--builtin", "sleep", "--trace", "steady:1", "--speedup", "0"], "--speedup must be above 0"),
            (["--builtin", "sleep", "--trace", "steady:1", "--per-environment", "33"], "--per-environment must be from 1 to 32, got 33"),
            (["--builtin", "sleep", "--trace", "bursty:1,2", "--dry-run"], "expected bursty:BASE,PEAK,EVERY,FOR"),
            (["--builtin", "sleep", "--trace", "steady:1", "--keep-alive-policy", "lru"], "--keep-alive-policy must be fixed or hybrid"),
            (["--builtin", "sleep", "--trace", "steady:1", "--duration=-5"], "--duration must be a positive time"),
            (["--builtin", "sleep", "--trace", "steady:1", "--gb-hour-price=-1"], "--gb-hour-price must be a price from 0"),
            (["--builtin", "sleep", "--trace", "steady:1", "--memory", "64"], "--memory must be from 128 to 10240 MB, got 64"),
        ]
        for (args, fragment) in cases {
            let r = try runCLI(Self.hearth, ["compare"] + args, environment: ["PATH": "/usr/bin:/bin"])
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(fragment), "\(args.joined(separator: " ")): \(r.stderr)")
        }
    }

    func testTheDryRunPrintsThePlan() throws {
        let r = try runCLI(Self.hearth, ["compare", "--builtin", "sleep", "--trace", "sparse:5m", "--duration", "6h", "--speedup", "60",
                                         "--work-ms", "20", "--keep-alive-policy", "hybrid", "--dry-run", "--json"], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json["keepAlivePolicy"] as? String, "hybrid")
        XCTAssertEqual(r.json["expectedSeconds"] as? Double ?? 0, 2 * 6 * 3600 / 60, accuracy: 1)
        XCTAssertEqual((r.json["summary"] as? [String: Any])?["spanSeconds"] as? Double, 6 * 3600)
        XCTAssertEqual(r.json["environments"] as? Int, 1)
        let text = try runCLI(Self.hearth, ["compare", "--builtin", "busy", "--trace", "steady:50", "--duration", "1m", "--dry-run"],
                              environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertTrue(text.stdout.contains("3000 requests over 1.0 min"), text.stdout)
        XCTAssertTrue(text.stdout.contains("always-on"), text.stdout)
    }
}
