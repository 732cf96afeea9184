import Foundation
import XCTest

/// Asynchronous invocation through a real daemon, driven by boto3 and the aws CLI: the durable queue,
/// Lambda's retries (delays scaled down by the daemon's async_delay_scale), destinations that are
/// functions, failures kept for `hearth events`, and a kill -9 in the middle of a thousand events.
final class ServeAsyncTests: XCTestCase {
    nonisolated(unsafe) static var daemon: ServeDaemon?
    nonisolated(unsafe) static var setupError: Error?
    nonisolated(unsafe) static var fixtures = ""

    /// `flaky` fails as often as its event asks (counted per request id in the warm sandbox), `sleepy`
    /// sleeps, `audit` prints every record it gets. Each line is one write: the lines of sandboxes that
    /// run at once share the function's log, and print's separate writes of text and newline interleave.
    static let code = """
        import json, sys, time
        def say(text):
            sys.stdout.write(text + "\\n")
            sys.stdout.flush()
        tries = {}
        def flaky(event, context):
            n = tries[context.aws_request_id] = tries.get(context.aws_request_id, 0) + 1
            if n <= event.get("fail_times", 0):
                raise Exception("attempt %d fails" % n)
            say("DONE " + context.aws_request_id)
            return {"attempt": n}
        def sleepy(event, context):
            time.sleep(event.get("sleep", 0))
            if event.get("fail"):
                raise Exception("asked to fail")
            say("DONE " + context.aws_request_id)
            return {}
        def audit(event, context):
            say("RECORD " + json.dumps(event))
            return {}
        """

    override class func setUp() {
        do {
            try ServeDaemon.checkPrerequisites()
            let dir = try makeFixtures()
            try "async_delay_scale: 0.01\n".write(toFile: dir + "/hearth.yaml", atomically: true, encoding: .utf8)
            fixtures = dir
            daemon = try ServeDaemon(arguments: ["--config", dir + "/hearth.yaml"])
        } catch { setupError = error }
    }

    /// A directory with app.zip (`code` as app.py); the caller removes it.
    static func makeFixtures() throws -> String {
        let dir = NSTemporaryDirectory() + "hearth-async-fixtures-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        try code.write(toFile: dir + "/src/app.py", atomically: true, encoding: .utf8)
        let (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", dir + "/app.zip", "."], cwd: dir + "/src")
        guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
        return dir
    }

    override class func tearDown() {
        daemon?.remove()
        daemon = nil
        if !fixtures.isEmpty { try? FileManager.default.removeItem(atPath: fixtures) }
    }

    override func setUpWithError() throws {
        if let error = Self.setupError { throw error }
    }

    func d() throws -> ServeDaemon { try XCTUnwrap(Self.daemon) }

    /// Python creating `name` with handler app.`handler`.
    func create(_ name: String, _ handler: String, extra: String = "") -> String {
        """
        c.create_function(FunctionName="\(name)", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", Handler="app.\(handler)",
                          Code={"ZipFile": open("\(Self.fixtures)/app.zip", "rb").read()}\(extra))

        """
    }

    func log(_ daemon: ServeDaemon, _ function: String) throws -> String {
        try daemon.http("GET", "/hearth/v1/functions/\(function)/logs").2
    }

    /// The records `audit` printed, once at least `count` have.
    func records(_ daemon: ServeDaemon, _ function: String = "audit", count: Int = 1, within seconds: Double = 60) throws -> [[String: Any]] {
        var found: [[String: Any]] = []
        _ = eventually(within: seconds) {
            let text = (try? self.log(daemon, function)) ?? ""
            found = text.split(separator: "\n").compactMap { line in
                guard let range = line.range(of: "RECORD ") else { return nil }
                return try? JSONSerialization.jsonObject(with: Data(line[range.upperBound...].utf8)) as? [String: Any]
            }
            return found.count >= count
        }
        return found
    }

    func starts(_ text: String, _ requestId: String) -> Int {
        text.components(separatedBy: "START RequestId: \(requestId)").count - 1
    }

    func testAnEventThatFailsTwiceThenSucceedsRunsThreeTimesAndItsSuccessRecordReachesOnSuccess() throws {
        let daemon = try d()
        let out = try daemon.boto(create("flaky", "flaky") + create("audit", "audit") + """
            arn = c.get_function(FunctionName="audit")["Configuration"]["FunctionArn"]
            cfg = c.put_function_event_invoke_config(FunctionName="flaky", DestinationConfig={"OnSuccess": {"Destination": arn}})
            out["config"] = {"arn": cfg["FunctionArn"], "retries": cfg.get("MaximumRetryAttempts"), "success": cfg["DestinationConfig"]["OnSuccess"]}
            r = c.invoke(FunctionName="flaky", InvocationType="Event", Payload=json.dumps({"fail_times": 2}))
            out["status"] = r["StatusCode"]
            out["request_id"] = r["ResponseMetadata"]["RequestId"]
            """)
        XCTAssertEqual(out["status"] as? Int, 202)
        let config = out["config"] as? [String: Any]
        XCTAssertEqual(config?["arn"] as? String, "arn:aws:lambda:us-east-1:000000000000:function:flaky:$LATEST")
        XCTAssertTrue(config?["retries"] is NSNull, "a field that was not put is not answered")
        let requestId = try XCTUnwrap(out["request_id"] as? String)

        let auditLog = try log(daemon, "audit")
        let record = try XCTUnwrap(try records(daemon).first, "the success record reached audit: \(auditLog)")
        let context = record["requestContext"] as? [String: Any]
        XCTAssertEqual(context?["condition"] as? String, "Success")
        XCTAssertEqual(context?["requestId"] as? String, requestId)
        XCTAssertEqual(context?["approximateInvokeCount"] as? Int, 3)
        XCTAssertEqual((record["requestPayload"] as? [String: Any])?["fail_times"] as? Int, 2)
        XCTAssertEqual((record["responsePayload"] as? [String: Any])?["attempt"] as? Int, 3)
        XCTAssertEqual(starts(try log(daemon, "flaky"), requestId), 3, "the event ran three times under its request id")
    }

    func testAnEventThatAlwaysFailsReachesOnFailureWithRetriesExhaustedThroughTheAwsCLI() throws {
        let daemon = try d()
        _ = try daemon.boto(create("doomed", "flaky") + create("graveyard", "audit"))
        let target = "arn:aws:lambda:us-east-1:000000000000:function:graveyard"
        var (status, text) = try daemon.aws(["lambda", "put-function-event-invoke-config", "--function-name", "doomed", "--maximum-retry-attempts", "2",
                                             "--destination-config", #"{"OnFailure":{"Destination":"\#(target)"}}"#])
        XCTAssertEqual(status, 0, text)
        (status, text) = try daemon.aws(["lambda", "invoke", "--function-name", "doomed", "--invocation-type", "Event", "--payload", #"{"fail_times": 9}"#, daemon.base + "/out.json"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("202"), text)
        let record = try XCTUnwrap(try records(daemon, "graveyard").first, "the failure record reached graveyard")
        let context = record["requestContext"] as? [String: Any]
        XCTAssertEqual(context?["condition"] as? String, "RetriesExhausted")
        XCTAssertEqual(context?["approximateInvokeCount"] as? Int, 3)
        XCTAssertEqual(context?["functionArn"] as? String, "arn:aws:lambda:us-east-1:000000000000:function:doomed:$LATEST")
        XCTAssertEqual((record["responseContext"] as? [String: Any])?["functionError"] as? String, "Unhandled")
        XCTAssertEqual((record["responsePayload"] as? [String: Any])?["errorMessage"] as? String, "attempt 3 fails")
        let requestId = try XCTUnwrap(context?["requestId"] as? String)
        XCTAssertEqual(starts(try log(daemon, "doomed"), requestId), 3)
    }

    /// The configuration API answers as AWS did in the recorded scenarios (shapes, merges, errors).
    func testEventInvokeConfigAnswersAsAWS() throws {
        let daemon = try d()
        let out = try daemon.boto(create("configured", "flaky", extra: ", Publish=True") + create("other", "audit") + """
            c.create_alias(FunctionName="configured", Name="live", FunctionVersion="1")
            put = c.put_function_event_invoke_config(FunctionName="configured", MaximumEventAgeInSeconds=60)
            out["put"] = {k: put.get(k) for k in ["MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"]}
            up = c.update_function_event_invoke_config(FunctionName="configured", MaximumRetryAttempts=1)
            out["update"] = {k: up.get(k) for k in ["MaximumRetryAttempts", "MaximumEventAgeInSeconds"]}
            c.put_function_event_invoke_config(FunctionName="configured", Qualifier="1", MaximumRetryAttempts=1)
            c.put_function_event_invoke_config(FunctionName="configured:live", MaximumRetryAttempts=0)
            out["list"] = [x["FunctionArn"].split(":")[-1] for x in c.list_function_event_invoke_configs(FunctionName="configured")["FunctionEventInvokeConfigs"]]
            out["last_modified"] = str(type(up["LastModified"]).__name__)
            out["none"] = err(c.put_function_event_invoke_config, FunctionName="configured")
            out["retries"] = err(c.put_function_event_invoke_config, FunctionName="configured", MaximumRetryAttempts=3)
            out["self"] = err(c.put_function_event_invoke_config, FunctionName="configured",
                              DestinationConfig={"OnSuccess": {"Destination": "arn:aws:lambda:us-east-1:000000000000:function:configured"}})
            out["missing_target"] = err(c.put_function_event_invoke_config, FunctionName="configured",
                                        DestinationConfig={"OnSuccess": {"Destination": "arn:aws:lambda:us-east-1:000000000000:function:nope"}})
            out["iam"] = err(c.put_function_event_invoke_config, FunctionName="configured",
                             DestinationConfig={"OnSuccess": {"Destination": "arn:aws:iam:us-east-1:000000000000:function:other"}})
            out["mismatch"] = err(c.put_function_event_invoke_config, FunctionName="configured:live", Qualifier="1", MaximumRetryAttempts=0)
            out["no_function"] = err(c.put_function_event_invoke_config, FunctionName="nope", MaximumRetryAttempts=0)
            out["no_alias"] = err(c.put_function_event_invoke_config, FunctionName="configured", Qualifier="nope", MaximumRetryAttempts=0)
            c.delete_function_event_invoke_config(FunctionName="configured", Qualifier="live")
            out["get_deleted"] = err(c.get_function_event_invoke_config, FunctionName="configured", Qualifier="live")
            out["update_missing"] = err(c.update_function_event_invoke_config, FunctionName="configured", Qualifier="live", MaximumRetryAttempts=0)
            c.delete_alias(FunctionName="configured", Name="live")
            c.delete_function(FunctionName="configured", Qualifier="1")
            out["after_version_delete"] = err(c.get_function_event_invoke_config, FunctionName="configured", Qualifier="1")
            """)
        XCTAssertEqual(out["put"] as? NSDictionary, ["MaximumRetryAttempts": NSNull(), "MaximumEventAgeInSeconds": 60,
                                                     "DestinationConfig": ["OnSuccess": [:], "OnFailure": [:]]] as NSDictionary)
        XCTAssertEqual(out["update"] as? NSDictionary, ["MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60] as NSDictionary, "an update merges")
        XCTAssertEqual(out["list"] as? [String], ["$LATEST", "1", "live"])
        XCTAssertEqual(out["last_modified"] as? String, "datetime")
        func error(_ key: String) -> (String?, String?, Int?) {
            let e = out[key] as? [String: Any]
            return (e?["code"] as? String, e?["message"] as? String, e?["status"] as? Int)
        }
        XCTAssertEqual(error("none").1, "You must specify at least one of error handling or destination setting.")
        XCTAssertEqual(error("retries").0, "ValidationException")
        XCTAssertEqual(error("retries").1,
                       "1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2")
        // botocore refuses 59 itself, before sending: the daemon's own check, over plain HTTP.
        let (ageStatus, _, ageBody) = try daemon.http("PUT", "/2019-09-25/functions/configured/event-invoke-config",
                                                      body: #"{"MaximumEventAgeInSeconds": 59}"#)
        XCTAssertEqual(ageStatus, 400)
        XCTAssertTrue(ageBody.contains("Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"),
                      ageBody)
        XCTAssertEqual(error("self").1, "You can't specify the function as a destination for itself.")
        XCTAssertEqual(error("missing_target").1, "The destination ARN arn:aws:lambda:us-east-1:000000000000:function:nope is invalid.")
        XCTAssertEqual(error("iam").1,
                       "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=arn:aws:iam:us-east-1:000000000000:function:other), onFailure=null) is invalid.")
        XCTAssertEqual(error("mismatch").1, "The derived qualifier from the function name does not match the specified qualifier.")
        XCTAssertEqual(error("no_function").2, 404)
        XCTAssertEqual(error("no_function").1, "The function doesn't exist.")
        XCTAssertEqual(error("no_alias").1, "The function doesn't exist.")
        XCTAssertEqual(error("get_deleted").1,
                       "The function arn:aws:lambda:us-east-1:000000000000:function:configured:live doesn't have an EventInvokeConfig")
        XCTAssertEqual(error("update_missing").2, 404)
        XCTAssertEqual(error("after_version_delete").2, 404, "a version's configuration goes with it")
    }

    /// Ten events to a function that may run one at a time: each runs exactly once, none is lost to a throttle.
    func testEventsSentWhileThrottledAllRunOnceConcurrencyFrees() throws {
        let daemon = try d()
        let out = try daemon.boto(create("narrow", "sleepy") + """
            c.put_function_concurrency(FunctionName="narrow", ReservedConcurrentExecutions=1)
            out["ids"] = [c.invoke(FunctionName="narrow", InvocationType="Event", Payload=json.dumps({"sleep": 0.2}))["ResponseMetadata"]["RequestId"]
                          for _ in range(10)]
            """)
        let ids = try XCTUnwrap(out["ids"] as? [String])
        var text = ""
        XCTAssertTrue(eventually(within: 60) {
            text = (try? self.log(daemon, "narrow")) ?? ""
            return ids.allSatisfy { text.contains("DONE \($0)") }
        }, "every event ran: \(text.suffix(2000))")
        for id in ids { XCTAssertEqual(starts(text, id), 1, "\(id) ran once") }
        let metrics = try daemon.http("GET", "/metrics").2
        XCTAssertTrue(metrics.contains(#"hearth_async_attempts_total{function="narrow"}"#), metrics)
    }

    /// A failure with nowhere to go is kept: `hearth events` lists it, --redrive runs it again, --delete drops it.
    func testUndeliverableFailuresAreListedRedrivenAndDeleted() throws {
        let daemon = try d()
        let out = try daemon.boto(create("lonely", "flaky") + """
            c.put_function_event_invoke_config(FunctionName="lonely", MaximumRetryAttempts=0)
            out["id"] = c.invoke(FunctionName="lonely", InvocationType="Event", Payload=json.dumps({"fail_times": 1}))["ResponseMetadata"]["RequestId"]
            """)
        let requestId = try XCTUnwrap(out["id"] as? String)
        let hearth = ServeDaemon.buildDirectory.appendingPathComponent("hearth")
        let env = ["PATH": "/usr/bin:/bin"]
        var listed = ""
        XCTAssertTrue(eventually(within: 30) {
            listed = (try? runCLI(hearth, ["events", "lonely", "--endpoint", daemon.endpoint], environment: env).stdout) ?? ""
            return listed.contains(requestId)
        }, listed)
        XCTAssertTrue(listed.contains("RetriesExhausted"), listed)
        XCTAssertTrue(listed.contains("no destination or dead-letter queue is configured"), listed)

        // Re-driven: a new event (a new request id) with the same payload, so it fails once more and is kept again.
        let redrive = try runCLI(hearth, ["events", "lonely", "--redrive", "--endpoint", daemon.endpoint], environment: env)
        XCTAssertEqual(redrive.status, 0, redrive.stderr)
        XCTAssertTrue(redrive.stdout.contains("1 failures sent back to lonely"), redrive.stdout)
        var json: [String: Any] = [:]
        XCTAssertTrue(eventually(within: 30) {
            let text = (try? runCLI(hearth, ["events", "lonely", "--json", "--endpoint", daemon.endpoint], environment: env).stdout) ?? ""
            json = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
            return ((json["Failures"] as? [[String: Any]]) ?? []).contains { ($0["RequestId"] as? String) != requestId }
        }, "the re-driven event ran and failed again under a new request id: \(json)")
        XCTAssertEqual((json["Failures"] as? [Any])?.count, 1, "the first failure was taken out when it was re-driven")
        let deleted = try runCLI(hearth, ["events", "lonely", "--delete", "--endpoint", daemon.endpoint], environment: env)
        XCTAssertTrue(deleted.stdout.contains("1 failures deleted"), deleted.stdout)
        let empty = try runCLI(hearth, ["events", "lonely", "--endpoint", daemon.endpoint], environment: env)
        XCTAssertTrue(empty.stdout.contains("0 undelivered failures"), empty.stdout)
    }

    /// What an event runs with is read again once it changes: after one event ran (its settings then
    /// kept by the registry), reserved concurrency 0 sends the next one straight to failure handling;
    /// without it again, and with an on-success destination, the next one runs and its record arrives.
    func testAnEventRunsWithTheSettingsOfItsTimeNotThoseOfTheLastEvent() throws {
        let daemon = try d()
        _ = try daemon.boto(create("settled", "audit") + """
            c.invoke(FunctionName="settled", InvocationType="Event", Payload=json.dumps({"n": 1}))
            """)
        XCTAssertEqual(try records(daemon, "settled", count: 1, within: 30).count, 1, "the first event ran")
        let out = try daemon.boto("""
            c.put_function_concurrency(FunctionName="settled", ReservedConcurrentExecutions=0)
            out["id"] = c.invoke(FunctionName="settled", InvocationType="Event", Payload=json.dumps({"n": 2}))["ResponseMetadata"]["RequestId"]
            """)
        let requestId = try XCTUnwrap(out["id"] as? String)
        let hearth = ServeDaemon.buildDirectory.appendingPathComponent("hearth")
        var listed = ""
        XCTAssertTrue(eventually(within: 30) {
            listed = (try? runCLI(hearth, ["events", "settled", "--endpoint", daemon.endpoint], environment: ["PATH": "/usr/bin:/bin"]).stdout) ?? ""
            return listed.contains(requestId)
        }, listed)
        XCTAssertTrue(listed.contains("ZeroReservedConcurrency"), listed)
        XCTAssertEqual(try records(daemon, "settled", count: 2, within: 1).count, 1, "the second event did not run")

        _ = try daemon.boto("""
            c.delete_function_concurrency(FunctionName="settled")
            c.invoke(FunctionName="settled", InvocationType="Event", Payload=json.dumps({"n": 3}))
            """)
        XCTAssertEqual(try records(daemon, "settled", count: 2, within: 30).last?["n"] as? Int, 3, "the third event ran")
        _ = try daemon.boto(create("settled-to", "audit") + """
            to = c.get_function(FunctionName="settled-to")["Configuration"]["FunctionArn"]
            c.put_function_event_invoke_config(FunctionName="settled", DestinationConfig={"OnSuccess": {"Destination": to}})
            c.invoke(FunctionName="settled", InvocationType="Event", Payload=json.dumps({"n": 4}))
            """)
        let success = try records(daemon, "settled-to", count: 1, within: 30).first
        XCTAssertEqual((success?["requestPayload"] as? [String: Any])?["n"] as? Int, 4, "its success record reached the new destination")
    }
}
