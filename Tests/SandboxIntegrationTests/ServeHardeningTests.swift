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

    func createCounter(_ name: String, memory: Int = 128, handler: String = "app.handler", publish: Bool = false) throws -> String {
        let fixtures = try ServeFixtures.make()
        return """
            c.create_function(FunctionName="\(name)", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", MemorySize=\(memory),
                              Handler="\(handler)", Code={"ZipFile": open("\(fixtures)/counter-v1.zip", "rb").read()}, Publish=\(publish ? "True" : "False"))

            """
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
