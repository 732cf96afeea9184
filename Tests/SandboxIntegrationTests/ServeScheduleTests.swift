import Foundation
import XCTest

/// EventBridge Scheduler's API on the async tests' daemon, driven by boto3's and the aws CLI's own
/// `scheduler` clients: schedules fire their function through the durable queue and survive a restart;
/// on a daemon whose clock starts before a daylight-saving transition and runs faster, a cron in
/// Europe/Berlin skips the local time that does not exist. (Missed fires and the autumn transition are
/// shown by ScheduleRunnerTests on a clock the test moves.)
extension ServeAsyncTests {
    /// Python: `s`, boto3's scheduler client of the daemon, and `fn_arn(name)` after creating the function.
    func schedulerPrelude(_ function: String) -> String {
        """
        s = boto3.client("scheduler", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                         config=Config(retries={"max_attempts": 0}))
        c.create_function(FunctionName="\(function)", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", Handler="app.audit",
                          Code={"ZipFile": open("\(Self.fixtures)/app.zip", "rb").read()})
        fn_arn = c.get_function(FunctionName="\(function)")["Configuration"]["FunctionArn"]

        """
    }

    func testARateScheduleFiresAtOnceAndIsAnsweredAsTheSchedulerAnswers() throws {
        let daemon = try d()
        let out = try daemon.boto(schedulerPrelude("ticker") + """
            r = s.create_schedule(Name="every-minute", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
                                  Target={"Arn": fn_arn, "RoleArn": "arn:aws:iam::123456789012:role/s", "Input": json.dumps({"from": "rate"})})
            out["arn"] = r["ScheduleArn"]
            g = s.get_schedule(Name="every-minute")
            out["get"] = {k: g.get(k) for k in ["Name", "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "State", "ActionAfterCompletion"]}
            out["target"] = g["Target"]
            out["created"] = type(g["CreationDate"]).__name__
            out["list"] = [x["Name"] for x in s.list_schedules()["Schedules"]]
            out["dup"] = err(s.create_schedule, Name="every-minute", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
                             Target={"Arn": fn_arn, "RoleArn": "arn:aws:iam::123456789012:role/s"})
            out["bad"] = err(s.create_schedule, Name="bad", ScheduleExpression="rate(1 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
                             Target={"Arn": fn_arn, "RoleArn": "arn:aws:iam::123456789012:role/s"})
            out["zone"] = err(s.create_schedule, Name="zone", ScheduleExpression="cron(0 9 * * ? *)", ScheduleExpressionTimezone="Mars/Olympus",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": fn_arn, "RoleArn": "arn:aws:iam::123456789012:role/s"})
            out["missing"] = err(s.get_schedule, Name="nope")
            s.create_schedule_group(Name="reports")
            s.create_schedule(Name="nightly", GroupName="reports", ScheduleExpression="cron(0 2 * * ? *)", ScheduleExpressionTimezone="Europe/Berlin",
                              FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
                              Target={"Arn": fn_arn, "RoleArn": "arn:aws:iam::123456789012:role/s"})
            out["groups"] = sorted(x["Name"] for x in s.list_schedule_groups()["ScheduleGroups"])
            out["in_group"] = [x["Name"] for x in s.list_schedules(GroupName="reports")["Schedules"]]
            """)
        XCTAssertEqual(out["arn"] as? String, "arn:aws:scheduler:us-east-1:000000000000:schedule/default/every-minute")
        XCTAssertEqual(out["get"] as? NSDictionary, ["Name": "every-minute", "GroupName": "default", "ScheduleExpression": "rate(1 minute)",
                                                     "ScheduleExpressionTimezone": "UTC", "State": "ENABLED", "ActionAfterCompletion": "NONE"] as NSDictionary)
        XCTAssertEqual((out["target"] as? [String: Any])?["Input"] as? String, #"{"from": "rate"}"#)
        XCTAssertEqual(out["created"] as? String, "datetime")
        XCTAssertEqual(out["list"] as? [String], ["every-minute"])
        XCTAssertEqual((out["dup"] as? [String: Any])?["code"] as? String, "ConflictException")
        XCTAssertEqual((out["bad"] as? [String: Any])?["message"] as? String, "Invalid Schedule Expression rate(1 minutes).")
        XCTAssertEqual((out["zone"] as? [String: Any])?["code"] as? String, "ValidationException")
        XCTAssertEqual((out["missing"] as? [String: Any])?["code"] as? String, "ResourceNotFoundException")
        XCTAssertEqual(out["groups"] as? [String], ["default", "reports"])
        XCTAssertEqual(out["in_group"] as? [String], ["nightly"])

        // A rate schedule without a start date fires at once, through the queue, with its Input as the event.
        let fired = try records(daemon, "ticker", count: 1, within: 30)
        XCTAssertEqual(fired.first?["from"] as? String, "rate", "the schedule's Input reached the function")

        // Kept across a restart.
        try daemon.restart()
        let after = try daemon.boto("""
            s = boto3.client("scheduler", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id=KEY, aws_secret_access_key=SECRET)
            out["names"] = sorted(x["Name"] for x in s.list_schedules()["Schedules"])
            s.delete_schedule(Name="every-minute")
            s.delete_schedule_group(Name="reports")
            out["left"] = [x["Name"] for x in s.list_schedules()["Schedules"]]
            """)
        XCTAssertEqual(after["names"] as? [String], ["every-minute", "nightly"])
        XCTAssertEqual(after["left"] as? [String], [], "a group's deletion takes its schedules")
    }

    /// cron(30 1,2,3 * * ? *) in Europe/Berlin on 2027-03-28, when 02:00 CET becomes 03:00 CEST: it fires
    /// at 01:30 CET (00:30Z) and 03:30 CEST (01:30Z), and not at 02:30, which that day does not have. The
    /// daemon's clock starts at 00:00Z and runs 240 times faster (--clock-start, --clock-rate): the two
    /// hours pass in 30 s. The scheduled times come back through the target's
    /// input as EventBridge Scheduler's <aws.scheduler.scheduled-time>.
    func testACronAcrossTheSpringTransitionSkipsTheMissingLocalTime() throws {
        let daemon = try ServeDaemon(arguments: ["--clock-start", "2027-03-28T00:00:00Z", "--clock-rate", "240"])
        defer { daemon.remove() }
        _ = try daemon.boto(schedulerPrelude("berlin") + """
            s.create_schedule(Name="night", ScheduleExpression="cron(30 1,2,3 * * ? *)", ScheduleExpressionTimezone="Europe/Berlin",
                              FlexibleTimeWindow={"Mode": "OFF"},
                              Target={"Arn": fn_arn, "RoleArn": "arn:aws:iam::123456789012:role/s",
                                      "Input": json.dumps({"at": "<aws.scheduler.scheduled-time>", "arn": "<aws.scheduler.schedule-arn>"})})
            """)
        let fired = try records(daemon, "berlin", count: 2, within: 90)
        XCTAssertEqual(fired.compactMap { $0["at"] as? String }, ["2027-03-28T00:30:00Z", "2027-03-28T01:30:00Z"])
        XCTAssertEqual(fired.first?["arn"] as? String, "arn:aws:scheduler:us-east-1:000000000000:schedule/default/night")
        // Half an hour of clock time (7.5 s) after the second: still two; the next is 23:30Z on the 28th.
        Thread.sleep(forTimeInterval: 7.5)
        XCTAssertEqual(try records(daemon, "berlin", count: 2, within: 1).count, 2, "no fire for the 02:30 that did not exist")
    }

    /// A one-time at() schedule with ActionAfterCompletion DELETE, made with the aws CLI, fires once and is gone.
    func testAOneTimeScheduleFiresOnceAndDeletesItself() throws {
        let daemon = try d()
        _ = try daemon.boto(schedulerPrelude("once"))
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "America/New_York")
        let when = formatter.string(from: Date().addingTimeInterval(3))
        let (status, text) = try daemon.aws(["scheduler", "create-schedule", "--name", "one-shot", "--schedule-expression", "at(\(when))",
                                             "--schedule-expression-timezone", "America/New_York", "--flexible-time-window", #"{"Mode":"OFF"}"#,
                                             "--action-after-completion", "DELETE", "--target",
                                             #"{"Arn":"arn:aws:lambda:us-east-1:000000000000:function:once","RoleArn":"arn:aws:iam::123456789012:role/s","Input":"{\"once\":1}"}"#])
        XCTAssertEqual(status, 0, text)
        let fired = try records(daemon, "once", count: 1, within: 30)
        XCTAssertEqual(fired.first?["once"] as? Int, 1)
        var gone = false
        XCTAssertTrue(eventually(within: 10) {
            gone = ((try? daemon.aws(["scheduler", "get-schedule", "--name", "one-shot"]))?.1 ?? "").contains("ResourceNotFoundException")
            return gone
        }, "the schedule deleted itself after its fire")
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(try records(daemon, "once", count: 2, within: 0.1).count, 1, "it fired once")
    }
}
