import Foundation
import XCTest

/// The queue's promises that need a daemon of their own: Lambda's real delays (an event older than its
/// maximum age goes to failure handling), and no acknowledged event lost across kill -9.
final class ServeAsyncCrashTests: XCTestCase {
    var fixtures = ""
    var daemons: [ServeDaemon] = []

    override func setUpWithError() throws {
        try ServeDaemon.checkPrerequisites()
        fixtures = try ServeAsyncTests.makeFixtures()
    }

    override func tearDown() {
        for daemon in daemons { daemon.remove() }
        try? FileManager.default.removeItem(atPath: fixtures)
    }

    func daemon(delayScale: Double?) throws -> ServeDaemon {
        var arguments: [String] = []
        if let delayScale {
            try "async_delay_scale: \(delayScale)\n".write(toFile: fixtures + "/hearth.yaml", atomically: true, encoding: .utf8)
            arguments = ["--config", fixtures + "/hearth.yaml"]
        }
        let daemon = try ServeDaemon(arguments: arguments)
        daemons.append(daemon)
        return daemon
    }

    func create(_ name: String, _ handler: String) -> String {
        """
        c.create_function(FunctionName="\(name)", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", Handler="app.\(handler)",
                          Code={"ZipFile": open("\(fixtures)/app.zip", "rb").read()})

        """
    }

    /// With Lambda's own delays, a retry a minute away never fits a 60 s maximum age: the event goes to
    /// failure handling at once with EventAgeExceeded after one attempt (as AWS recorded it).
    func testARetryPastTheMaximumEventAgeEndsInEventAgeExceeded() throws {
        let daemon = try daemon(delayScale: nil)
        let out = try daemon.boto(create("aging", "flaky") + create("sink", "audit") + """
            c.put_function_event_invoke_config(FunctionName="aging", MaximumEventAgeInSeconds=60,
                DestinationConfig={"OnFailure": {"Destination": c.get_function(FunctionName="sink")["Configuration"]["FunctionArn"]}})
            out["id"] = c.invoke(FunctionName="aging", InvocationType="Event", Payload=json.dumps({"fail_times": 5}))["ResponseMetadata"]["RequestId"]
            """)
        let requestId = try XCTUnwrap(out["id"] as? String)
        var record: [String: Any]?
        XCTAssertTrue(eventually(within: 30) {
            let text = (try? daemon.http("GET", "/hearth/v1/functions/sink/logs").2) ?? ""
            record = text.split(separator: "\n").compactMap { line -> [String: Any]? in
                guard let r = line.range(of: "RECORD ") else { return nil }
                return try? JSONSerialization.jsonObject(with: Data(line[r.upperBound...].utf8)) as? [String: Any]
            }.first
            return record != nil
        })
        let context = record?["requestContext"] as? [String: Any]
        XCTAssertEqual(context?["condition"] as? String, "EventAgeExceeded")
        XCTAssertEqual(context?["approximateInvokeCount"] as? Int, 1)
        XCTAssertEqual(context?["requestId"] as? String, requestId)
        XCTAssertEqual((record?["responseContext"] as? [String: Any])?["functionError"] as? String, "Unhandled")
    }

    /// A thousand events accepted, the daemon killed with SIGKILL while some run and some wait for a retry,
    /// started again: every acknowledged event reached an outcome (its DONE line, or a kept failure after
    /// three attempts). Duplicates are allowed (at-least-once) and printed.
    func testNoAcknowledgedEventIsLostAcrossKill9() throws {
        let daemon = try daemon(delayScale: 0.05)
        let out = try daemon.boto(create("steady", "sleepy") + """
            c.put_function_concurrency(FunctionName="steady", ReservedConcurrentExecutions=8)
            def send(i):
                cl = client(KEY, SECRET)
                ids = []
                for n in range(i, 1000, 16):
                    body = {"sleep": 0.05, "fail": n % 10 == 0}
                    r = cl.invoke(FunctionName="steady", InvocationType="Event", Payload=json.dumps(body))
                    assert r["StatusCode"] == 202
                    ids.append((r["ResponseMetadata"]["RequestId"], body["fail"]))
                return ids
            started = time.time()
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                acked = [x for ids in pool.map(send, range(16)) for x in ids]
            out["seconds"] = time.time() - started
            out["ok"] = [i for i, fail in acked if not fail]
            out["failing"] = [i for i, fail in acked if fail]
            """)
        let ok = try XCTUnwrap(out["ok"] as? [String]), failing = try XCTUnwrap(out["failing"] as? [String])
        XCTAssertEqual(ok.count + failing.count, 1000)
        print("1000 events accepted in \(out["seconds"] ?? 0) s over 16 connections")

        usleep(800_000)
        let logPath = daemon.stateDirectory + "/logs/steady.log"
        let beforeKill = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let doneBefore = beforeKill.components(separatedBy: "DONE ").count - 1
        let status = try JSONSerialization.jsonObject(with: Data(try daemon.http("GET", "/hearth/v1/status").2.utf8)) as? [String: Any]
        let queue = status?["queue"] as? [String: Any]
        daemon.killExpectingEverySandboxGoneWithinASecond()
        print("killed with \(doneBefore) of \(ok.count) done, queue \(queue ?? [:])")
        XCTAssertLessThan(doneBefore, ok.count, "the kill came while events were still queued or running")
        XCTAssertGreaterThan((queue?["queued"] as? [String: Int])?["steady"] ?? 0, 0, "some events were waiting at the kill")

        try daemon.start()
        var left: [String: Any] = [:]
        XCTAssertTrue(eventually(within: 120) {
            let text = (try? daemon.http("GET", "/hearth/v1/status").2) ?? ""
            left = ((try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["queue"] as? [String: Any]) ?? [:]
            return (left["queued"] as? [String: Int])?.isEmpty == true && left["running"] as? Int == 0
        }, "the restarted daemon emptied the queue: \(left)")

        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        var done: [String: Int] = [:]
        for line in log.split(separator: "\n") where line.contains("DONE ") {
            if let id = line.split(separator: " ").last { done[String(id), default: 0] += 1 }
        }
        let lost = ok.filter { done[$0] == nil }
        XCTAssertEqual(lost, [], "every acknowledged event that succeeds ran")
        let events = try daemon.http("GET", "/hearth/v1/functions/steady/events").2
        let kept = ((try JSONSerialization.jsonObject(with: Data(events.utf8)) as? [String: Any])?["Failures"] as? [[String: Any]]) ?? []
        let keptIds = Set(kept.compactMap { $0["RequestId"] as? String })
        XCTAssertEqual(failing.filter { !keptIds.contains($0) }, [], "every failing event reached failure handling")
        for failure in kept {
            let context = (failure["Record"] as? [String: Any])?["requestContext"] as? [String: Any]
            XCTAssertEqual(context?["condition"] as? String, "RetriesExhausted")
        }
        let duplicates = done.values.filter { $0 > 1 }.map { $0 - 1 }.reduce(0, +)
        print("after kill -9 and restart: \(ok.count) successes all ran, \(failing.count) failures all kept; duplicates: \(duplicates)")
    }
}
