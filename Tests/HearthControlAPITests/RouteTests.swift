import Foundation
import HearthModel
@testable import HearthControlAPI
import HearthState
import HearthRegistry
@testable import HearthSupervisor
import XCTest

/// The control API's routes against a fake `FunctionService`: what each route asks of the service, and
/// how it answers in Lambda's words (status, headers, error bodies), without a daemon, a socket or root.
final class RouteTests: XCTestCase {
    var directory = ""
    var service: FakeFunctionService!
    var api: LambdaAPI!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "hearth-routes-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        service = FakeFunctionService(spillDirectory: directory)
        api = LambdaAPI(service: service)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func send(_ method: String, _ uri: String, headers: [String: String] = [:], body: String = "") async -> APIResponse {
        var request = APIRequest(method: method, uri: uri, headers: headers.merging(["host": "127.0.0.1:9000"]) { a, _ in a }, body: Array(body.utf8))
        request.spillDirectory = directory
        return await api.handle(request)
    }

    func header(_ response: APIResponse, _ name: String) -> String? {
        response.headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    func document(_ response: APIResponse) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], String(decoding: response.body, as: UTF8.self))
    }

    func assertError(_ response: APIResponse, _ status: Int, _ type: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(response.status, status, String(decoding: response.body, as: UTF8.self), file: file, line: line)
        XCTAssertEqual(header(response, "x-amzn-ErrorType"), type, file: file, line: line)
    }

    let invocations = "/2015-03-31/functions/f/invocations"

    // MARK: routing

    func testUnknownPathsAndMethodsAreRefusedInLambdasWords() async throws {
        assertError(await send("GET", "/2015-03-31/nothing"), 404, "UnknownOperationException")
        assertError(await send("PATCH", "/2015-03-31/functions/f"), 405, "MethodNotAllowedException")
        let response = await send("GET", "/2015-03-31/functions/missing")
        assertError(response, 404, "ResourceNotFoundException")
        XCTAssertEqual(try document(response)["Message"] as? String, "Function not found: arn:aws:lambda:eu-west-1:000000000000:function:missing")
        XCTAssertEqual(try document(response)["Type"] as? String, "User")
    }

    /// An ARN of another region names nothing here (test_get_function_wrong_region); a bad name is refused whole.
    func testAFunctionARNOfAnotherRegionIsNotFoundInAWSsWords() async throws {
        let response = await send("GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A000000000000%3Afunction%3Af")
        assertError(response, 404, "ResourceNotFoundException")
        XCTAssertEqual(try document(response)["Message"] as? String, "Functions from 'us-west-2' are not reachable in this region ('eu-west-1')")
        // Nor can one be made there: CreateFunction with such an ARN creates nothing.
        let create = await send("POST", "/2015-03-31/functions", body: #"{"FunctionName": "arn:aws:lambda:us-west-2:000000000000:function:f", "Role": "arn:aws:iam::123456789012:role/r", "Runtime": "python3.11", "Handler": "a.b", "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}"#)
        assertError(create, 404, "ResourceNotFoundException")
        XCTAssertEqual(try document(create)["Message"] as? String, "Functions from 'us-west-2' are not reachable in this region ('eu-west-1')")
        let bad = await send("GET", "/2015-03-31/functions/my-function!")
        assertError(bad, 400, "ValidationException")
        XCTAssertTrue((try document(bad)["Message"] as? String ?? "").hasPrefix("1 validation error detected: Value 'my-function!' at 'functionName'"))
    }

    /// Code in S3 needs both its bucket and key, and a daemon with an S3 endpoint; both refusals name what is missing.
    func testCodeInS3IsRefusedInWordsThatSayWhatIsMissing() async throws {
        func create(_ code: String) async -> APIResponse {
            await send("POST", "/2015-03-31/functions", body: #"{"FunctionName": "f", "Role": "arn:aws:iam::123456789012:role/r", "Runtime": "python3.11", "Handler": "a.b", "Code": "# + code + "}")
        }
        let half = await create(#"{"S3Bucket": "code-bucket"}"#)
        assertError(half, 400, "InvalidParameterValueException")
        XCTAssertEqual(try document(half)["Message"] as? String, "Please provide both S3Bucket and S3Key.")
        let none = await create(#"{"S3Bucket": "code-bucket", "S3Key": "app.zip"}"#)
        assertError(none, 400, "InvalidParameterValueException")
        XCTAssertEqual(try document(none)["Message"] as? String,
                       "This daemon reads no S3 (set s3_endpoint in its configuration): upload the zip as ZipFile instead.")
    }

    /// A LayerName is a name or the layer's ARN; anything else ARN-shaped is refused with the pattern.
    func testALayerIsNamedByNameOrByItsARN() throws {
        XCTAssertEqual(try LambdaAPI.layerName("deps"), "deps")
        XCTAssertEqual(try LambdaAPI.layerName("arn:aws:lambda:us-east-1:000000000000:layer:deps"), "deps")
        for bad in ["arn:aws:lambda:us-east-1:000000000000:function:deps", "arn:aws:lambda:us-east-1:000000000000:layer:", "arn:aws:s3:::x"] {
            XCTAssertThrowsError(try LambdaAPI.layerName(bad), bad) { error in
                XCTAssertEqual((error as? ServiceError)?.type, "ValidationException", bad)
            }
        }
    }

    func testEveryResponseCarriesARequestIdAndAnInvocationRunsUnderIt() async throws {
        service.reader.put("f")
        let response = await send("POST", invocations, body: "{}")
        let requestId = try XCTUnwrap(header(response, "x-amzn-RequestId"))
        XCTAssertEqual(service.calls.withLock { $0.invocations.first?.requestId }, requestId)
        let refused = await send("GET", "/nothing")
        XCTAssertNotNil(header(refused, "x-amzn-RequestId"), "errors carry one too")
    }

    // MARK: invoke

    func testARequestResponseInvocationAnswersThePayloadAndVersion() async throws {
        service.reader.put("f", version: "3")
        let response = await send("POST", invocations + "?Qualifier=3", body: #"{"a":1}"#)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), #"{"a":1}"#)
        XCTAssertEqual(header(response, "X-Amz-Executed-Version"), "3")
        XCTAssertNil(header(response, "X-Amz-Function-Error"))
        XCTAssertNil(header(response, "X-Amz-Log-Result"), "no log unless LogType is Tail")
        XCTAssertEqual(service.calls.withLock { $0.invocations.first?.ref.qualifier }, "3")
    }

    func testAnEmptyPayloadIsAnEmptyObject() async throws {
        service.reader.put("f")
        _ = await send("POST", invocations)
        XCTAssertEqual(service.calls.withLock { $0.invocations.first?.payload }, Array("{}".utf8))
    }

    func testAFunctionErrorIsA200WithXAmzFunctionError() async throws {
        service.reader.put("f")
        service.onInvoke.withLock {
            $0 = { _, _ in FakeFunctionService.outcome(.error(Array(#"{"errorType":"Boom"}"#.utf8), type: "Boom"), tail: "log line\n") }
        }
        let response = await send("POST", invocations, headers: ["x-amz-log-type": "Tail"], body: "{}")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(header(response, "X-Amz-Function-Error"), "Unhandled")
        XCTAssertEqual(try document(response)["errorType"] as? String, "Boom")
        XCTAssertEqual(header(response, "X-Amz-Log-Result"), Data("log line\n".utf8).base64EncodedString())
    }

    func testAThrottleCarriesItsReason() async throws {
        service.reader.put("f")
        service.onInvoke.withLock { $0 = { _, _ throws(ServiceError) in throw .throttled("ReservedFunctionConcurrentInvocationLimitExceeded") } }
        let response = await send("POST", invocations, body: "{}")
        assertError(response, 429, "TooManyRequestsException")
        let body = try document(response)
        XCTAssertEqual(body["Reason"] as? String, "ReservedFunctionConcurrentInvocationLimitExceeded")
        XCTAssertEqual(body["message"] as? String, "Rate Exceeded.")
        XCTAssertNil(body["Message"], "a throttle's message is lower-case, as Lambda sends it")
    }

    func testDryRunChecksTheFunctionWithoutRunningIt() async throws {
        service.reader.put("f")
        let response = await send("POST", invocations, headers: ["x-amz-invocation-type": "DryRun"], body: "{}")
        XCTAssertEqual(response.status, 204)
        XCTAssertEqual(header(response, "X-Amz-Executed-Version"), "$LATEST")
        XCTAssertTrue(service.calls.withLock { $0.invocations.isEmpty })
        assertError(await send("POST", "/2015-03-31/functions/g/invocations", headers: ["x-amz-invocation-type": "DryRun"]),
                    404, "ResourceNotFoundException")
    }

    func testAnEventIsQueuedUnderThe202sRequestIdAndNotRunByTheRoute() async throws {
        service.reader.put("f", version: "live")
        let response = await send("POST", invocations + "?Qualifier=live", headers: ["x-amz-invocation-type": "Event"], body: #"{"e":1}"#)
        XCTAssertEqual(response.status, 202)
        XCTAssertEqual(response.body, [])
        let requestId = header(response, "x-amzn-RequestId")
        let queued = service.calls.withLock { $0.events }
        XCTAssertEqual(queued.map(\.requestId), [requestId].compactMap { $0 }, "the event is queued under the 202's request id")
        XCTAssertEqual(queued.first?.ref, FunctionReference(name: "f", qualifier: "live"))
        XCTAssertEqual(queued.first?.payload, Array(#"{"e":1}"#.utf8))
        XCTAssertTrue(service.calls.withLock { $0.invocations.isEmpty }, "the queue runs it, not the route")
        assertError(await send("POST", "/2015-03-31/functions/g/invocations", headers: ["x-amz-invocation-type": "Event"], body: "{}"),
                    404, "ResourceNotFoundException")
        XCTAssertEqual(service.calls.withLock { $0.events.count }, 1, "nothing is queued for a function that does not exist")
    }

    func testInvokeAsyncQueuesItsBodyAndAnswersStatus202() async throws {
        service.reader.put("f")
        let response = await send("POST", "/2014-11-13/functions/f/invoke-async/", body: #"{"old":true}"#)
        XCTAssertEqual(response.status, 202)
        XCTAssertEqual(try document(response)["Status"] as? Int, 202)
        XCTAssertEqual(service.calls.withLock { $0.events.first?.payload }, Array(#"{"old":true}"#.utf8))
        assertError(await send("POST", "/2014-11-13/functions/f/invoke-async/", body: "{oops"), 400, "InvalidRequestContentException")
        let big = "\"" + String(repeating: "x", count: 1_048_577) + "\""
        assertError(await send("POST", "/2014-11-13/functions/f/invoke-async/", body: big), 413, "RequestEntityTooLargeException")
        XCTAssertEqual(service.calls.withLock { $0.events.count }, 1)
    }

    /// Put and Update reach the service with what the body gave (a destination given empty is a clear);
    /// the answer has Lambda's shape: the qualified ARN, the timestamp, empty destination objects.
    func testEventInvokeConfigRoutes() async throws {
        service.reader.put("f")
        service.reader.put("f", version: "live")
        let path = "/2019-09-25/functions/f/event-invoke-config"
        let put = await send("PUT", path, body: #"{"MaximumRetryAttempts":1,"DestinationConfig":{"OnFailure":{"Destination":"arn:aws:lambda:eu-west-1:000000000000:function:g"},"OnSuccess":{}}}"#)
        XCTAssertEqual(put.status, 200)
        let body = try document(put)
        XCTAssertEqual(body["FunctionArn"] as? String, "arn:aws:lambda:eu-west-1:000000000000:function:f:$LATEST")
        XCTAssertEqual(body["MaximumRetryAttempts"] as? Int, 1)
        XCTAssertNil(body["MaximumEventAgeInSeconds"], "a field left out stays out")
        XCTAssertEqual(body["LastModified"] as? Double, 1_700_000_000.5)
        let destinations = body["DestinationConfig"] as? [String: Any]
        XCTAssertEqual((destinations?["OnSuccess"] as? [String: Any])?.count, 0)
        XCTAssertEqual((destinations?["OnFailure"] as? [String: Any])?["Destination"] as? String, "arn:aws:lambda:eu-west-1:000000000000:function:g")

        let update = await send("POST", path + "?Qualifier=live", body: #"{"MaximumEventAgeInSeconds":60}"#)
        XCTAssertEqual(update.status, 200)
        XCTAssertEqual(try document(update)["FunctionArn"] as? String, "arn:aws:lambda:eu-west-1:000000000000:function:f:live")
        let calls = service.calls.withLock { $0.eventConfigs }
        XCTAssertEqual(calls.map(\.replace), [true, false])
        XCTAssertEqual(calls[0].change.onSuccess, .some(nil), "OnSuccess: {} clears it")
        XCTAssertEqual(calls[0].change.onFailure, .some("arn:aws:lambda:eu-west-1:000000000000:function:g"))
        XCTAssertEqual(calls[1].change.onSuccess, String??.none, "no DestinationConfig: destinations are not touched")
        XCTAssertEqual(calls[1].ref.qualifier, "live")
        assertError(await send("PUT", path, body: #"{"MaximumRetryAttempts":"two"}"#), 400, "SerializationException")
        assertError(await send("PUT", "/2019-09-25/functions/f:1/event-invoke-config?Qualifier=2", body: "{}"), 400, "InvalidParameterValueException")
        assertError(await send("GET", path), 404, "ResourceNotFoundException")
        let list = await send("GET", path + "/list")
        XCTAssertEqual((try document(list)["FunctionEventInvokeConfigs"] as? [Any])?.count, 0)
    }

    func testInvocationInputsAreCheckedBeforeTheServiceIsAsked() async throws {
        service.reader.put("f")
        assertError(await send("POST", invocations, headers: ["x-amz-invocation-type": "Later"], body: "{}"), 400, "ValidationException")
        assertError(await send("POST", invocations, headers: ["x-amz-log-type": "All"], body: "{}"), 400, "ValidationException")
        assertError(await send("POST", invocations, body: "{not json"), 400, "InvalidRequestContentException")
        assertError(await send("POST", invocations, headers: ["x-amz-client-context": "%%%"], body: "{}"), 400, "InvalidParameterValueException")
        let big = "\"" + String(repeating: "x", count: 1_048_577) + "\""
        assertError(await send("POST", invocations, headers: ["x-amz-invocation-type": "Event"], body: big), 413, "RequestEntityTooLargeException")
        assertError(await send("POST", "/2015-03-31/functions/bad%20name/invocations", body: "{}"), 400, "ValidationException")
        XCTAssertTrue(service.calls.withLock { $0.invocations.isEmpty }, "nothing refused reached the service")
    }

    func testAFunctionArnNamesTheFunctionAndItsQualifier() async throws {
        service.reader.put("f", version: "2")
        let arn = "arn:aws:lambda:eu-west-1:000000000000:function:f:2"
        let response = await send("POST", "/2015-03-31/functions/\(arn)/invocations", body: "{}")
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        let ref = service.calls.withLock { $0.invocations.first?.ref }
        XCTAssertEqual(ref?.name, "f")
        XCTAssertEqual(ref?.qualifier, "2")
    }

    func testAClientContextReachesTheServiceAsJSON() async throws {
        service.reader.put("f")
        let context = Data(#"{"custom":{"k":"v"}}"#.utf8).base64EncodedString()
        _ = await send("POST", invocations, headers: ["x-amz-client-context": context], body: "{}")
        XCTAssertEqual(service.calls.withLock { $0.invocations.first?.clientContext }, #"{"custom":{"k":"v"}}"#)
    }

    // MARK: management

    func testCreateFunctionHandsTheServiceTheSettingsAndAnswers201() async throws {
        let zip = Data("PK\u{5}\u{6}".utf8 + [UInt8](repeating: 0, count: 18)).base64EncodedString()
        let body = #"{"FunctionName":"made","Runtime":"python3.11","Handler":"app.handler","Role":"arn:aws:iam::123456789012:role/r","MemorySize":256,"Timeout":7,"Environment":{"Variables":{"A":"1"}},"Code":{"ZipFile":"\#(zip)"}}"#
        let response = await send("POST", "/2015-03-31/functions", body: body)
        XCTAssertEqual(response.status, 201, String(decoding: response.body, as: UTF8.self))
        let created = try XCTUnwrap(service.calls.withLock { $0.created.first })
        XCTAssertEqual(created.name, "made")
        XCTAssertEqual(created.settings.memorySize, 256)
        XCTAssertEqual(created.settings.timeout, 7)
        XCTAssertEqual(created.settings.environment, ["A": "1"])
        guard case .zip(let file) = created.code else { return XCTFail("a zip upload") }
        XCTAssertEqual(file.size, 22, "the base64 zip was decoded into a file")
        let configuration = try document(response)
        XCTAssertEqual(configuration["FunctionArn"] as? String, "arn:aws:lambda:eu-west-1:000000000000:function:made")
        XCTAssertEqual(configuration["MemorySize"] as? Int, 256)
    }

    func testCreateFunctionRefusesWhatIsMissingOrMalformed() async throws {
        assertError(await send("POST", "/2015-03-31/functions", body: #"{"Code":{}}"#), 400, "ValidationException")
        assertError(await send("POST", "/2015-03-31/functions", body: #"{"FunctionName":"x"}"#), 400, "ValidationException")
        assertError(await send("POST", "/2015-03-31/functions", body: #"{"FunctionName":"x","MemorySize":"big","Code":{}}"#), 400,
                    "InvalidParameterValueException")
        assertError(await send("POST", "/2015-03-31/functions", body: "[1"), 400, "InvalidRequestContentException")
        XCTAssertTrue(service.calls.withLock { $0.created.isEmpty })
    }

    func testListFunctionsPagesWithMarkers() async throws {
        for name in ["a", "b", "c"] { service.reader.put(name) }
        let first = try document(await send("GET", "/2015-03-31/functions?MaxItems=2"))
        XCTAssertEqual((first["Functions"] as? [[String: Any]])?.compactMap { $0["FunctionName"] as? String }, ["a", "b"])
        let marker = try XCTUnwrap(first["NextMarker"] as? String)
        let second = try document(await send("GET", "/2015-03-31/functions?MaxItems=2&Marker=\(marker)"))
        XCTAssertEqual((second["Functions"] as? [[String: Any]])?.compactMap { $0["FunctionName"] as? String }, ["c"])
        XCTAssertNil(second["NextMarker"])
        assertError(await send("GET", "/2015-03-31/functions?MaxItems=many"), 400, "ValidationException")
    }

    func testReservedConcurrencyRoutes() async throws {
        service.reader.put("f")
        let put = await send("PUT", "/2017-10-31/functions/f/concurrency", body: #"{"ReservedConcurrentExecutions":5}"#)
        XCTAssertEqual(put.status, 200)
        XCTAssertEqual(try document(put)["ReservedConcurrentExecutions"] as? Int, 5)
        assertError(await send("PUT", "/2017-10-31/functions/f/concurrency", body: "{}"), 400, "ValidationException")
        assertError(await send("PUT", "/2017-10-31/functions/g/concurrency", body: #"{"ReservedConcurrentExecutions":5}"#), 404,
                    "ResourceNotFoundException")
        let deleted = await send("DELETE", "/2017-10-31/functions/f/concurrency")
        XCTAssertEqual(deleted.status, 204)
        let calls = service.calls.withLock { $0.reserved }
        XCTAssertEqual(calls.map(\.0), ["f", "f"])
        XCTAssertEqual(calls.map(\.1), [5, nil])
        service.reader.reserve("f", 3)
        let read = await send("GET", "/2019-09-30/functions/f/concurrency")
        XCTAssertEqual(try document(read)["ReservedConcurrentExecutions"] as? Int, 3)
    }

    /// Tag, list and untag by function ARN, with Lambda's answers for a version's or alias's ARN, a
    /// malformed ARN, a function elsewhere, no tags and no keys (recorded from AWS).
    func testTagRoutes() async throws {
        service.reader.put("f")
        let arn = "arn%3Aaws%3Alambda%3Aeu-west-1%3A000000000000%3Afunction%3Af"
        let tagged = await send("POST", "/2017-03-31/tags/\(arn)", body: #"{"Tags":{"team":"a","env":"prod"}}"#)
        XCTAssertEqual(tagged.status, 204, String(decoding: tagged.body, as: UTF8.self))
        XCTAssertEqual(service.calls.withLock { $0.tagged.map(\.1) }, [["team": "a", "env": "prod"]])
        let listed = await send("GET", "/2017-03-31/tags/\(arn)")
        XCTAssertEqual(try document(listed)["Tags"] as? [String: String], ["team": "a", "env": "prod"])
        let function = await send("GET", "/2015-03-31/functions/f")
        XCTAssertEqual(try document(function)["Tags"] as? [String: String], ["team": "a", "env": "prod"])
        let untagged = await send("DELETE", "/2017-03-31/tags/\(arn)?tagKeys=team&tagKeys=nothere")
        XCTAssertEqual(untagged.status, 204)
        XCTAssertEqual(service.calls.withLock { $0.untagged.map(\.1) }, [["team", "nothere"]])
        let left = await send("GET", "/2017-03-31/tags/\(arn)")
        XCTAssertEqual(try document(left)["Tags"] as? [String: String], ["env": "prod"])

        let versioned = await send("POST", "/2017-03-31/tags/\(arn)%3A1", body: #"{"Tags":{"a":"b"}}"#)
        assertError(versioned, 400, "InvalidParameterValueException")
        XCTAssertTrue(String(decoding: versioned.body, as: UTF8.self).contains("Tags on function aliases and versions are not supported. Please specify a function ARN."))
        let malformed = await send("GET", "/2017-03-31/tags/arn%3Aaws%3Asomething")
        assertError(malformed, 400, "ValidationException")
        XCTAssertTrue(String(decoding: malformed.body, as: UTF8.self).contains("Value 'arn:aws:something' at 'resource' failed to satisfy constraint"))
        assertError(await send("GET", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aeu-west-1%3A000000000000%3Afunction%3Aabsent"), 404, "ResourceNotFoundException")
        assertError(await send("GET", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af"), 404, "ResourceNotFoundException")
        let empty = await send("POST", "/2017-03-31/tags/\(arn)", body: #"{"Tags":{}}"#)
        assertError(empty, 400, "InvalidParameterValueException")
        XCTAssertTrue(String(decoding: empty.body, as: UTF8.self).contains("An error occurred and the request cannot be processed."))
        let noKeys = await send("DELETE", "/2017-03-31/tags/\(arn)")
        assertError(noKeys, 400, "ValidationException")
        XCTAssertTrue(String(decoding: noKeys.body, as: UTF8.self).contains("Value null at 'tagKeys' failed to satisfy constraint: Member must not be null"))
        let tooMany = (0...50).map { "\"k\($0)\":\"v\"" }.joined(separator: ",")
        let refused = await send("POST", "/2015-03-31/functions", body: #"{"FunctionName":"g","Code":{"ZipFile":"UEs="},"Tags":{"# + tooMany + "}}")
        assertError(refused, 400, "InvalidParameterValueException")
        XCTAssertTrue(String(decoding: refused.body, as: UTF8.self).contains("Number of tags exceeds resource tag limit."))
        XCTAssertTrue(service.calls.withLock { $0.created.isEmpty }, "a refused tag set creates nothing")
    }

    func testAccountSettingsComeFromTheServicesTotals() async throws {
        service.reader.put("f")
        service.reader.reserve("f", 150)
        service.reader.setCodeBytes(4_096)
        service.statusValue.withLock { $0.accountConcurrency = 500; $0.functions = 7 }
        let settings = try document(await send("GET", "/2016-08-19/account-settings"))
        let limit = try XCTUnwrap(settings["AccountLimit"] as? [String: Any])
        let usage = try XCTUnwrap(settings["AccountUsage"] as? [String: Any])
        XCTAssertEqual(limit["ConcurrentExecutions"] as? Int, 500)
        XCTAssertEqual(limit["UnreservedConcurrentExecutions"] as? Int, 350)
        XCTAssertEqual(usage["TotalCodeSize"] as? Int, 4_096)
        XCTAssertEqual(usage["FunctionCount"] as? Int, 7)
    }

    func testDeletingALayerVersionGoesThroughTheService() async throws {
        let response = await send("DELETE", "/2018-10-31/layers/shared/versions/4")
        XCTAssertEqual(response.status, 204)
        XCTAssertEqual(service.calls.withLock { $0.deletedLayers.map { "\($0.0):\($0.1)" } }, ["shared:4"])
        assertError(await send("DELETE", "/2018-10-31/layers/shared/versions/zero"), 400, "ValidationException")
    }

    func testGetFunctionPointsAtTheStoredZipOnThisServer() async throws {
        let digest = String(repeating: "ab", count: 32)
        service.reader.put("f", zipDigest: digest)
        service.reader.reserve("f", 2)
        let response = try document(await send("GET", "/2015-03-31/functions/f"))
        let code = try XCTUnwrap(response["Code"] as? [String: Any])
        XCTAssertEqual(code["RepositoryType"] as? String, "S3")
        XCTAssertEqual(code["Location"] as? String, "http://127.0.0.1:9000/hearth/v1/code/" + digest)
        XCTAssertEqual((response["Concurrency"] as? [String: Any])?["ReservedConcurrentExecutions"] as? Int, 2)
        assertError(await send("GET", "/hearth/v1/code/" + digest), 404, "ResourceNotFoundException")
    }
}

/// AWS's event-stream framing, checked field by field (boto3's decoding of it is checked against a daemon).
final class EventStreamTests: XCTestCase {
    func testTheChecksumIsZlibsCRC32() {
        XCTAssertEqual(EventStream.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(EventStream.crc32([]), 0)
    }

    func testAPayloadChunkIsPreludeHeadersPayloadAndChecksum() {
        let message = EventStream.payloadChunk(Array("hi".utf8))
        func u32(_ at: Int) -> UInt32 { message[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
        XCTAssertEqual(Int(u32(0)), message.count, "the total length")
        let headersLength = Int(u32(4))
        XCTAssertEqual(u32(8), EventStream.crc32(Array(message[0..<8])), "the prelude's checksum")
        XCTAssertEqual(u32(message.count - 4), EventStream.crc32(Array(message[0..<(message.count - 4)])), "the message's checksum")
        XCTAssertEqual(Array(message[(12 + headersLength)..<(message.count - 4)]), Array("hi".utf8))
        let headers = Array(message[12..<(12 + headersLength)])
        XCTAssertEqual(Int(headers[0]), ":event-type".utf8.count)
        XCTAssertEqual(String(decoding: headers[1..<12], as: UTF8.self), ":event-type")
        XCTAssertEqual(headers[12], 7, "a string header")
        XCTAssertEqual(String(decoding: headers[15..<27], as: UTF8.self), "PayloadChunk")
    }
}
