import Foundation
@testable import HearthControlAPI
import HearthLogs
import XCTest

/// CloudWatch Logs' routes over the real log files, without a daemon: a group two functions share
/// (LoggingConfig.LogGroup), paged across both, and the refusals in the logs service's JSON shape.
extension RouteTests {
    func logsCall(_ operation: String, _ body: [String: Any]) async throws -> APIResponse {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return await send("POST", "/", headers: ["x-amz-target": "Logs_20140328." + operation], body: json)
    }

    func assertLogsError(_ response: APIResponse, _ type: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(response.status, 400, file: file, line: line)
        let body = try document(response)
        XCTAssertEqual(body["__type"] as? String, type, file: file, line: line)
        XCTAssertEqual(body["message"] as? String, message, file: file, line: line)
    }

    func testASharedGroupInterleavesItsFunctionsAndPagesAcrossThem() async throws {
        service.reader.put("a", logGroup: "shared")
        service.reader.put("b", logGroup: "shared")
        service.reader.put("c")
        for t in 0..<5 {
            service.logs.append("a", stream: "sa", Array("a\(t)\n".utf8), now: Int64(t * 10))
            service.logs.append("b", stream: "sb", Array("b\(t)\n".utf8), now: Int64(t * 10 + 5))
        }
        service.logs.append("c", stream: "sc", Array("c0\n".utf8), now: 1)
        let groups = try document(try await logsCall("DescribeLogGroups", [:]))["logGroups"] as? [[String: Any]]
        XCTAssertEqual(groups?.map { $0["logGroupName"] as? String }, ["/aws/lambda/c", "shared"])

        var messages: [String] = [], token: String?, pages = 0
        repeat {
            var body: [String: Any] = ["logGroupName": "shared", "limit": 3]
            if let token { body["nextToken"] = token }
            let page = try document(try await logsCall("FilterLogEvents", body))
            messages += (page["events"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
            token = page["nextToken"] as? String
            pages += 1
        } while token != nil && pages < 10
        XCTAssertEqual(messages, ["a0\n", "b0\n", "a1\n", "b1\n", "a2\n", "b2\n", "a3\n", "b3\n", "a4\n", "b4\n"], "in time order, each once")
        XCTAssertEqual(pages, 4)

        let streams = try document(try await logsCall("DescribeLogStreams", ["logGroupName": "shared", "orderBy": "LastEventTime", "descending": true]))
        XCTAssertEqual((streams["logStreams"] as? [[String: Any]])?.map { $0["logStreamName"] as? String }, ["sb", "sa"])
        let forward = try document(try await logsCall("GetLogEvents", ["logGroupName": "shared", "logStreamName": "sb", "startFromHead": true, "limit": 5]))
        XCTAssertEqual((forward["events"] as? [[String: Any]])?.count, 5)
        let end = try document(try await logsCall("GetLogEvents", ["logGroupName": "shared", "logStreamName": "sb", "nextToken": forward["nextForwardToken"] ?? ""]))
        XCTAssertEqual((end["events"] as? [[String: Any]])?.count, 0)
        XCTAssertEqual(end["nextForwardToken"] as? String, forward["nextForwardToken"] as? String, "past the end, the token stays: a paging loop ends")

        _ = try await logsCall("DeleteLogGroup", ["logGroupName": "shared"])
        let left = try document(try await logsCall("FilterLogEvents", ["logGroupName": "shared"]))
        XCTAssertEqual((left["events"] as? [[String: Any]])?.count, 0)
        XCTAssertEqual(service.logs.storedBytes("c"), String(decoding: try Data(contentsOf: URL(fileURLWithPath: directory + "/logs/c.log")), as: UTF8.self).utf8.count,
                       "another group's log is untouched")
    }

    func testRefusalsNameWhatWasWrongInTheLogsServicesShape() async throws {
        service.reader.put("f")
        service.logs.append("f", stream: "s", Array("x\n".utf8), now: 1)
        let g = "/aws/lambda/f"
        try assertLogsError(try await logsCall("GetLogEvents", ["logGroupName": g, "logStreamName": "nope"]), "ResourceNotFoundException",
                            "The specified log stream does not exist.")
        try assertLogsError(try await logsCall("DescribeLogStreams", ["logGroupName": g, "orderBy": "Size"]), "InvalidParameterException",
                            "1 validation error detected: Value 'Size' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]")
        try assertLogsError(try await logsCall("DescribeLogStreams", ["logGroupName": g, "orderBy": "LastEventTime", "logStreamNamePrefix": "s"]),
                            "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")
        for (operation, token) in [("FilterLogEvents", "not base64!"), ("GetLogEvents", "x/1"), ("DescribeLogStreams", "o/-1")] {
            try assertLogsError(try await logsCall(operation, ["logGroupName": g, "logStreamName": "s", "nextToken": token]), "InvalidParameterException",
                                "The specified nextToken is invalid.")
        }
        try assertLogsError(try await logsCall("FilterLogEvents", ["logGroupName": g, "logStreamNames": ["s"], "logStreamNamePrefix": "s"]),
                            "InvalidParameterException", "logStreamNames and logStreamNamePrefix are mutually exclusive")
        try assertLogsError(try await logsCall("DescribeLogGroups", ["limit": 0]), "InvalidParameterException",
                            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
        try assertLogsError(try await logsCall("GetQueryResults", ["queryId": "nope"]), "ResourceNotFoundException", "Query does not exist.")
        try assertLogsError(try await logsCall("StartQuery", ["logGroupName": "/aws/lambda/other", "startTime": 0, "endTime": 1, "queryString": "limit 1"]),
                            "ResourceNotFoundException", "Log group '/aws/lambda/other' does not exist for account ID '000000000000'")
        try assertLogsError(try await logsCall("StartQuery", ["logGroupName": g, "startTime": 2, "endTime": 1, "queryString": "limit 1"]),
                            "InvalidParameterException", "End time should not be before the start time")
        try assertLogsError(try await logsCall("PutLogEvents", [:]), "UnknownOperationException", "Hearth does not serve the logs operation PutLogEvents")
    }

    /// GetQueryResults keeps the most recent 100 queries.
    func testFinishedQueriesAreKeptUpToAHundred() async throws {
        service.reader.put("f")
        service.logs.append("f", stream: "s", Array("x\n".utf8), now: 1_000)
        var ids: [String] = []
        for _ in 0..<101 {
            let started = try document(try await logsCall("StartQuery", ["logGroupName": "/aws/lambda/f", "startTime": 0, "endTime": 10, "queryString": "stats count() as n"]))
            ids.append(try XCTUnwrap(started["queryId"] as? String))
        }
        try assertLogsError(try await logsCall("GetQueryResults", ["queryId": ids[0]]), "ResourceNotFoundException", "Query does not exist.")
        let last = try document(try await logsCall("GetQueryResults", ["queryId": ids[100]]))
        XCTAssertEqual(last["status"] as? String, "Complete")
        XCTAssertEqual(((last["results"] as? [[[String: String]]])?.first?.first)?["value"], "1")
    }
}
