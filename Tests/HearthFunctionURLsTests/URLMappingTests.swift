import Foundation
import HearthFunctionURLs
import HearthModel
import HearthState
import XCTest

/// The URL listener's pure parts: the payload 2.0 event, Lambda's response mapping (checked against the
/// answers AWS gave in reference/aws-recorded/invoke.json), CORS and how a request names its URL.
final class URLMappingTests: XCTestCase {
    let id = "abcdefghijklmnopqrstuvwxyz012345"

    func event(_ method: String = "POST", _ target: String, headers: [(String, String)], body: [UInt8] = []) throws -> [String: Any] {
        let request = FunctionUrlHandler.Request(method: method, target: target, headers: headers.map { (name: $0.0, value: $0.1) }, body: body,
                                                 sourceIp: "10.1.2.3", httpVersion: "HTTP/1.1")
        let e = URLRequestEvent(request: request, urlId: id, domainName: "\(id).lambda-url.us-east-1.localhost", requestId: "rid",
                                timeEpochMs: 1_583_348_638_390, accountId: "000000000000")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(e.json())) as? [String: Any])
    }

    func testTheEventLowerCasesAndJoinsHeadersKeepsCookiesApartAndDecodesTheQuery() throws {
        let e = try event("POST", "/my/pa%2Fth?a=1&a=2&b=x%20y&c", headers: [
            ("Content-Type", "application/json"), ("X-Thing", "one"), ("x-thing", "two"), ("Cookie", "c1=v1; c2=v2"), ("cookie", "c3=v3"),
            ("User-Agent", "agent/1"),
        ], body: Array(#"{"k":"v"}"#.utf8))
        XCTAssertEqual(e["version"] as? String, "2.0")
        XCTAssertEqual(e["routeKey"] as? String, "$default")
        XCTAssertEqual(e["rawPath"] as? String, "/my/pa%2Fth", "the path as sent, still encoded")
        XCTAssertEqual(e["rawQueryString"] as? String, "a=1&a=2&b=x%20y&c")
        XCTAssertEqual(e["cookies"] as? [String], ["c1=v1", "c2=v2", "c3=v3"])
        let headers = try XCTUnwrap(e["headers"] as? [String: String])
        XCTAssertEqual(headers["x-thing"], "one,two")
        XCTAssertNil(headers["cookie"], "cookies go to cookies, not headers")
        XCTAssertEqual(e["queryStringParameters"] as? [String: String], ["a": "1,2", "b": "x y", "c": ""])
        XCTAssertEqual(e["body"] as? String, #"{"k":"v"}"#)
        XCTAssertEqual(e["isBase64Encoded"] as? Bool, false)
        let context = try XCTUnwrap(e["requestContext"] as? [String: Any])
        let http = try XCTUnwrap(context["http"] as? [String: Any])
        XCTAssertEqual(http["method"] as? String, "POST")
        XCTAssertEqual(http["path"] as? String, "/my/pa%2Fth")
        XCTAssertEqual(http["sourceIp"] as? String, "10.1.2.3")
        XCTAssertEqual(http["userAgent"] as? String, "agent/1")
        XCTAssertEqual(context["domainPrefix"] as? String, id)
        XCTAssertEqual(context["time"] as? String, "04/Mar/2020:19:03:58 +0000")
        XCTAssertEqual((context["timeEpoch"] as? NSNumber)?.int64Value, 1_583_348_638_390)
        XCTAssertEqual(context["accountId"] as? String, "anonymous")
        XCTAssertNil(context["authorizer"])
    }

    /// The event is written by hand: any byte a client can put in a header, path or body comes back intact.
    func testHostileTextSurvivesTheEventsJSON() throws {
        let nasty = "q\"uote\\back\u{01}ctl\ttab é 𝄞 </script>"
        let e = try event("POST", "/p?x=" + "%22%5C%01", headers: [("X-Nasty", nasty), ("Content-Type", "text/plain")], body: Array(nasty.utf8))
        XCTAssertEqual((e["headers"] as? [String: String])?["x-nasty"], nasty)
        XCTAssertEqual(e["body"] as? String, nasty)
        XCTAssertEqual((e["queryStringParameters"] as? [String: String])?["x"], "\"\\\u{01}")
    }

    func testABodyThatIsNotTextArrivesInBase64AndNoQueryMeansNoParameters() throws {
        let bytes: [UInt8] = [0, 255, 1, 128, 10]
        let binary = try event("PUT", "/", headers: [("Content-Type", "application/octet-stream")], body: bytes)
        XCTAssertEqual(binary["isBase64Encoded"] as? Bool, true)
        XCTAssertEqual(binary["body"] as? String, Data(bytes).base64EncodedString())
        XCTAssertNil(binary["queryStringParameters"])
        XCTAssertNil(binary["cookies"])
        let form = try event("POST", "/", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("a=1".utf8))
        XCTAssertEqual(form["isBase64Encoded"] as? Bool, true, "Lambda passes forms in base64")
        let badText = try event("POST", "/", headers: [("Content-Type", "text/plain")], body: [0xff, 0xfe])
        XCTAssertEqual(badText["isBase64Encoded"] as? Bool, true, "text that is not UTF-8 cannot be a JSON string")
        let empty = try event("GET", "/", headers: [])
        XCTAssertNil(empty["body"])
    }

    /// AWS's answers for handlers returning each kind of value (TestLambdaURL::test_lambda_url_invocation).
    func testResultsWithoutStatusCodeAreA200WithTheJSONAsAWSAnswered() {
        func mapped(_ json: String) -> (Int, String, String?) {
            let r = URLResponse.mapping(result: Array(json.utf8))
            return (r.status, String(decoding: r.body, as: UTF8.self), r.headers.first { $0.0 == "Content-Type" }?.1)
        }
        XCTAssertTrue(mapped(#"{"hello":"world"}"#) == (200, #"{"hello":"world"}"#, "application/json"))
        XCTAssertTrue(mapped(#""hello""#) == (200, "hello", "application/json"), "a JSON string is sent as its text")
        XCTAssertTrue(mapped("3") == (200, "3", "application/json"))
        XCTAssertTrue(mapped("3.1") == (200, "3.1", "application/json"))
        XCTAssertTrue(mapped("true") == (200, "true", "application/json"))
        XCTAssertTrue(mapped(#"["hello",3,true]"#) == (200, #"["hello",3,true]"#, "application/json"))
        XCTAssertTrue(mapped(#"{"statusCode":200,"body":"body123"}"#) == (200, "body123", "application/json"))
    }

    func testAStructuredResultGivesStatusHeadersCookiesAndADecodedBody() {
        let r = URLResponse.mapping(result: Array("""
            {"statusCode":201,"headers":{"Content-Type":"image/png","X-Count":3},"cookies":["a=b; Max-Age=60","c=d"],
             "body":"\(Data([0, 1, 2, 255]).base64EncodedString())","isBase64Encoded":true}
            """.utf8))
        XCTAssertEqual(r.status, 201)
        XCTAssertEqual(r.body, [0, 1, 2, 255])
        XCTAssertEqual(r.headers.filter { $0.0 == "Set-Cookie" }.map(\.1), ["a=b; Max-Age=60", "c=d"])
        XCTAssertEqual(r.headers.first { $0.0 == "Content-Type" }?.1, "image/png")
        XCTAssertEqual(r.headers.first { $0.0 == "X-Count" }?.1, "3")
    }

    func testAResultThatCannotBeAnHTTPAnswerIsA502() {
        for bad in [#"{"statusCode":99}"#, #"{"statusCode":"abc"}"#, #"{"statusCode":200,"headers":{"X-Bad":"a\r\nSet-Cookie: x=y"}}"#,
                    #"{"statusCode":200,"headers":{"Bad Name":"v"}}"#, #"{"statusCode":200,"body":"%%%","isBase64Encoded":true}"#,
                    #"{"statusCode":200,"cookies":["a=b\r\nX: y"]}"#] {
            XCTAssertEqual(URLResponse.mapping(result: Array(bad.utf8)).status, 502, bad)
        }
    }

    func testAPreflightIsAnsweredFromTheSettingsAndOtherAnswersGetLambdasCORSHeaders() {
        let cors = CorsRules(FunctionUrlCors(allowCredentials: true, allowHeaders: ["X-Custom"], allowMethods: ["GET", "POST"],
                                             allowOrigins: ["https://app.example"], exposeHeaders: ["X-Count"], maxAge: 300))
        let asked = ["origin": "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "x-custom, x-other"]
        XCTAssertTrue(CorsRules.isPreflight(method: "OPTIONS", headers: asked))
        XCTAssertFalse(CorsRules.isPreflight(method: "OPTIONS", headers: ["origin": "https://app.example"]))
        let ok = cors.preflight(headers: asked)
        func header(_ r: URLResponse, _ name: String) -> String? { r.headers.first { $0.0 == name }?.1 }
        XCTAssertEqual(ok.status, 200)
        XCTAssertEqual(header(ok, "Access-Control-Allow-Origin"), "https://app.example")
        XCTAssertEqual(header(ok, "Access-Control-Allow-Methods"), "GET,POST")
        XCTAssertEqual(header(ok, "Access-Control-Allow-Headers"), "x-custom", "only the allowed one of the asked headers")
        XCTAssertEqual(header(ok, "Access-Control-Max-Age"), "300")
        XCTAssertEqual(header(ok, "Access-Control-Allow-Credentials"), "true")
        let denied = cors.preflight(headers: ["origin": "https://evil.example", "access-control-request-method": "POST"])
        XCTAssertNil(header(denied, "Access-Control-Allow-Origin"))

        let fromFunction = URLResponse(status: 200, headers: [("Access-Control-Allow-Origin", "*"), ("X-Count", "1")])
        let applied = cors.apply(to: fromFunction, origin: "https://app.example")
        XCTAssertEqual(applied.headers.filter { $0.0 == "Access-Control-Allow-Origin" }.map(\.1), ["https://app.example"],
                       "Lambda's CORS headers replace the function's")
        XCTAssertEqual(header(applied, "Access-Control-Expose-Headers"), "X-Count")
        XCTAssertNil(header(cors.apply(to: fromFunction, origin: "https://evil.example"), "Access-Control-Allow-Origin"))
        let any = CorsRules(FunctionUrlCors(allowOrigins: ["*"]))
        XCTAssertEqual(header(any.apply(to: URLResponse(status: 200), origin: "https://x.example"), "Access-Control-Allow-Origin"), "*")
    }

    func testAURLIsNamedByItsHostOrByThePathForm() {
        let address = FunctionUrlAddress(domain: "lambda-url.us-east-1.localhost", port: 9080)
        XCTAssertEqual(address.url(id: id), "http://\(id).lambda-url.us-east-1.localhost:9080/")
        XCTAssertEqual(address.id(fromHost: "\(id).lambda-url.us-east-1.localhost:9080"), id)
        XCTAssertEqual(address.id(fromHost: "\(id.uppercased()).LAMBDA-URL.us-east-1.localhost"), id)
        XCTAssertNil(address.id(fromHost: "\(id).lambda-url.eu-west-1.localhost:9080"))
        XCTAssertNil(address.id(fromHost: "short.lambda-url.us-east-1.localhost"))
        XCTAssertNil(address.id(fromHost: "127.0.0.1:9080"))
        let form = FunctionUrlAddress.id(fromPath: "/lambda-url/\(id)/api/items?x=1")
        XCTAssertEqual(form?.id, id)
        XCTAssertEqual(form.map { String($0.rest) }, "/api/items?x=1")
        XCTAssertEqual(FunctionUrlAddress.id(fromPath: "/lambda-url/\(id)?x=1").map { String($0.rest) }, "/?x=1")
        XCTAssertEqual(FunctionUrlAddress.id(fromPath: "/lambda-url/\(id)").map { String($0.rest) }, "/")
        XCTAssertNil(FunctionUrlAddress.id(fromPath: "/lambda-url/nope/x"))
        XCTAssertNil(FunctionUrlAddress.id(fromPath: "/other/\(id)/x"))
        XCTAssertEqual(FunctionUrlAddress.originForm("http://h.example:9080/a/b?c=1"), "/a/b?c=1", "absolute form, as proxies send it")
        XCTAssertEqual(FunctionUrlAddress.originForm("HTTP://h.example?c=1"), "/?c=1")
        XCTAssertEqual(FunctionUrlAddress.originForm("http://h.example"), "/")
        XCTAssertEqual(FunctionUrlAddress.originForm("*"), "/", "OPTIONS * names no path")
    }
}
