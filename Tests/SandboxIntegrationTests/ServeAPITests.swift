import Foundation
import XCTest

/// `hearth serve` driven through Lambda's API with boto3 and the aws CLI, unchanged
/// but for --endpoint-url. One daemon for the class; each test uses its own functions.
final class ServeAPITests: XCTestCase {
    nonisolated(unsafe) static var daemon: ServeDaemon?
    nonisolated(unsafe) static var setupError: Error?
    nonisolated(unsafe) static var before: (resources: String, inits: Int)?

    override class func setUp() {
        do {
            try ServeDaemon.checkPrerequisites()
            _ = try ServeFixtures.make()
            daemon = try ServeDaemon(arguments: ["--image-dir", try ServeFixtures.make()], seedRuntimes: false)
        } catch { setupError = error }
    }

    override class func tearDown() {
        daemon?.remove()
        daemon = nil
        ServeFixtures.remove()
    }

    override func setUpWithError() throws {
        if let error = Self.setupError { throw error }
    }

    func d() throws -> ServeDaemon { try XCTUnwrap(Self.daemon) }

    /// Python that creates `name` from counter-v1.zip with `extra` keyword arguments.
    func create(_ name: String, _ extra: String = "") throws -> String {
        let fixtures = try ServeFixtures.make()
        return """
            c.create_function(FunctionName="\(name)", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth",
                              Handler="app.handler", Code={"ZipFile": open("\(fixtures)/counter-v1.zip", "rb").read()}\(extra.isEmpty ? "" : ", " + extra))
            """
    }

    func testCreateGetListUpdateAndDelete() throws {
        let fixtures = try ServeFixtures.make()
        let out = try d().boto(try create("life", #"MemorySize=256, Timeout=5, Environment={"Variables": {"GREETING": "hello"}}, Description="first""#) + """

            g = c.get_function(FunctionName="life")
            out["config"] = g["Configuration"]
            out["code"] = g["Code"]
            import urllib.request, hashlib
            out["download_sha"] = base64.b64encode(hashlib.sha256(urllib.request.urlopen(g["Code"]["Location"]).read()).digest()).decode()
            out["local_sha"] = base64.b64encode(hashlib.sha256(open("\(fixtures)/counter-v1.zip", "rb").read()).digest()).decode()
            out["first"] = payload(c.invoke(FunctionName="life", Payload=b"{}"))
            for n in ["life-a", "life-b", "life-c"]:
                c.create_function(FunctionName=n, Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth",
                                  Handler="app.handler", Code={"ZipFile": open("\(fixtures)/counter-v1.zip", "rb").read()})
            page1 = c.list_functions(MaxItems=2)
            page2 = c.list_functions(MaxItems=2, Marker=page1["NextMarker"])
            out["page1"] = [f["FunctionName"] for f in page1["Functions"]]
            out["page2"] = [f["FunctionName"] for f in page2["Functions"]]
            out["all"] = [f["FunctionName"] for f in c.get_paginator("list_functions").paginate().build_full_result()["Functions"]]
            u = c.update_function_configuration(FunctionName="life", MemorySize=512, Environment={"Variables": {"GREETING": "changed"}})
            out["updated_memory"] = u["MemorySize"]
            out["after_config"] = payload(c.invoke(FunctionName="life", Payload=b"{}"))
            u = c.update_function_code(FunctionName="life", ZipFile=open("\(fixtures)/counter-v2.zip", "rb").read())
            out["new_sha"] = u["CodeSha256"]
            out["after_code"] = payload(c.invoke(FunctionName="life", Payload=b"{}"))
            c.delete_function(FunctionName="life")
            out["after_delete"] = err(c.get_function, FunctionName="life")
            out["invoke_deleted"] = err(c.invoke, FunctionName="life")
            """)
        let config = try XCTUnwrap(out["config"] as? [String: Any])
        XCTAssertEqual(config["FunctionArn"] as? String, "arn:aws:lambda:us-east-1:000000000000:function:life")
        XCTAssertEqual(config["MemorySize"] as? Int, 256)
        XCTAssertEqual(config["Timeout"] as? Int, 5)
        XCTAssertEqual(config["Runtime"] as? String, "python3.11")
        XCTAssertEqual(config["State"] as? String, "Active")
        XCTAssertEqual(config["Description"] as? String, "first")
        XCTAssertEqual(out["download_sha"] as? String, out["local_sha"] as? String, "Code.Location serves the uploaded zip")
        XCTAssertEqual(config["CodeSha256"] as? String, out["local_sha"] as? String)
        let first = try XCTUnwrap(out["first"] as? [String: Any])
        XCTAssertEqual((first["env"] as? [String: Any])?["GREETING"] as? String, "hello")
        XCTAssertEqual((first["env"] as? [String: Any])?["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] as? String, "256")
        XCTAssertEqual(out["page1"] as? [String], ["life", "life-a"])
        XCTAssertEqual(out["page2"] as? [String], ["life-b", "life-c"])
        XCTAssertEqual((out["all"] as? [String])?.filter { $0.hasPrefix("life") }, ["life", "life-a", "life-b", "life-c"])
        XCTAssertEqual(out["updated_memory"] as? Int, 512)
        let afterConfig = try XCTUnwrap(out["after_config"] as? [String: Any])
        XCTAssertEqual((afterConfig["env"] as? [String: Any])?["GREETING"] as? String, "changed", "a configuration update reaches new invocations")
        XCTAssertEqual(afterConfig["count"] as? Int, 1, "the old configuration's sandbox was drained, not reused")
        XCTAssertEqual((out["after_code"] as? [String: Any])?["code"] as? String, "v2")
        XCTAssertNotEqual(out["new_sha"] as? String, out["local_sha"] as? String)
        XCTAssertEqual((out["after_delete"] as? [String: Any])?["code"] as? String, "ResourceNotFoundException")
        XCTAssertEqual((out["after_delete"] as? [String: Any])?["status"] as? Int, 404)
        XCTAssertEqual((out["invoke_deleted"] as? [String: Any])?["code"] as? String, "ResourceNotFoundException")
    }

    /// The state machine clients wait on, as AWS answered TestLambdaFunction::test_function_lifecycle (reference/aws-recorded):
    /// CreateFunction answers Pending, an update InProgress, each with a revision the next read has moved past (Active,
    /// Successful); boto3's waiters pass; a change from the create answer's revision is refused, as on AWS.
    func testChangesAnswerPendingOrInProgressThenSettleWithANewRevision() throws {
        let fixtures = try ServeFixtures.make()
        let out = try d().boto("""
            z = open("\(fixtures)/counter-v1.zip", "rb").read()
            def strip(r):
                r.pop("ResponseMetadata", None)
                return r
            created = strip(c.create_function(FunctionName="states", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/r",
                                              Handler="app.handler", Code={"ZipFile": z}, MemorySize=256, Timeout=5))
            out["create"] = created
            c.get_waiter("function_active_v2").wait(FunctionName="states", WaiterConfig={"Delay": 1, "MaxAttempts": 5})
            out["get"] = c.get_function(FunctionName="states")["Configuration"]
            out["stale"] = err(c.update_function_configuration, FunctionName="states", Timeout=6, RevisionId=created["RevisionId"])
            out["update_config"] = strip(c.update_function_configuration(FunctionName="states", Description="Changed-Description",
                                                                        Environment={"Variables": {"ENV_A": "a"}}))
            c.get_waiter("function_updated_v2").wait(FunctionName="states", WaiterConfig={"Delay": 1, "MaxAttempts": 5})
            out["get_after_config"] = c.get_function(FunctionName="states")["Configuration"]
            out["update_code"] = strip(c.update_function_code(FunctionName="states", ZipFile=open("\(fixtures)/counter-v2.zip", "rb").read()))
            out["get_after_code"] = c.get_function(FunctionName="states")["Configuration"]
            out["published"] = strip(c.update_function_code(FunctionName="states", ZipFile=z, Publish=True))
            out["get_version"] = c.get_function(FunctionName="states", Qualifier=out["published"]["Version"])["Configuration"]
            out["delete_missing_version"] = err(c.delete_function, FunctionName="states", Qualifier="9")
            c.delete_function(FunctionName="states")
            """)
        let create = try XCTUnwrap(out["create"] as? [String: Any])
        let get = try XCTUnwrap(out["get"] as? [String: Any])
        // The recorded create_response's fields; the runtime's build is named by its image's digest.
        XCTAssertEqual(Set(create.keys), ["Architectures", "CodeSha256", "CodeSize", "Description", "Environment", "EphemeralStorage", "FunctionArn",
                                          "FunctionName", "Handler", "LastModified", "LoggingConfig", "MemorySize", "PackageType", "RevisionId", "Role",
                                          "Runtime", "RuntimeVersionConfig", "SnapStart", "State", "StateReason", "StateReasonCode", "Timeout",
                                          "TracingConfig", "Version"])
        let runtimeVersion = try XCTUnwrap((create["RuntimeVersionConfig"] as? [String: Any])?["RuntimeVersionArn"] as? String)
        XCTAssertNotNil(runtimeVersion.range(of: #"^arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$"#, options: .regularExpression), runtimeVersion)
        XCTAssertEqual((get["RuntimeVersionConfig"] as? [String: Any])?["RuntimeVersionArn"] as? String, runtimeVersion)
        XCTAssertEqual(create["State"] as? String, "Pending")
        XCTAssertEqual(create["StateReason"] as? String, "The function is being created.")
        XCTAssertEqual(create["StateReasonCode"] as? String, "Creating")
        XCTAssertEqual(create["Environment"] as? NSDictionary, ["Variables": [String: String]()] as NSDictionary)
        XCTAssertEqual(get["State"] as? String, "Active")
        XCTAssertEqual(get["LastUpdateStatus"] as? String, "Successful")
        XCTAssertNil(get["StateReason"])
        XCTAssertNotEqual(get["RevisionId"] as? String, create["RevisionId"] as? String, "the function moved on to a revision of its own")
        XCTAssertEqual((out["stale"] as? [String: Any])?["code"] as? String, "PreconditionFailedException")

        for (answer, after) in [("update_config", "get_after_config"), ("update_code", "get_after_code")] {
            let change = try XCTUnwrap(out[answer] as? [String: Any])
            let read = try XCTUnwrap(out[after] as? [String: Any])
            XCTAssertEqual(change["State"] as? String, "Active", answer)
            XCTAssertEqual(change["LastUpdateStatus"] as? String, "InProgress", answer)
            XCTAssertEqual(change["LastUpdateStatusReason"] as? String, "The function is being created.", answer)
            XCTAssertEqual(change["LastUpdateStatusReasonCode"] as? String, "Creating", answer)
            XCTAssertEqual(read["LastUpdateStatus"] as? String, "Successful", answer)
            XCTAssertNil(read["LastUpdateStatusReason"], answer)
            XCTAssertNotEqual(read["RevisionId"] as? String, change["RevisionId"] as? String, answer)
        }
        XCTAssertEqual((out["get_after_config"] as? [String: Any])?["Description"] as? String, "Changed-Description")
        let published = try XCTUnwrap(out["published"] as? [String: Any])
        XCTAssertEqual(published["Version"] as? String, "1")
        XCTAssertEqual(published["State"] as? String, "Pending", "a version a change publishes is answered Pending, as AWS does")
        XCTAssertEqual((out["get_version"] as? [String: Any])?["State"] as? String, "Active")
        XCTAssertNotEqual((out["get_version"] as? [String: Any])?["RevisionId"] as? String, published["RevisionId"] as? String)
        // test_delete_on_nonexisting_version: the function's ARN, not the version's.
        XCTAssertEqual((out["delete_missing_version"] as? [String: Any])?["message"] as? String,
                       "Function not found: arn:aws:lambda:us-east-1:000000000000:function:states")
    }

    /// Tags with boto3 and the aws CLI, answered as AWS answered the same calls (reference/aws-recorded:
    /// TestLambdaTags): on create, tag, overwrite, untag, the limit of 50, a version's ARN.
    func testTagsAsAWSAnswersThem() throws {
        let daemon = try XCTUnwrap(Self.daemon)
        let fixtures = try ServeFixtures.make()
        let out = try daemon.boto("""
            zipped = open("\(fixtures)/counter-v1.zip", "rb").read()
            arn = c.create_function(FunctionName="tagged", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth",
                                    Handler="app.handler", Code={"ZipFile": zipped}, Tags={"key_a": "value_a"})["FunctionArn"]
            out["on_create"] = c.list_tags(Resource=arn)["Tags"]
            out["get_function"] = c.get_function(FunctionName="tagged")["Tags"]
            c.tag_resource(Resource=arn, Tags={"key_b": "value_b", "key_a": "overwritten"})
            out["tagged"] = c.list_tags(Resource=arn)["Tags"]
            c.untag_resource(Resource=arn, TagKeys=["key_a", "key_b", "key_none"])
            out["untagged"] = c.list_tags(Resource=arn)["Tags"]
            out["get_function_untagged"] = "Tags" in c.get_function(FunctionName="tagged")
            out["too_many"] = err(c.tag_resource, Resource=arn, Tags={f"{i}_key": f"{i}_value" for i in range(51)})
            out["version"] = err(c.tag_resource, Resource=arn + ":$LATEST", Tags={"a": "b"})
            out["missing"] = err(c.list_tags, Resource=arn + "x")
            out["create_refused"] = err(c.create_function, FunctionName="overtagged", Runtime="python3.11",
                                        Role="arn:aws:iam::123456789012:role/hearth", Handler="app.handler", Code={"ZipFile": zipped},
                                        Tags={f"{i}_key": "v" for i in range(51)})
            out["overtagged_exists"] = err(c.get_function, FunctionName="overtagged")
            """)
        XCTAssertEqual(out["on_create"] as? [String: String], ["key_a": "value_a"])
        XCTAssertEqual(out["get_function"] as? [String: String], ["key_a": "value_a"])
        XCTAssertEqual(out["tagged"] as? [String: String], ["key_a": "overwritten", "key_b": "value_b"])
        XCTAssertEqual(out["untagged"] as? [String: String], [:])
        XCTAssertEqual(out["get_function_untagged"] as? Bool, false, "GetFunction leaves Tags out when there are none, as AWS does")
        let tooMany = out["too_many"] as? [String: Any]
        XCTAssertEqual(tooMany?["code"] as? String, "InvalidParameterValueException")
        XCTAssertEqual(tooMany?["message"] as? String, "Number of tags exceeds resource tag limit.")
        XCTAssertEqual((out["version"] as? [String: Any])?["message"] as? String,
                       "Tags on function aliases and versions are not supported. Please specify a function ARN.")
        XCTAssertEqual((out["missing"] as? [String: Any])?["code"] as? String, "ResourceNotFoundException")
        XCTAssertEqual((out["create_refused"] as? [String: Any])?["message"] as? String, "Number of tags exceeds resource tag limit.")
        XCTAssertEqual((out["overtagged_exists"] as? [String: Any])?["code"] as? String, "ResourceNotFoundException")

        let cli = try daemon.aws(["lambda", "list-tags", "--resource", "arn:aws:lambda:us-east-1:000000000000:function:tagged"])
        XCTAssertEqual(cli.0, 0, cli.1)
        XCTAssertTrue(cli.1.contains("\"Tags\": {}"), cli.1)
    }

    /// LoggingConfig answered as AWS answered reference/aws-recorded's TestLoggingConfig (JSON's levels default to
    /// INFO, a partial update keeps the rest, Text drops the levels), Lambda's refusals, and applied: the runtime is
    /// told the format and level, the system lines become JSON records, and SystemLogLevel WARN leaves them out.
    func testLoggingConfigAsAWSAnswersItAndAppliesIt() throws {
        let daemon = try XCTUnwrap(Self.daemon)
        let out = try daemon.boto(#"""
            import base64, io, zipfile
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as z:
                z.writestr("env.py", "import logging, os\nlog = logging.getLogger()\ndef handler(event, context):\n    print('hello')\n"
                           "    log.debug('dbg')\n    log.info('inf')\n    log.warning('wrn')\n"
                           "    return {k: os.environ.get(k) for k in ['AWS_LAMBDA_LOG_FORMAT', 'AWS_LAMBDA_LOG_LEVEL', 'AWS_LAMBDA_LOG_GROUP_NAME']}\n")
            node = io.BytesIO()
            with zipfile.ZipFile(node, "w") as z:
                z.writestr("index.js", "exports.handler = async () => { console.debug('dbg'); console.log('inf', {a: 1}); console.warn('wrn'); return 'ok'; };\n")
            c.create_function(FunctionName="log-node", Runtime="nodejs18.x", Role="arn:aws:iam::123456789012:role/hearth", Handler="index.handler",
                              Code={"ZipFile": node.getvalue()}, LoggingConfig={"LogFormat": "JSON"})
            def make(name, **extra):
                return c.create_function(FunctionName=name, Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth",
                                         Handler="env.handler", Code={"ZipFile": buffer.getvalue()}, **extra)["LoggingConfig"]
            def update(name, config):
                c.update_function_configuration(FunctionName=name, LoggingConfig=config)
                return c.get_function_configuration(FunctionName=name)["LoggingConfig"]
            # test_function_advanced_logging_configuration
            out["advanced_create"] = make("log-advanced", LoggingConfig={"LogFormat": "JSON"})
            out["advanced_update"] = update("log-advanced", {"LogGroup": "cool_lambda"})
            # test_advanced_logging_configuration_format_switch
            out["switch_create"] = make("log-switch")
            out["switch_json"] = update("log-switch", {"LogFormat": "JSON"})
            out["switch_text"] = update("log-switch", {"LogFormat": "Text"})
            # test_function_partial_advanced_logging_configuration_update, partial_config0..3
            out["partial"] = []
            for i, config in enumerate([{"LogFormat": "JSON"}, {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"},
                                        {"LogFormat": "JSON", "SystemLogLevel": "DEBUG"}, {"LogGroup": "cool_lambda"}]):
                make(f"log-partial-{i}")
                out["partial"].append(update(f"log-partial-{i}", config))
            out["text_with_level"] = err(c.update_function_configuration, FunctionName="log-switch", LoggingConfig={"ApplicationLogLevel": "DEBUG"})
            out["bad_values"] = err(c.update_function_configuration, FunctionName="log-switch",
                                    LoggingConfig={"LogFormat": "XML", "SystemLogLevel": "TRACE", "LogGroup": "a b"})
            def invoke(name):
                r = c.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
                return {"env": payload(r), "tail": base64.b64decode(r["LogResult"]).decode()}
            out["json"] = invoke("log-partial-1")
            update("log-partial-2", {"SystemLogLevel": "WARN"})
            out["warn"] = invoke("log-partial-2")
            out["text"] = invoke("log-partial-3")
            out["node"] = invoke("log-node")
            """#)
        let text = ["LogFormat": "Text", "LogGroup": "/aws/lambda/log-switch"]
        let json = ["ApplicationLogLevel": "INFO", "LogFormat": "JSON", "LogGroup": "/aws/lambda/log-switch", "SystemLogLevel": "INFO"]
        XCTAssertEqual(out["advanced_create"] as? [String: String],
                       ["ApplicationLogLevel": "INFO", "LogFormat": "JSON", "LogGroup": "/aws/lambda/log-advanced", "SystemLogLevel": "INFO"])
        XCTAssertEqual(out["advanced_update"] as? [String: String],
                       ["ApplicationLogLevel": "INFO", "LogFormat": "JSON", "LogGroup": "cool_lambda", "SystemLogLevel": "INFO"])
        XCTAssertEqual(out["switch_create"] as? [String: String], text)
        XCTAssertEqual(out["switch_json"] as? [String: String], json)
        XCTAssertEqual(out["switch_text"] as? [String: String], text)
        let partial = try XCTUnwrap(out["partial"] as? [[String: String]])
        let group = { (i: Int) in "/aws/lambda/log-partial-\(i)" }
        XCTAssertEqual(partial, [
            ["ApplicationLogLevel": "INFO", "LogFormat": "JSON", "LogGroup": group(0), "SystemLogLevel": "INFO"],
            ["ApplicationLogLevel": "DEBUG", "LogFormat": "JSON", "LogGroup": group(1), "SystemLogLevel": "INFO"],
            ["ApplicationLogLevel": "INFO", "LogFormat": "JSON", "LogGroup": group(2), "SystemLogLevel": "DEBUG"],
            ["LogFormat": "Text", "LogGroup": "cool_lambda"],
        ])
        let refused = try XCTUnwrap(out["text_with_level"] as? [String: Any])
        XCTAssertEqual(refused["code"] as? String, "InvalidParameterValueException")
        XCTAssertEqual(refused["message"] as? String,
                       "LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from your request or change the LogFormat to \"Json\" and try again.")
        let bad = try XCTUnwrap(out["bad_values"] as? [String: Any])
        XCTAssertEqual(bad["code"] as? String, "ValidationException")
        XCTAssertEqual(bad["message"] as? String, "3 validation errors detected: "
            + "Value 'XML' at 'loggingConfig.logFormat' failed to satisfy constraint: Member must satisfy enum value set: [JSON, Text]; "
            + "Value 'TRACE' at 'loggingConfig.systemLogLevel' failed to satisfy constraint: Member must satisfy enum value set: [DEBUG, INFO, WARN]; "
            + "Value 'a b' at 'loggingConfig.logGroup' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")

        let jsonRun = try XCTUnwrap(out["json"] as? [String: Any])
        XCTAssertEqual(jsonRun["env"] as? [String: String],
                       ["AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG", "AWS_LAMBDA_LOG_GROUP_NAME": group(1)])
        let records = (jsonRun["tail"] as? String ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let platform = records.filter { $0["type"] != nil }
        XCTAssertEqual(platform.map { $0["type"] as? String }, ["platform.start", "platform.runtimeDone", "platform.report"], "\(jsonRun)")
        let start = try XCTUnwrap(platform.first)
        XCTAssertEqual((start["record"] as? [String: Any])?["version"] as? String, "$LATEST")
        XCTAssertTrue((start["time"] as? String ?? "").wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(start)")
        XCTAssertEqual((platform[1]["record"] as? [String: Any])?["status"] as? String, "success")
        let report = try XCTUnwrap(platform.last?["record"] as? [String: Any])
        let metrics = try XCTUnwrap(report["metrics"] as? [String: Any])
        XCTAssertEqual(metrics["memorySizeMB"] as? Int, 128)
        XCTAssertNotNil(metrics["durationMs"] as? Double)
        XCTAssertNotNil(metrics["initDurationMs"] as? Double, "a cold start reports its init")
        XCTAssertEqual(report["status"] as? String, "success")
        XCTAssertTrue((jsonRun["tail"] as? String ?? "").contains("hello\n"))
        // The function's own logging: JSON records at AWS_LAMBDA_LOG_LEVEL (DEBUG here) and above, with the request id.
        let appRecords = records.filter { $0["type"] == nil }
        XCTAssertEqual(appRecords.map { $0["level"] as? String }, ["DEBUG", "INFO", "WARNING"], "\(jsonRun)")
        XCTAssertEqual(appRecords.map { $0["message"] as? String }, ["dbg", "inf", "wrn"])
        let requestId = (start["record"] as? [String: Any])?["requestId"] as? String
        XCTAssertEqual(appRecords.first?["requestId"] as? String, requestId)
        XCTAssertEqual(appRecords.first?["logger"] as? String, "root")

        let warn = try XCTUnwrap(out["warn"] as? [String: Any])
        let warnLines = (warn["tail"] as? String ?? "").split(separator: "\n")
        XCTAssertEqual(warnLines.first, "hello", "SystemLogLevel WARN leaves START, END and REPORT out: \(warn)")
        XCTAssertEqual(warnLines.count, 3, "hello, then the function's INFO and WARNING records: \(warn)")
        let textRun = try XCTUnwrap(out["text"] as? [String: Any])
        let textEnv = try XCTUnwrap(textRun["env"] as? [String: Any])
        XCTAssertTrue(textEnv["AWS_LAMBDA_LOG_FORMAT"] is NSNull && textEnv["AWS_LAMBDA_LOG_LEVEL"] is NSNull, "\(textEnv)")
        XCTAssertEqual(textEnv["AWS_LAMBDA_LOG_GROUP_NAME"] as? String, "cool_lambda")
        let textTail = textRun["tail"] as? String ?? ""
        XCTAssertTrue(textTail.hasPrefix("START RequestId: "), "\(textRun)")
        // Text: Lambda's "[LEVEL]\ttime\trequest id\tmessage" lines, the root logger at Python's default WARNING.
        let warning = try XCTUnwrap(textTail.split(separator: "\n").first { $0.hasPrefix("[WARNING]") }, textTail)
        XCTAssertNotNil(String(warning).wholeMatch(of: /\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t[0-9a-f-]{36}\twrn/), String(warning))
        XCTAssertFalse(textTail.contains("inf"), textTail)

        let nodeRun = try XCTUnwrap(out["node"] as? [String: Any])
        let nodeRecords = (nodeRun["tail"] as? String ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["type"] == nil }
        XCTAssertEqual(nodeRecords.map { $0["level"] as? String }, ["INFO", "WARN"], "console.debug is below INFO: \(nodeRun)")
        XCTAssertEqual(nodeRecords.first?["message"] as? String, "inf { a: 1 }")
        XCTAssertNotNil(nodeRecords.first?["requestId"] as? String)
    }

    /// Layer version policies, the recursion and runtime management settings and code signing's reads, with boto3,
    /// answered as AWS answered the same calls (reference/aws-recorded: TestLambdaLayer::test_layer_policy_lifecycle
    /// and test_layer_policy_exceptions, TestLambdaRecursion, TestCodeSigningConfig::test_code_signing_not_found_excs).
    func testLayerPoliciesRecursionRuntimeManagementAndCodeSigningAsAWSAnswersThem() throws {
        let fixtures = try ServeFixtures.make()
        let out = try d().boto("""
            l = c.publish_layer_version(LayerName="shared", Content={"ZipFile": open("\(fixtures)/layer.zip", "rb").read()})
            arn, version = l["LayerArn"], l["Version"]
            out["layer_version_arn"] = l["LayerVersionArn"]
            out["nopolicy"] = err(c.get_layer_version_policy, LayerName="shared", VersionNumber=version)
            s1 = c.add_layer_version_permission(LayerName="shared", VersionNumber=version, StatementId="s1",
                                                Action="lambda:GetLayerVersion", Principal="*")
            out["s1"] = {"statement": json.loads(s1["Statement"]), "status": s1["ResponseMetadata"]["HTTPStatusCode"]}
            p1 = c.get_layer_version_policy(LayerName="shared", VersionNumber=version)
            out["policy1"] = {"policy": json.loads(p1["Policy"]), "same_revision": p1["RevisionId"] == s1["RevisionId"]}
            s2 = c.add_layer_version_permission(LayerName=arn, VersionNumber=version, StatementId="s2",
                                                Action="lambda:GetLayerVersion", Principal="123456789012", RevisionId=s1["RevisionId"])
            out["s2_principal"] = json.loads(s2["Statement"])["Principal"]
            out["sids"] = [s["Sid"] for s in json.loads(c.get_layer_version_policy(LayerName="shared", VersionNumber=version)["Policy"])["Statement"]]
            out["action_invalid"] = err(c.add_layer_version_permission, LayerName="shared", VersionNumber=version, StatementId="s3",
                                        Action="*", Principal="*")
            out["duplicate"] = err(c.add_layer_version_permission, LayerName="shared", VersionNumber=version, StatementId="s1",
                                   Action="lambda:GetLayerVersion", Principal="*")
            out["wrong_revision"] = err(c.add_layer_version_permission, LayerName="shared", VersionNumber=version, StatementId="s3",
                                        Action="lambda:GetLayerVersion", Principal="*", RevisionId="wrong")
            out["principal_invalid"] = err(c.add_layer_version_permission, LayerName="shared", VersionNumber=version, StatementId="s4",
                                           Action="lambda:GetLayerVersion", Principal="someone")
            out["organization_not_everyone"] = err(c.add_layer_version_permission, LayerName="shared", VersionNumber=version, StatementId="s4",
                                                   Action="lambda:GetLayerVersion", Principal="123456789012", OrganizationId="o-abc1234567")
            out["no_layer"] = err(c.get_layer_version_policy, LayerName="shared-doesnotexist", VersionNumber=version)
            out["no_version"] = err(c.remove_layer_version_permission, LayerName="shared", VersionNumber=version + 1, StatementId="s1")
            out["no_statement"] = err(c.remove_layer_version_permission, LayerName="shared", VersionNumber=version, StatementId="doesnotexist")
            out["remove_wrong_revision"] = err(c.remove_layer_version_permission, LayerName="shared", VersionNumber=version,
                                               StatementId="s2", RevisionId="wrong")
            r = c.remove_layer_version_permission(LayerName="shared", VersionNumber=version, StatementId="s2")
            out["removed"] = r["ResponseMetadata"]["HTTPStatusCode"]
            out["after_remove"] = [s["Sid"] for s in json.loads(c.get_layer_version_policy(LayerName="shared", VersionNumber=version)["Policy"])["Statement"]]
            c.delete_layer_version(LayerName="shared", VersionNumber=version)
            out["deleted_layer"] = err(c.get_layer_version_policy, LayerName="shared", VersionNumber=version)

            z = open("\(fixtures)/counter-v1.zip", "rb").read()
            c.create_function(FunctionName="controls", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/r", Handler="app.handler",
                              Code={"ZipFile": z})
            out["recursion_default"] = c.get_function_recursion_config(FunctionName="controls")["RecursiveLoop"]
            out["recursion_put"] = c.put_function_recursion_config(FunctionName="controls", RecursiveLoop="Allow")["RecursiveLoop"]
            out["recursion_get"] = c.get_function_recursion_config(FunctionName="controls")["RecursiveLoop"]
            out["recursion_invalid"] = err(c.put_function_recursion_config, FunctionName="controls", RecursiveLoop="InvalidValue")
            out["recursion_missing"] = err(c.get_function_recursion_config, FunctionName="controls-doesnotexist")

            def rm(r):
                r.pop("ResponseMetadata")
                return r
            out["runtime_default"] = rm(c.get_runtime_management_config(FunctionName="controls"))
            pinned = "arn:aws:lambda:us-east-1::runtime:0123456789abcdef"
            out["runtime_manual"] = rm(c.put_runtime_management_config(FunctionName="controls", UpdateRuntimeOn="Manual", RuntimeVersionArn=pinned))
            out["runtime_manual_get"] = rm(c.get_runtime_management_config(FunctionName="controls"))
            v = c.publish_version(FunctionName="controls")["Version"]
            out["runtime_version"] = rm(c.get_runtime_management_config(FunctionName="controls", Qualifier=v))
            out["runtime_invalid"] = err(c.put_runtime_management_config, FunctionName="controls", UpdateRuntimeOn="Sometimes")
            out["runtime_manual_no_arn"] = err(c.put_runtime_management_config, FunctionName="controls", UpdateRuntimeOn="Manual")
            out["runtime_auto_with_arn"] = err(c.put_runtime_management_config, FunctionName="controls", UpdateRuntimeOn="Auto",
                                               RuntimeVersionArn=pinned)
            out["runtime_bad_arn"] = err(c.put_runtime_management_config, FunctionName="controls", UpdateRuntimeOn="Manual",
                                         RuntimeVersionArn="arn:aws:lambda:us-east-1::function:x")
            out["runtime_no_version"] = err(c.get_runtime_management_config, FunctionName="controls", Qualifier="99")

            csc = "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0"
            r = c.get_function_code_signing_config(FunctionName="controls")
            out["csc_function"] = {k: v for k, v in r.items() if k != "ResponseMetadata"}
            out["csc_function_missing"] = err(c.get_function_code_signing_config, FunctionName="csc-test-doesnotexist")
            out["csc_delete"] = c.delete_function_code_signing_config(FunctionName="controls")["ResponseMetadata"]["HTTPStatusCode"]
            out["csc_delete_missing"] = err(c.delete_function_code_signing_config, FunctionName="csc-test-doesnotexist")
            out["csc_put"] = err(c.put_function_code_signing_config, FunctionName="controls", CodeSigningConfigArn=csc)
            out["csc_get"] = err(c.get_code_signing_config, CodeSigningConfigArn=csc)
            out["csc_list"] = c.list_code_signing_configs()["CodeSigningConfigs"]
            c.delete_function(FunctionName="controls")
            """)
        func error(_ key: String) -> (code: String?, message: String?, status: Int?) {
            let e = out[key] as? [String: Any]
            return (e?["code"] as? String, e?["message"] as? String, e?["status"] as? Int)
        }
        let layerVersionArn = try XCTUnwrap(out["layer_version_arn"] as? String)
        let layerArnPrefix = String(layerVersionArn.dropLast(2))  // ...:layer:shared

        XCTAssertEqual(error("nopolicy").message, "No policy is associated with the given resource.")
        XCTAssertEqual(error("nopolicy").status, 404)
        let s1 = try XCTUnwrap(out["s1"] as? [String: Any])
        XCTAssertEqual(s1["status"] as? Int, 201)
        XCTAssertEqual(s1["statement"] as? NSDictionary, ["Sid": "s1", "Effect": "Allow", "Principal": "*", "Action": "lambda:GetLayerVersion",
                                                          "Resource": layerVersionArn] as NSDictionary)
        let policy1 = try XCTUnwrap(out["policy1"] as? [String: Any])
        XCTAssertEqual(policy1["same_revision"] as? Bool, true)
        XCTAssertEqual(policy1["policy"] as? NSDictionary, ["Version": "2012-10-17", "Id": "default", "Statement": [s1["statement"]]] as NSDictionary)
        XCTAssertEqual(out["s2_principal"] as? NSDictionary, ["AWS": "arn:aws:iam::123456789012:root"] as NSDictionary)
        XCTAssertEqual(out["sids"] as? [String], ["s1", "s2"])
        XCTAssertEqual(error("action_invalid").message, "1 validation error detected: Value '*' at 'action' failed to satisfy constraint: "
                       + "Member must satisfy regular expression pattern: lambda:GetLayerVersion")
        XCTAssertEqual(error("duplicate").code, "ResourceConflictException")
        XCTAssertEqual(error("duplicate").message,
                       "The statement id (s1) provided already exists. Please provide a new statement id, or remove the existing statement.")
        let revisionMessage = "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id"
        XCTAssertEqual(error("wrong_revision").code, "PreconditionFailedException")
        XCTAssertEqual(error("wrong_revision").message, revisionMessage)
        XCTAssertEqual(error("remove_wrong_revision").message, revisionMessage)
        XCTAssertEqual(error("principal_invalid").message, "1 validation error detected: Value 'someone' at 'principal' failed to satisfy "
                       + #"constraint: Member must satisfy regular expression pattern: \d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root"#)
        XCTAssertEqual(error("organization_not_everyone").code, "InvalidParameterValueException")
        XCTAssertEqual(error("no_layer").message, "Layer version \(layerArnPrefix)-doesnotexist:1 does not exist.")
        XCTAssertEqual(error("no_version").message, "Layer version \(layerArnPrefix):2 does not exist.")
        XCTAssertEqual(error("no_statement").message, "Statement doesnotexist is not found in resource policy.")
        XCTAssertEqual(out["removed"] as? Int, 204)
        XCTAssertEqual(out["after_remove"] as? [String], ["s1"])
        XCTAssertEqual(error("deleted_layer").code, "ResourceNotFoundException", "a deleted layer version takes its policy with it")

        XCTAssertEqual(out["recursion_default"] as? String, "Terminate")
        XCTAssertEqual(out["recursion_put"] as? String, "Allow")
        XCTAssertEqual(out["recursion_get"] as? String, "Allow")
        XCTAssertEqual(error("recursion_invalid").message, "1 validation error detected: Value 'InvalidValue' at 'recursiveLoop' failed to satisfy "
                       + "constraint: Member must satisfy enum value set: [Terminate, Allow]")
        XCTAssertEqual(error("recursion_missing").status, 404)

        let fn = "arn:aws:lambda:us-east-1:000000000000:function:controls"
        XCTAssertEqual(out["runtime_default"] as? NSDictionary, ["UpdateRuntimeOn": "Auto", "FunctionArn": fn] as NSDictionary)
        let manual: NSDictionary = ["UpdateRuntimeOn": "Manual", "FunctionArn": fn, "RuntimeVersionArn": "arn:aws:lambda:us-east-1::runtime:0123456789abcdef"]
        XCTAssertEqual(out["runtime_manual"] as? NSDictionary, manual)
        XCTAssertEqual(out["runtime_manual_get"] as? NSDictionary, manual)
        XCTAssertEqual(out["runtime_version"] as? NSDictionary, ["UpdateRuntimeOn": "Auto", "FunctionArn": fn + ":1"] as NSDictionary,
                       "a published version has its own setting")
        XCTAssertEqual(error("runtime_invalid").code, "ValidationException")
        XCTAssertEqual(error("runtime_manual_no_arn").code, "InvalidParameterValueException")
        XCTAssertEqual(error("runtime_auto_with_arn").code, "InvalidParameterValueException")
        XCTAssertEqual(error("runtime_bad_arn").code, "ValidationException")
        XCTAssertEqual(error("runtime_no_version").message, "Function not found: \(fn):99")

        XCTAssertEqual(out["csc_function"] as? NSDictionary, [:] as NSDictionary, "AWS's answer for a function without one is empty")
        XCTAssertEqual(error("csc_function_missing").message, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:csc-test-doesnotexist")
        XCTAssertEqual(out["csc_delete"] as? Int, 204)
        XCTAssertEqual(error("csc_delete_missing").status, 404)
        let csc = "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0"
        XCTAssertEqual(error("csc_put").code, "CodeSigningConfigNotFoundException")
        XCTAssertEqual(error("csc_put").message,
                       "The code signing configuration cannot be found. Check that the provided configuration is not deleted: \(csc).")
        XCTAssertEqual(error("csc_get").message, "The Lambda code signing configuration \(csc) can not be found.")
        XCTAssertEqual((out["csc_list"] as? [Any])?.count, 0)
    }

    func testValuesAreCheckedServerSide() throws {
        let fixtures = try ServeFixtures.make()
        let out = try d().boto("""
            z = open("\(fixtures)/counter-v1.zip", "rb").read()
            def make(**k):
                args = dict(FunctionName="val", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/r", Handler="app.handler", Code={"ZipFile": z})
                args.update(k)
                return err(c.create_function, **args)
            out["memory"] = make(MemorySize=20000)
            out["timeout"] = make(Timeout=901)
            out["storage"] = make(EphemeralStorage={"Size": 20000})
            out["runtime"] = make(Runtime="cobol1.0")
            out["zip"] = make(Code={"ZipFile": b"this is not a zip"})
            out["name"] = make(FunctionName="bad name!")
            out["role"] = make(Role="not-a-role")
            out["env"] = make(Environment={"Variables": {"AWS_REGION": "mars"}})
            out["ok"] = make()
            out["again"] = make()
            out["update"] = err(c.update_function_configuration, FunctionName="val", Timeout=1000)
            out["concurrency"] = err(c.put_function_concurrency, FunctionName="val", ReservedConcurrentExecutions=5000)
            """)
        func code(_ key: String) -> String? { (out[key] as? [String: Any])?["code"] as? String }
        XCTAssertEqual(code("memory"), "ValidationException")
        XCTAssertTrue(((out["memory"] as? [String: Any])?["message"] as? String ?? "").contains("10240"))
        XCTAssertEqual(code("timeout"), "ValidationException")
        XCTAssertEqual(code("storage"), "ValidationException")
        XCTAssertEqual(code("runtime"), "InvalidParameterValueException")
        XCTAssertEqual(code("zip"), "InvalidParameterValueException")
        XCTAssertEqual(code("name"), "ValidationException")
        XCTAssertEqual(code("role"), "ValidationException")
        XCTAssertEqual(code("env"), "InvalidParameterValueException")
        XCTAssertEqual((out["env"] as? [String: Any])?["message"] as? String, "Lambda was unable to configure your environment variables because "
                       + "the environment variables you have provided contains reserved keys that are currently not supported for modification. "
                       + "Reserved keys used in this request: AWS_REGION", "Lambda's words alone")
        XCTAssertNil(out["ok"] as? [String: Any], "a valid function is created: \(out["ok"] ?? "")")
        XCTAssertEqual(code("again"), "ResourceConflictException")
        XCTAssertEqual(code("update"), "ValidationException")
        XCTAssertEqual(code("concurrency"), "InvalidParameterValueException")
    }

    func testInvokeResultsErrorsAndLimits() throws {
        // 1,024 MB is 58% of a vCPU: encoding and posting the 7 MB response must finish well inside the
        // one-second timeout on a loaded machine (at 128 MB, 7% of a vCPU, it sometimes did not).
        let fixtures = try ServeFixtures.make()
        let out = try d().boto("FIXTURES = \"\(fixtures)\"\n" + (try create("inv", "Timeout=1, MemorySize=1024")) + """

            r = c.invoke(FunctionName="inv", Payload=json.dumps({"fail": True}), LogType="Tail")
            out["error"] = {"status": r["StatusCode"], "fe": r.get("FunctionError"), "body": payload(r), "log": base64.b64decode(r["LogResult"]).decode()}
            r = c.invoke(FunctionName="inv", Payload=json.dumps({"sleep": 3}))
            out["timeout"] = {"fe": r.get("FunctionError"), "body": payload(r)}
            r = c.invoke(FunctionName="inv", Payload=b"{}")
            out["after_timeout"] = payload(r)
            r = c.invoke(FunctionName="inv", Payload=json.dumps({"big": True}))
            out["big_response"] = {"fe": r.get("FunctionError"), "body": payload(r)}
            out["big_request"] = err(c.invoke, FunctionName="inv", Payload=b'"' + b"x" * (7 * 1024 * 1024) + b'"')
            out["not_json"] = err(c.invoke, FunctionName="inv", Payload=b"{not json")
            r = c.invoke(FunctionName="inv", InvocationType="DryRun")
            out["dry"] = r["StatusCode"]
            out["unknown"] = err(c.invoke, FunctionName="no-such-function")
            # The bootstrap gives up after the oversize response (413, then 403 for its /error) and exits while
            # its sandbox is idle: that sandbox is not reused (the pause lets Python's exit finish).
            time.sleep(0.5)
            r = c.invoke(FunctionName="arn:aws:lambda:us-east-1:000000000000:function:inv", Payload=b"{}", LogType="Tail")
            out["by_arn"] = r["StatusCode"]
            out["by_arn_error"] = r.get("FunctionError")
            out["same_id"] = ("START RequestId: " + r["ResponseMetadata"]["RequestId"]) in base64.b64decode(r["LogResult"]).decode()
            r = c.invoke(FunctionName="inv", InvocationType="Event", Payload=json.dumps({"event": True}))
            out["event_status"] = r["StatusCode"]
            import urllib.request
            ran = False
            for _ in range(100):
                log = urllib.request.urlopen(c.meta.endpoint_url + "/hearth/v1/functions/inv/logs").read().decode()
                if "REPORT RequestId: " + r["ResponseMetadata"]["RequestId"] in log:
                    ran = True
                    break
                time.sleep(0.1)
            out["event_ran"] = ran
            out["event_too_big"] = err(c.invoke, FunctionName="inv", InvocationType="Event", Payload=b'"' + b"x" * (1024 * 1024 + 10) + b'"')
            out["bad_context"] = err(c.invoke, FunctionName="inv", Payload=b"{}", ClientContext="not base64 json!")
            # JSON whitespace may be CR LF; the runtime gets the context in a header all the same.
            context = base64.b64encode(b'{"custom":' + bytes([13, 10]) + b' {"a": "b"}}').decode()
            r = payload(c.invoke(FunctionName="inv", Payload=b"{}", ClientContext=context))
            out["context"] = r.get("custom")
            out["identity"] = r.get("identity", "absent")
            c.create_function(FunctionName="node", Runtime="nodejs20.x", Role="arn:aws:iam::123456789012:role/hearth",
                              Handler="index.handler", Code={"ZipFile": open(FIXTURES + "/node.zip", "rb").read()})
            out["node"] = payload(c.invoke(FunctionName="node", Payload=b"{}", ClientContext=context))
            """)
        let error = try XCTUnwrap(out["error"] as? [String: Any])
        XCTAssertEqual(error["status"] as? Int, 200)
        XCTAssertEqual(error["fe"] as? String, "Unhandled")
        XCTAssertEqual((error["body"] as? [String: Any])?["errorType"] as? String, "ValueError")
        XCTAssertEqual((error["body"] as? [String: Any])?["errorMessage"] as? String, "asked to fail")
        let log = error["log"] as? String ?? ""
        XCTAssertTrue(log.contains("START RequestId:") && log.contains("REPORT RequestId:") && log.contains("Max Memory Used:"), log)
        let timeout = try XCTUnwrap(out["timeout"] as? [String: Any])
        XCTAssertEqual(timeout["fe"] as? String, "Unhandled")
        XCTAssertEqual((timeout["body"] as? [String: Any])?["errorType"] as? String, "Sandbox.Timedout")
        XCTAssertTrue(((timeout["body"] as? [String: Any])?["errorMessage"] as? String ?? "").contains("Task timed out after 1.00 seconds"))
        XCTAssertEqual((out["after_timeout"] as? [String: Any])?["count"] as? Int, 1, "a sandbox that timed out is never reused")
        XCTAssertEqual((out["big_response"] as? [String: Any])?["fe"] as? String, "Unhandled")
        XCTAssertEqual(((out["big_response"] as? [String: Any])?["body"] as? [String: Any])?["errorType"] as? String, "Function.ResponseSizeTooLarge")
        XCTAssertEqual((out["big_request"] as? [String: Any])?["status"] as? Int, 413)
        XCTAssertEqual((out["big_request"] as? [String: Any])?["code"] as? String, "RequestEntityTooLargeException")
        XCTAssertEqual((out["not_json"] as? [String: Any])?["code"] as? String, "InvalidRequestContentException")
        XCTAssertEqual(out["dry"] as? Int, 204)
        XCTAssertEqual((out["unknown"] as? [String: Any])?["status"] as? Int, 404)
        XCTAssertEqual(out["by_arn"] as? Int, 200)
        XCTAssertNil(out["by_arn_error"] as? String, "a sandbox whose runtime exited between invocations was reused")
        XCTAssertEqual(out["same_id"] as? Bool, true, "x-amzn-RequestId is the invocation's request id")
        XCTAssertEqual(out["event_status"] as? Int, 202)
        XCTAssertEqual(out["event_ran"] as? Bool, true, "an Event invocation runs in the background under its request id")
        XCTAssertEqual((out["event_too_big"] as? [String: Any])?["status"] as? Int, 413)
        XCTAssertEqual((out["bad_context"] as? [String: Any])?["code"] as? String, "InvalidParameterValueException")
        XCTAssertEqual(out["context"] as? [String: String], ["a": "b"], "a client context with CR LF between its tokens, as context.client_context.custom")
        XCTAssertTrue(out["identity"] is NSNull, "context.identity.cognito_identity_id is None without an identity")
        let node = out["node"] as? [String: Any]
        XCTAssertEqual(node?["custom"] as? [String: String], ["a": "b"], "Node.js: context.clientContext.custom")
        XCTAssertEqual(node?["identity"] as? String, "undefined", "Node.js: no context.identity without one")

        // A body with no Content-Length (chunked) is cut off at the limit all the same.
        let daemon = try d()
        let big = daemon.base + "/big.json"
        try Data(("\"" + String(repeating: "y", count: 7 * 1024 * 1024) + "\"").utf8).write(to: URL(fileURLWithPath: big))
        let (status, headers, _) = try daemon.http("POST", "/2015-03-31/functions/inv/invocations", body: "@" + big,
                                                   headers: ["Transfer-Encoding: chunked", "Content-Type: application/json"])
        XCTAssertEqual(status, 413)
        XCTAssertEqual(headers["x-amzn-errortype"], "RequestEntityTooLargeException")

        // curl asks before sending a body over 1 MB (Expect: 100-continue) and gets its go-ahead at once.
        let medium = daemon.base + "/medium.json"
        try Data(("\"" + String(repeating: "m", count: 2 * 1024 * 1024) + "\"").utf8).write(to: URL(fileURLWithPath: medium))
        let (curlStatus, curlOut) = try RuntimeImages.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-D", "-", "-H", "Expect: 100-continue",
                                                                       "--data-binary", "@" + medium,
                                                                       daemon.endpoint + "/2015-03-31/functions/inv/invocations"])
        XCTAssertEqual(curlStatus, 0, curlOut)
        XCTAssertTrue(curlOut.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), curlOut)
    }

    func testPreconditionsUnknownRoutesAndMalformedRequests() throws {
        let daemon = try d()
        let out = try daemon.boto(try create("pre") + """

            out["stale_revision"] = err(c.update_function_configuration, FunctionName="pre", Timeout=4, RevisionId="not-the-revision")
            out["wrong_sha"] = err(c.publish_version, FunctionName="pre", CodeSha256="AAAA")
            out["stale_publish"] = err(c.publish_version, FunctionName="pre", RevisionId="not-the-revision")
            rev = c.get_function(FunctionName="pre")["Configuration"]["RevisionId"]
            out["fresh_revision"] = c.update_function_configuration(FunctionName="pre", Timeout=4, RevisionId=rev)["Timeout"]
            out["s3"] = err(c.create_function, FunctionName="pre-s3", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/r",
                            Handler="app.handler", Code={"S3Bucket": "my-bucket", "S3Key": "code.zip"})
            l = c.publish_layer_version(LayerName="byarn", Content={"ZipFile": open("\(try ServeFixtures.make())/layer.zip", "rb").read()})
            out["by_arn"] = c.get_layer_version_by_arn(Arn=l["LayerVersionArn"])["Version"]
            """)
        XCTAssertEqual((out["stale_revision"] as? [String: Any])?["code"] as? String, "PreconditionFailedException")
        XCTAssertEqual((out["stale_revision"] as? [String: Any])?["status"] as? Int, 412)
        XCTAssertEqual((out["wrong_sha"] as? [String: Any])?["code"] as? String, "InvalidParameterValueException")
        XCTAssertEqual((out["stale_publish"] as? [String: Any])?["code"] as? String, "PreconditionFailedException")
        XCTAssertEqual(out["fresh_revision"] as? Int, 4)
        XCTAssertEqual((out["s3"] as? [String: Any])?["code"] as? String, "InvalidParameterValueException")
        XCTAssertEqual(out["by_arn"] as? Int, 1)

        var (status, headers, body) = try daemon.http("GET", "/2015-03-31/nothing/here")
        XCTAssertEqual(status, 404)
        XCTAssertEqual(headers["x-amzn-errortype"], "UnknownOperationException")
        (status, headers, _) = try daemon.http("PATCH", "/2015-03-31/functions/pre")
        XCTAssertEqual(status, 405)
        XCTAssertEqual(headers["x-amzn-errortype"], "MethodNotAllowedException")
        (status, headers, body) = try daemon.http("POST", "/2015-03-31/functions", body: "{not json")
        XCTAssertEqual(status, 400)
        XCTAssertEqual(headers["x-amzn-errortype"], "InvalidRequestContentException")
        XCTAssertTrue(body.contains("Could not parse request body"), body)
        (status, headers, _) = try daemon.http("PUT", "/2017-10-31/functions/pre/concurrency", body: #"{"ReservedConcurrentExecutions": "ten"}"#)
        XCTAssertEqual(status, 400)
        XCTAssertEqual(headers["x-amzn-errortype"], "SerializationException")
    }

    func testWarmSandboxIsReusedAndTmpIsItsOwn() throws {
        let out = try d().boto(try create("warm") + """

            out["seq"] = [payload(c.invoke(FunctionName="warm", Payload=b"{}")) for _ in range(3)]
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                futures = [pool.submit(lambda: payload(c.invoke(FunctionName="warm", Payload=json.dumps({"sleep": 1.5})))) for _ in range(2)]
                out["parallel"] = [f.result() for f in futures]
            """)
        let seq = try XCTUnwrap(out["seq"] as? [[String: Any]])
        XCTAssertEqual(seq.map { $0["count"] as? Int }, [1, 2, 3], "the global counter rises: the same sandbox served all three")
        XCTAssertEqual(Set(seq.compactMap { $0["token"] as? String }).count, 1)
        let sockets = seq.map { $0["sockets"] as? [String] ?? [] }
        XCTAssertEqual(sockets[0].count, 1, "the Python runtime holds one connection to the Runtime API: \(sockets[0])")
        XCTAssertEqual(Set(sockets).count, 1, "and keeps it from one invocation to the next: \(sockets)")
        XCTAssertTrue(seq[0]["seen"] is NSNull, "a new sandbox's /tmp starts empty")
        XCTAssertEqual(seq[1]["seen"] as? String, seq[0]["token"] as? String, "/tmp persists between warm invocations")
        let parallel = try XCTUnwrap(out["parallel"] as? [[String: Any]])
        let tokens = parallel.compactMap { $0["token"] as? String }
        XCTAssertEqual(Set(tokens).count, 2, "two concurrent invocations run in two sandboxes, one each")
        let fresh = try XCTUnwrap(parallel.first { $0["token"] as? String != seq[0]["token"] as? String })
        XCTAssertTrue(fresh["seen"] is NSNull, "the second sandbox never sees the first one's /tmp")
    }

    func testReservedConcurrencyThrottlesAtOnce() throws {
        let out = try d().boto(try create("thr") + """

            c.put_function_concurrency(FunctionName="thr", ReservedConcurrentExecutions=1)
            out["get"] = c.get_function_concurrency(FunctionName="thr").get("ReservedConcurrentExecutions")
            out["in_get_function"] = c.get_function(FunctionName="thr").get("Concurrency")
            def call():
                start = time.time()
                e = err(c.invoke, FunctionName="thr", Payload=json.dumps({"sleep": 2}))
                return {"err": e, "seconds": time.time() - start}
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                results = list(pool.map(lambda _: call(), range(3)))
            out["results"] = results
            c.put_function_concurrency(FunctionName="thr", ReservedConcurrentExecutions=0)
            out["zero"] = err(c.invoke, FunctionName="thr", Payload=b"{}")
            c.delete_function_concurrency(FunctionName="thr")
            out["after_delete"] = c.get_function_concurrency(FunctionName="thr").get("ReservedConcurrentExecutions")
            out["ok_again"] = payload(c.invoke(FunctionName="thr", Payload=b"{}"))["count"] > 0
            """)
        XCTAssertEqual(out["get"] as? Int, 1)
        XCTAssertEqual((out["in_get_function"] as? [String: Any])?["ReservedConcurrentExecutions"] as? Int, 1)
        let results = try XCTUnwrap(out["results"] as? [[String: Any]])
        let throttled = results.compactMap { $0["err"] as? [String: Any] }
        XCTAssertEqual(throttled.count, 2, "one runs, two are refused: \(results)")
        for t in throttled {
            XCTAssertEqual(t["status"] as? Int, 429)
            XCTAssertEqual(t["code"] as? String, "TooManyRequestsException")
            XCTAssertEqual(t["reason"] as? String, "ReservedFunctionConcurrentInvocationLimitExceeded")
        }
        let refusedQuickly = results.filter { $0["err"] is [String: Any] }.allSatisfy { ($0["seconds"] as? Double ?? 9) < 1.5 }
        XCTAssertTrue(refusedQuickly, "a throttle is answered at once, not after waiting: \(results)")
        XCTAssertEqual((out["zero"] as? [String: Any])?["reason"] as? String, "ReservedFunctionConcurrentInvocationLimitExceeded")
        XCTAssertTrue(out["after_delete"] is NSNull)
        XCTAssertEqual(out["ok_again"] as? Bool, true)
    }

    func testVersionsAndAliases() throws {
        let fixtures = try ServeFixtures.make()
        let out = try d().boto(try create("ver") + """

            v1 = c.publish_version(FunctionName="ver", Description="one")
            out["v1"] = v1["Version"]
            out["v1_arn"] = v1["FunctionArn"]
            out["same"] = c.publish_version(FunctionName="ver")["Version"]
            c.update_function_code(FunctionName="ver", ZipFile=open("\(fixtures)/counter-v2.zip", "rb").read())
            out["v2"] = c.publish_version(FunctionName="ver")["Version"]
            out["versions"] = [v["Version"] for v in c.list_versions_by_function(FunctionName="ver")["Versions"]]
            a = c.create_alias(FunctionName="ver", Name="live", FunctionVersion="1", Description="prod")
            out["alias_arn"] = a["AliasArn"]
            r = c.invoke(FunctionName="ver", Qualifier="live", Payload=b"{}")
            out["via_alias"] = {"executed": r["ExecutedVersion"], "body": payload(r)}
            r = c.invoke(FunctionName="ver:2", Payload=b"{}")
            out["via_version"] = {"executed": r["ExecutedVersion"], "body": payload(r)}
            r = c.invoke(FunctionName="ver", Payload=b"{}")
            out["latest"] = {"executed": r["ExecutedVersion"], "code": payload(r)["code"]}
            c.update_alias(FunctionName="ver", Name="live", FunctionVersion="2")
            out["alias_now"] = c.get_alias(FunctionName="ver", Name="live")["FunctionVersion"]
            out["aliases"] = [x["Name"] for x in c.list_aliases(FunctionName="ver")["Aliases"]]
            out["delete_used_version"] = err(c.delete_function, FunctionName="ver", Qualifier="2")
            c.delete_function(FunctionName="ver", Qualifier="1")
            out["versions_after"] = [v["Version"] for v in c.list_versions_by_function(FunctionName="ver")["Versions"]]
            c.delete_alias(FunctionName="ver", Name="live")
            out["alias_gone"] = err(c.get_alias, FunctionName="ver", Name="live")
            out["bad_alias"] = err(c.create_alias, FunctionName="ver", Name="live", FunctionVersion="99")
            """)
        XCTAssertEqual(out["v1"] as? String, "1")
        XCTAssertEqual(out["v1_arn"] as? String, "arn:aws:lambda:us-east-1:000000000000:function:ver:1")
        XCTAssertEqual(out["same"] as? String, "1", "publishing unchanged code returns the existing version")
        XCTAssertEqual(out["v2"] as? String, "2")
        XCTAssertEqual(out["versions"] as? [String], ["$LATEST", "1", "2"])
        XCTAssertEqual(out["alias_arn"] as? String, "arn:aws:lambda:us-east-1:000000000000:function:ver:live")
        let viaAlias = try XCTUnwrap(out["via_alias"] as? [String: Any])
        XCTAssertEqual(viaAlias["executed"] as? String, "1")
        XCTAssertEqual((viaAlias["body"] as? [String: Any])?["code"] as? String, "v1", "version 1 keeps its code after $LATEST changed")
        XCTAssertEqual(((viaAlias["body"] as? [String: Any])?["env"] as? [String: Any])?["AWS_LAMBDA_FUNCTION_VERSION"] as? String, "1")
        XCTAssertEqual((out["via_version"] as? [String: Any])?["executed"] as? String, "2")
        XCTAssertEqual(((out["via_version"] as? [String: Any])?["body"] as? [String: Any])?["code"] as? String, "v2")
        XCTAssertEqual((out["latest"] as? [String: Any])?["executed"] as? String, "$LATEST")
        XCTAssertEqual(out["alias_now"] as? String, "2")
        XCTAssertEqual(out["aliases"] as? [String], ["live"])
        XCTAssertEqual((out["delete_used_version"] as? [String: Any])?["code"] as? String, "ResourceConflictException")
        XCTAssertEqual(out["versions_after"] as? [String], ["$LATEST", "2"])
        XCTAssertEqual((out["alias_gone"] as? [String: Any])?["code"] as? String, "ResourceNotFoundException")
        XCTAssertEqual((out["bad_alias"] as? [String: Any])?["code"] as? String, "ResourceNotFoundException")
    }

    func testLayersAndProvisionedConcurrency() throws {
        let fixtures = try ServeFixtures.make()
        let out = try d().boto("""
            l = c.publish_layer_version(LayerName="helpers", Content={"ZipFile": open("\(fixtures)/layer.zip", "rb").read()}, CompatibleRuntimes=["python3.11"])
            out["layer_version"] = l["Version"]
            out["layer_arn"] = l["LayerVersionArn"]
            out["get_layer"] = c.get_layer_version(LayerName="helpers", VersionNumber=1)["Version"]
            out["list_layers"] = [x["LayerName"] for x in c.list_layers()["Layers"]]
            out["list_versions"] = [x["Version"] for x in c.list_layer_versions(LayerName="helpers")["LayerVersions"]]
            c.create_function(FunctionName="lay", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/r", Handler="app.layered",
                              Code={"ZipFile": open("\(fixtures)/counter-v1.zip", "rb").read()}, Layers=[l["LayerVersionArn"]])
            out["layered"] = payload(c.invoke(FunctionName="lay", Payload=b"{}"))
            out["missing_layer"] = err(c.update_function_configuration, FunctionName="lay", Layers=["arn:aws:lambda:us-east-1:000000000000:layer:helpers:9"])
            \(try create("prov"))
            v = c.publish_version(FunctionName="prov")["Version"]
            out["latest_refused"] = err(c.put_provisioned_concurrency_config, FunctionName="prov", Qualifier="$LATEST", ProvisionedConcurrentExecutions=1)
            p = c.put_provisioned_concurrency_config(FunctionName="prov", Qualifier=v, ProvisionedConcurrentExecutions=1)
            out["put_status"] = p["Status"]
            for _ in range(100):
                g = c.get_provisioned_concurrency_config(FunctionName="prov", Qualifier=v)
                if g["Status"] == "READY":
                    break
                time.sleep(0.1)
            out["ready"] = g["Status"]
            out["allocated"] = g["AllocatedProvisionedConcurrentExecutions"]
            out["provisioned_invoke"] = payload(c.invoke(FunctionName="prov", Qualifier=v, Payload=b"{}"))
            c.delete_provisioned_concurrency_config(FunctionName="prov", Qualifier=v)
            out["after_delete"] = err(c.get_provisioned_concurrency_config, FunctionName="prov", Qualifier=v)
            c.delete_layer_version(LayerName="helpers", VersionNumber=1)
            out["layer_gone"] = err(c.get_layer_version, LayerName="helpers", VersionNumber=1)
            """)
        XCTAssertEqual(out["layer_version"] as? Int, 1)
        XCTAssertEqual(out["layer_arn"] as? String, "arn:aws:lambda:us-east-1:000000000000:layer:helpers:1")
        XCTAssertEqual(out["get_layer"] as? Int, 1)
        XCTAssertEqual(out["list_layers"] as? [String], ["helpers"])
        XCTAssertEqual(out["list_versions"] as? [Int], [1])
        XCTAssertEqual((out["layered"] as? [String: Any])?["layer"] as? String, "from the layer", "the layer is at /opt/python")
        XCTAssertEqual((out["missing_layer"] as? [String: Any])?["code"] as? String, "InvalidParameterValueException")
        XCTAssertEqual((out["latest_refused"] as? [String: Any])?["code"] as? String, "InvalidParameterValueException")
        XCTAssertEqual(out["put_status"] as? String, "IN_PROGRESS")
        XCTAssertEqual(out["ready"] as? String, "READY")
        XCTAssertEqual(out["allocated"] as? Int, 1)
        let provisioned = try XCTUnwrap(out["provisioned_invoke"] as? [String: Any])
        XCTAssertEqual((provisioned["env"] as? [String: Any])?["AWS_LAMBDA_INITIALIZATION_TYPE"] as? String, "provisioned-concurrency")
        XCTAssertEqual(provisioned["count"] as? Int, 1)
        XCTAssertEqual((out["after_delete"] as? [String: Any])?["code"] as? String, "ProvisionedConcurrencyConfigNotFoundException")
        XCTAssertEqual((out["layer_gone"] as? [String: Any])?["code"] as? String, "ResourceNotFoundException")
    }

    func testAccountSettingsMetricsHealthAndLogs() throws {
        let daemon = try d()
        let out = try daemon.boto(try create("obs") + """

            for _ in range(2):
                c.invoke(FunctionName="obs", Payload=b"{}")
            c.invoke(FunctionName="obs", Payload=json.dumps({"fail": True}))
            s = c.get_account_settings()
            out["limit"] = s["AccountLimit"]["ConcurrentExecutions"]
            out["count"] = s["AccountUsage"]["FunctionCount"]
            out["codeSize"] = s["AccountUsage"]["TotalCodeSize"]
            c.put_function_concurrency(FunctionName="obs", ReservedConcurrentExecutions=7)
            out["unreserved"] = c.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
            """)
        XCTAssertEqual(out["limit"] as? Int, 1000)
        XCTAssertGreaterThanOrEqual(out["count"] as? Int ?? 0, 1)
        XCTAssertGreaterThan(out["codeSize"] as? Int ?? 0, 100, "the stored zip counts")
        XCTAssertEqual(out["unreserved"] as? Int, 993)
        for digest in [String(repeating: "0", count: 64), String(repeating: "A", count: 64), "../state.db"] {
            XCTAssertEqual(try daemon.http("GET", "/hearth/v1/code/" + digest).0, 404, digest)
        }
        let (healthStatus, _, health) = try daemon.http("GET", "/healthz")
        XCTAssertEqual(healthStatus, 200)
        XCTAssertEqual(health, "ok\n")
        let (metricsStatus, _, metrics) = try daemon.http("GET", "/metrics")
        XCTAssertEqual(metricsStatus, 200)
        XCTAssertTrue(metrics.contains("hearth_invocations_total{function=\"obs\"} 3"), metrics)
        XCTAssertTrue(metrics.contains("hearth_errors_total{function=\"obs\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("hearth_cold_starts_total{function=\"obs\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("hearth_warm_starts_total{function=\"obs\"} 2"), metrics)
        XCTAssertTrue(metrics.contains("hearth_invocation_duration_seconds_count{function=\"obs\"} 3"), metrics)
        XCTAssertTrue(metrics.contains("hearth_sandboxes{function=\"obs\",state=\"idle\"} 1"), metrics)
        let (logStatus, _, log) = try daemon.http("GET", "/hearth/v1/functions/obs/logs")
        XCTAssertEqual(logStatus, 200)
        XCTAssertEqual(log.components(separatedBy: "REPORT RequestId:").count - 1, 3, log)
        XCTAssertTrue(log.contains("count 2"), "the function's own output is in its log: \(log)")
        XCTAssertTrue(log.contains("ValueError"), log)
        let (unknownStatus, headers, unknown) = try daemon.http("GET", "/2015-03-31/functions/none-such")
        XCTAssertEqual(unknownStatus, 404)
        XCTAssertEqual(headers["x-amzn-errortype"], "ResourceNotFoundException")
        XCTAssertNotNil(headers["x-amzn-requestid"])
        XCTAssertTrue(unknown.contains("Function not found"))
    }

    func testImageFunctionsFromALocalImage() throws {
        let fixtures = try ServeFixtures.make()
        let out = try d().boto("""
            f = c.create_function(FunctionName="img", PackageType="Image", Role="arn:aws:iam::123456789012:role/r",
                                  Code={"ImageUri": "\(fixtures)/fnimage:fn"})
            out["type"] = f["PackageType"]
            out["runtime"] = f.get("Runtime")
            out["code"] = c.get_function(FunctionName="img")["Code"]
            out["first"] = payload(c.invoke(FunctionName="img", Payload=b"{}"))
            out["second"] = payload(c.invoke(FunctionName="img", Payload=b"{}"))
            c.update_function_configuration(FunctionName="img", ImageConfig={"Command": ["app.layered"]})
            r = c.invoke(FunctionName="img", Payload=b"{}")
            out["override"] = {"fe": r.get("FunctionError"), "body": payload(r)}
            out["with_runtime"] = err(c.create_function, FunctionName="img2", PackageType="Image", Runtime="python3.11",
                                      Role="arn:aws:iam::123456789012:role/r", Code={"ImageUri": "\(fixtures)/fnimage:fn"})
            out["missing"] = err(c.create_function, FunctionName="img3", PackageType="Image", Role="arn:aws:iam::123456789012:role/r",
                                 Code={"ImageUri": "\(fixtures)/no-such-image"})
            """)
        XCTAssertEqual(out["type"] as? String, "Image")
        XCTAssertNil(out["runtime"] as? String, "image functions have no Runtime")
        XCTAssertEqual((out["code"] as? [String: Any])?["RepositoryType"] as? String, "ECR")
        XCTAssertTrue(((out["code"] as? [String: Any])?["ResolvedImageUri"] as? String ?? "").hasPrefix("sha256:"))
        XCTAssertEqual((out["first"] as? [String: Any])?["count"] as? Int, 1)
        XCTAssertEqual((out["second"] as? [String: Any])?["count"] as? Int, 2, "image functions reuse warm sandboxes too")
        let override = try XCTUnwrap(out["override"] as? [String: Any])
        XCTAssertEqual(override["fe"] as? String, "Unhandled")
        XCTAssertEqual((override["body"] as? [String: Any])?["errorType"] as? String, "ModuleNotFoundError",
                       "ImageConfig.Command replaced CMD: the layered handler ran without its layer")
        XCTAssertEqual((out["with_runtime"] as? [String: Any])?["code"] as? String, "InvalidParameterValueException")
        XCTAssertEqual((out["missing"] as? [String: Any])?["code"] as? String, "InvalidParameterValueException")
    }

    func testTheAWSCLIWorksWithEndpointURL() throws {
        let fixtures = try ServeFixtures.make()
        let daemon = try d()
        let (which, _) = try RuntimeImages.run("/usr/bin/env", ["sh", "-c", "command -v aws"])
        guard which == 0 else { throw XCTSkip("the aws CLI is not installed (scripts/setup installs it from PyPI)") }
        var (status, out) = try daemon.aws(["lambda", "create-function", "--function-name", "cli", "--runtime", "python3.11",
                                            "--role", "arn:aws:iam::123456789012:role/r", "--handler", "app.handler",
                                            "--zip-file", "fileb://\(fixtures)/counter-v1.zip"])
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("\"FunctionName\": \"cli\""), out)
        (status, out) = try daemon.aws(["lambda", "invoke", "--function-name", "cli", "--payload", "{\"sleep\": 0}", "--log-type", "Tail", "result.json"])
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("\"StatusCode\": 200"), out)
        XCTAssertTrue(out.contains("\"ExecutedVersion\": \"$LATEST\""), out)
        let result = try String(contentsOfFile: daemon.base + "/result.json", encoding: .utf8)
        XCTAssertTrue(result.contains("\"count\": 1"), result)
        (status, out) = try daemon.aws(["lambda", "list-functions"])
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("\"FunctionName\": \"cli\""), out)
        (status, out) = try daemon.aws(["lambda", "get-function-configuration", "--function-name", "cli"])
        XCTAssertTrue(out.contains("\"Handler\": \"app.handler\""), out)
        (status, out) = try daemon.aws(["lambda", "delete-function", "--function-name", "cli"])
        XCTAssertEqual(status, 0, out)
        (status, out) = try daemon.aws(["lambda", "get-function", "--function-name", "cli"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(out.contains("ResourceNotFoundException"), out)
    }
}
