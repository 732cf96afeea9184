import Foundation
import XCTest

/// SQS destinations and dead-letter queues through a real SQS-compatible server: moto_server from PyPI,
/// started by the test on loopback, and a daemon told to send there (sqs_endpoint) and to read code from its
/// S3 (s3_endpoint, ServeS3CodeTests.swift).
final class ServeDestinationTests: XCTestCase {
    var fixtures = ""
    var moto: Process?
    var daemon: ServeDaemon?
    var sqsEndpoint = ""

    override func setUpWithError() throws {
        try ServeDaemon.checkPrerequisites()
        guard let motoPath = Self.which("moto_server") else {
            throw XCTSkip("moto_server is not installed (scripts/setup installs moto[server] from PyPI)")
        }
        fixtures = try ServeAsyncTests.makeFixtures()

        let port = Int.random(in: 30_000..<40_000)
        sqsEndpoint = "http://127.0.0.1:\(port)"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: motoPath)
        p.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        moto = p
        guard eventually(within: 30, { (try? RuntimeImages.run("/usr/bin/curl", ["-s", "-o", "/dev/null", sqsEndpoint]).0) == 0 }) else {
            throw XCTSkip("moto_server did not answer on \(sqsEndpoint)")
        }
        try """
            async_delay_scale: 0.01
            sqs_endpoint: \(sqsEndpoint)
            sqs_access_key_id: testing
            sqs_secret_access_key: testing
            s3_endpoint: \(sqsEndpoint)
            s3_access_key_id: testing
            s3_secret_access_key: testing
            """.write(toFile: fixtures + "/hearth.yaml", atomically: true, encoding: .utf8)
        daemon = try ServeDaemon(arguments: ["--config", fixtures + "/hearth.yaml"])
    }

    override func tearDown() {
        daemon?.remove()
        if let moto {
            moto.terminate()
            moto.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: fixtures)
    }

    static func which(_ tool: String) -> String? {
        let (status, out) = (try? RuntimeImages.run("/bin/sh", ["-c", "command -v \(tool)"])) ?? (1, "")
        let path = out.trimmingCharacters(in: .whitespacesAndNewlines)
        return status == 0 && !path.isEmpty ? path : nil
    }

    /// Python: `sqs`, a boto3 SQS client of the moto server, and `receive(url)`, which waits for one message.
    var sqs: String {
        """
        sqs = boto3.client("sqs", endpoint_url="\(sqsEndpoint)", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        def queue(name):
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        def receive(url, seconds=60):
            deadline = time.time() + seconds
            while time.time() < deadline:
                got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1).get("Messages", [])
                if got:
                    return got[0]
            return None

        """
    }

    func create(_ name: String, _ handler: String, extra: String = "") -> String {
        """
        c.create_function(FunctionName="\(name)", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", Handler="app.\(handler)",
                          Code={"ZipFile": open("\(fixtures)/app.zip", "rb").read()}\(extra))

        """
    }

    /// The test of issue #17: an event that always fails reaches the on-failure queue with RetriesExhausted
    /// and approximateInvokeCount 3, and the dead-letter queue gets the event with Lambda's attributes.
    func testAFailingEventReachesItsSQSDeadLetterQueueAndOnFailureQueue() throws {
        let daemon = try XCTUnwrap(daemon)
        let out = try daemon.boto(sqs + """
            dlq_url, dlq_arn = queue("dlq")
            rec_url, rec_arn = queue("records")

            """ + create("dead", "flaky", extra: ", DeadLetterConfig={\"TargetArn\": dlq_arn}") + """
            out["dlq_config"] = c.get_function_configuration(FunctionName="dead").get("DeadLetterConfig")
            c.put_function_event_invoke_config(FunctionName="dead", DestinationConfig={"OnFailure": {"Destination": rec_arn}})
            out["id"] = c.invoke(FunctionName="dead", InvocationType="Event", Payload=json.dumps({"fail_times": 9, "n": 7}))["ResponseMetadata"]["RequestId"]
            m = receive(dlq_url)
            out["dlq_body"] = m and json.loads(m["Body"])
            out["dlq_attributes"] = m and {k: [v["DataType"], v["StringValue"]] for k, v in m.get("MessageAttributes", {}).items()}
            m = receive(rec_url)
            out["record"] = m and json.loads(m["Body"])
            """)
        let requestId = try XCTUnwrap(out["id"] as? String)
        XCTAssertEqual((out["dlq_config"] as? [String: Any])?["TargetArn"] as? String, "arn:aws:sqs:us-east-1:123456789012:dlq")
        XCTAssertEqual(out["dlq_body"] as? NSDictionary, ["fail_times": 9, "n": 7] as NSDictionary, "the dead-letter queue gets the event itself")
        XCTAssertEqual(out["dlq_attributes"] as? NSDictionary, ["RequestID": ["String", requestId], "ErrorCode": ["Number", "200"],
                                                                "ErrorMessage": ["String", "attempt 3 fails"]] as NSDictionary)
        let record = try XCTUnwrap(out["record"] as? [String: Any], "the record reached the on-failure queue")
        let context = record["requestContext"] as? [String: Any]
        XCTAssertEqual(context?["condition"] as? String, "RetriesExhausted")
        XCTAssertEqual(context?["approximateInvokeCount"] as? Int, 3)
        XCTAssertEqual(context?["requestId"] as? String, requestId)
        XCTAssertEqual((record["responsePayload"] as? [String: Any])?["errorMessage"] as? String, "attempt 3 fails")
        let metrics = try daemon.http("GET", "/metrics").2
        XCTAssertTrue(metrics.contains(#"hearth_async_destination_deliveries_total{function="dead"} 2"#), metrics)
    }

    /// A queue that cannot be reached is tried again with backoff and then kept, naming SQS's answer; a
    /// success record goes to an on-success queue.
    func testAnUnreachableQueueIsRetriedThenKeptAndSuccessRecordsReachTheirQueue() throws {
        let daemon = try XCTUnwrap(daemon)
        let out = try daemon.boto(sqs + """
            ok_url, ok_arn = queue("successes")

            """ + create("fine", "flaky") + create("lost", "flaky", extra: ", DeadLetterConfig={\"TargetArn\": \"arn:aws:sqs:us-east-1:123456789012:missing\"}") + """
            c.put_function_event_invoke_config(FunctionName="fine", DestinationConfig={"OnSuccess": {"Destination": ok_arn}})
            c.put_function_event_invoke_config(FunctionName="lost", MaximumRetryAttempts=0)
            c.invoke(FunctionName="fine", InvocationType="Event", Payload=json.dumps({}))
            out["lost"] = c.invoke(FunctionName="lost", InvocationType="Event", Payload=json.dumps({"fail_times": 1}))["ResponseMetadata"]["RequestId"]
            m = receive(ok_url)
            out["success"] = m and json.loads(m["Body"])
            """)
        let success = try XCTUnwrap(out["success"] as? [String: Any], "the success record reached its queue")
        XCTAssertEqual((success["requestContext"] as? [String: Any])?["condition"] as? String, "Success")
        XCTAssertEqual((success["responsePayload"] as? [String: Any])?["attempt"] as? Int, 1)

        let lost = try XCTUnwrap(out["lost"] as? String)
        var failures: [[String: Any]] = []
        XCTAssertTrue(eventually(within: 60) {
            let text = (try? daemon.http("GET", "/hearth/v1/functions/lost/events").2) ?? ""
            failures = ((try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["Failures"] as? [[String: Any]]) ?? []
            return !failures.isEmpty
        }, "the undeliverable event was kept")
        XCTAssertEqual(failures.first?["RequestId"] as? String, lost)
        let reason = failures.first?["Reason"] as? String ?? ""
        XCTAssertTrue(reason.hasPrefix("delivery to arn:aws:sqs:us-east-1:123456789012:missing failed 10 times"), reason)
        XCTAssertTrue(reason.contains("QueueDoesNotExist") || reason.contains("NonExistentQueue"), reason)
    }
}
