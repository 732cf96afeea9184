import Foundation
import XCTest

/// Function URLs through a real daemon: the configuration API with boto3 and the aws CLI (against AWS's
/// recorded answers), and requests on the URL listener from curl and Python's `requests`, by host name and
/// by the path form; payload 2.0 events, Lambda's response mapping, cookies, binary bodies, CORS, errors
/// (502), throttles (429), AWS_IAM, alias URLs, and a function built on aws-lambda-powertools' router.
final class ServeURLTests: XCTestCase {
    nonisolated(unsafe) static var daemon: ServeDaemon?
    nonisolated(unsafe) static var setupError: Error?
    nonisolated(unsafe) static var fixtures = ""

    /// `web` routes on its own: each answer shape a function behind a URL gives. Each log line is one write.
    static let code = """
        import base64, json, sys, time
        def web(event, context):
            path = event["rawPath"]
            sys.stdout.write("PATH " + path + "\\n")
            if path == "/echo":
                return {"statusCode": 200, "headers": {"content-type": "application/json", "x-request-id": context.aws_request_id},
                        "body": json.dumps(event)}
            if path == "/plain":
                return {"hello": "world"}
            if path == "/text":
                return "just text"
            if path == "/arn":
                return context.invoked_function_arn
            if path == "/binary":
                return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
                        "body": base64.b64encode(bytes(range(256))).decode()}
            if path == "/cookies":
                return {"statusCode": 201, "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark"], "body": "set"}
            if path == "/fail":
                raise RuntimeError("asked to fail")
            if path == "/sleep":
                time.sleep(3)
                return "late"
            return {"statusCode": 404, "headers": {"content-type": "text/plain"}, "body": "no route for " + path}
        """

    /// The same kind of service written with aws-lambda-powertools' APIGatewayHttpResolver (vendored by scripts/setup).
    static let powertools = """
        from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
        app = APIGatewayHttpResolver()
        @app.get("/items/<item_id>")
        def get_item(item_id):
            return {"id": item_id, "q": app.current_event.get_query_string_value("q", "")}
        @app.post("/items")
        def post_item():
            return {"created": app.current_event.json_body}, 201
        def handler(event, context):
            return app.resolve(event, context)
        """

    /// Streams two pieces 1.5 s apart (an HTTP status and headers first when the event is a URL's), failing
    /// midway when asked.
    static let streaming = """
        exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
          const path = event.rawPath;
          const stream = path === undefined ? responseStream
            : awslambda.HttpResponseStream.from(responseStream, { statusCode: 201, headers: { 'Content-Type': 'text/plain', 'X-Streamed': 'yes' } });
          stream.write('first ' + Date.now() + '\\n');
          await new Promise((r) => setTimeout(r, 1500));
          if (path === '/fail' || event.fail) throw new Error('midway');
          stream.write('second ' + Date.now() + '\\n');
          stream.end();
        });
        """

    override class func setUp() {
        do {
            try ServeDaemon.checkPrerequisites()
            let dir = NSTemporaryDirectory() + "hearth-urls-" + UUID().uuidString.prefix(8)
            try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
            try code.write(toFile: dir + "/src/app.py", atomically: true, encoding: .utf8)
            var (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", dir + "/app.zip", "."], cwd: dir + "/src")
            guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
            fixtures = dir
            try FileManager.default.createDirectory(atPath: dir + "/node", withIntermediateDirectories: true)
            try streaming.write(toFile: dir + "/node/index.js", atomically: true, encoding: .utf8)
            (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", dir + "/node.zip", "index.js"], cwd: dir + "/node")
            guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
            let vendored = RuntimeImages.repository.appendingPathComponent(".build/pydeps/powertools").path
            if FileManager.default.fileExists(atPath: vendored + "/aws_lambda_powertools") {
                try FileManager.default.createDirectory(atPath: dir + "/pt", withIntermediateDirectories: true)
                try powertools.write(toFile: dir + "/pt/app.py", atomically: true, encoding: .utf8)
                (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", dir + "/powertools.zip", "."], cwd: vendored)
                if status == 0 { (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", dir + "/powertools.zip", "app.py"], cwd: dir + "/pt") }
                guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
            }
            daemon = try ServeDaemon()
        } catch { setupError = error }
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

    /// Creates `name` from app.zip with handler app.`handler` and a URL; the URL's id.
    func urlFunction(_ daemon: ServeDaemon, _ name: String, handler: String = "web", zip: String = "app.zip", extra: String = "",
                     urlArguments: String = #"AuthType="NONE""#) throws -> String {
        let out = try daemon.boto("""
            c.create_function(FunctionName="\(name)", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", Handler="app.\(handler)",
                              Code={"ZipFile": open("\(Self.fixtures)/\(zip)", "rb").read()}\(extra))
            out["url"] = c.create_function_url_config(FunctionName="\(name)", \(urlArguments))["FunctionUrl"]
            """)
        let url = try XCTUnwrap(out["url"] as? String)
        return String(try XCTUnwrap(url.split(separator: "/").dropFirst().first?.split(separator: ".").first))
    }

    /// curl against the URL listener: status, headers (lower-cased names) and body.
    func curl(_ daemon: ServeDaemon, _ arguments: [String]) throws -> (Int, [String: String], String) {
        let (status, out) = try RuntimeImages.run("/usr/bin/curl", ["-s", "-D", "-"] + arguments)
        XCTAssertEqual(status, 0, out)
        let parts = out.components(separatedBy: "\r\n\r\n")
        let head = parts[0].components(separatedBy: "\r\n")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let code = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (code, headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// Python with `requests`; returns the dict `out` it fills. URL is the path-form base of `id`.
    func requests(_ daemon: ServeDaemon, _ id: String, _ code: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let script = """
            import base64, json, requests
            URL = "\(daemon.urlEndpoint)/lambda-url/\(id)"
            # By host name: *.localhost is not in every resolver (glibc's is not), so the name goes in the Host header.
            HOST_URL, HOST = "\(daemon.urlEndpoint)", "\(id).lambda-url.us-east-1.localhost:\(daemon.urlPort)"
            out = {}
            """ + "\n" + code
        return try daemon.python(script, file: file, line: line)
    }

    func log(_ daemon: ServeDaemon, _ function: String) throws -> String {
        try daemon.http("GET", "/hearth/v1/functions/\(function)/logs").2
    }

    func testTheConfigurationAPIAnswersAsAWSDoes() throws {
        let daemon = try d()
        let out = try daemon.boto("""
            c.create_function(FunctionName="cfg", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", Handler="app.web",
                              Code={"ZipFile": open("\(Self.fixtures)/app.zip", "rb").read()})
            r = c.create_function_url_config(FunctionName="cfg", AuthType="NONE")
            out["create_status"] = r["ResponseMetadata"]["HTTPStatusCode"]
            del r["ResponseMetadata"]
            out["created"] = r
            out["duplicate"] = err(c.create_function_url_config, FunctionName="cfg", AuthType="NONE")
            g = c.get_function_url_config(FunctionName="cfg")
            del g["ResponseMetadata"]
            out["got"] = g
            u = c.update_function_url_config(FunctionName="cfg", AuthType="AWS_IAM",
                                             Cors={"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET"], "MaxAge": 60})
            del u["ResponseMetadata"]
            out["updated"] = u
            out["latest"] = err(c.get_function_url_config, FunctionName="cfg", Qualifier="$LATEST")
            out["version"] = err(c.create_function_url_config, FunctionName="cfg", Qualifier="1", AuthType="NONE")
            out["no_alias"] = err(c.create_function_url_config, FunctionName="cfg", Qualifier="nope", AuthType="NONE")
            out["no_function"] = err(c.create_function_url_config, FunctionName="missing", AuthType="NONE")
            out["get_missing"] = err(c.get_function_url_config, FunctionName="missing")
            out["bad_mode"] = err(c.create_function_url_config, FunctionName="cfg", Qualifier="nope", AuthType="NONE", InvokeMode="UNKNOWN")
            out["bad_age"] = err(c.update_function_url_config, FunctionName="cfg", Cors={"MaxAge": 90000})
            c.publish_version(FunctionName="cfg")
            c.create_alias(FunctionName="cfg", Name="live", FunctionVersion="1")
            a = c.create_function_url_config(FunctionName="cfg", Qualifier="live", AuthType="NONE", InvokeMode="BUFFERED")
            out["alias_arn"] = a["FunctionArn"]
            out["alias_mode"] = a.get("InvokeMode")
            out["listed"] = [x["FunctionArn"] for x in c.list_function_url_configs(FunctionName="cfg")["FunctionUrlConfigs"]]
            out["list_missing"] = err(c.list_function_url_configs, FunctionName="missing")
            out["delete_status"] = c.delete_function_url_config(FunctionName="cfg")["ResponseMetadata"]["HTTPStatusCode"]
            out["after_delete"] = err(c.get_function_url_config, FunctionName="cfg")
            out["alias_kept"] = c.get_function_url_config(FunctionName="cfg", Qualifier="live")["FunctionArn"]
            """)
        XCTAssertEqual(out["create_status"] as? Int, 201)
        let created = try XCTUnwrap(out["created"] as? [String: Any])
        XCTAssertEqual(Set(created.keys), ["AuthType", "CreationTime", "FunctionArn", "FunctionUrl"], "as AWS answers a create without InvokeMode")
        XCTAssertEqual(created["FunctionArn"] as? String, "arn:aws:lambda:us-east-1:000000000000:function:cfg")
        let url = try XCTUnwrap(created["FunctionUrl"] as? String)
        XCTAssertNotNil(url.wholeMatch(of: try Regex("http://[a-z0-9]{32}\\.lambda-url\\.us-east-1\\.localhost:\(daemon.urlPort)/")), url)
        XCTAssertNotNil((created["CreationTime"] as? String)?.wholeMatch(of: try Regex(#"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"#)))
        let duplicate = out["duplicate"] as? [String: Any]
        XCTAssertEqual(duplicate?["status"] as? Int, 409)
        XCTAssertEqual(duplicate?["message"] as? String,
                       "Failed to create function url config for [functionArn = arn:aws:lambda:us-east-1:000000000000:function:cfg]. Error message:  FunctionUrlConfig exists for this Lambda function")
        let got = try XCTUnwrap(out["got"] as? [String: Any])
        XCTAssertEqual(got["InvokeMode"] as? String, "BUFFERED")
        XCTAssertNotNil(got["LastModifiedTime"])
        let updated = try XCTUnwrap(out["updated"] as? [String: Any])
        XCTAssertEqual(updated["AuthType"] as? String, "AWS_IAM")
        XCTAssertNil(updated["InvokeMode"], "never given, so not answered on an update")
        XCTAssertEqual((updated["Cors"] as? [String: Any])?["MaxAge"] as? Int, 60)
        XCTAssertEqual(updated["FunctionUrl"] as? String, url, "an update keeps the URL")
        let pattern = #"Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)"#
        XCTAssertEqual((out["latest"] as? [String: Any])?["message"] as? String,
                       "1 validation error detected: Value '$LATEST' at 'qualifier' failed to satisfy constraint: " + pattern)
        XCTAssertEqual((out["version"] as? [String: Any])?["message"] as? String,
                       "1 validation error detected: Value '1' at 'qualifier' failed to satisfy constraint: " + pattern)
        XCTAssertEqual((out["no_alias"] as? [String: Any])?["message"] as? String, "Function does not exist")
        XCTAssertEqual((out["no_function"] as? [String: Any])?["code"] as? String, "ResourceNotFoundException")
        XCTAssertEqual((out["get_missing"] as? [String: Any])?["message"] as? String, "The resource you requested does not exist.")
        XCTAssertEqual((out["bad_mode"] as? [String: Any])?["message"] as? String,
                       "1 validation error detected: Value 'UNKNOWN' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]")
        XCTAssertEqual((out["bad_age"] as? [String: Any])?["status"] as? Int, 400)
        XCTAssertEqual(out["alias_arn"] as? String, "arn:aws:lambda:us-east-1:000000000000:function:cfg:live")
        XCTAssertEqual(out["alias_mode"] as? String, "BUFFERED")
        XCTAssertEqual(out["listed"] as? [String], ["arn:aws:lambda:us-east-1:000000000000:function:cfg",
                                                    "arn:aws:lambda:us-east-1:000000000000:function:cfg:live"])
        XCTAssertEqual((out["list_missing"] as? [String: Any])?["message"] as? String, "Function does not exist")
        XCTAssertEqual(out["delete_status"] as? Int, 204)
        XCTAssertEqual((out["after_delete"] as? [String: Any])?["status"] as? Int, 404)
        XCTAssertEqual(out["alias_kept"] as? String, "arn:aws:lambda:us-east-1:000000000000:function:cfg:live")

        let (status, text) = try daemon.aws(["lambda", "get-function-url-config", "--function-name", "cfg", "--qualifier", "live"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("\"AuthType\": \"NONE\""), text)
    }

    func testRequestsBecomePayload2EventsAndAnswersAreMappedAsLambdaMapsThem() throws {
        let daemon = try d()
        let id = try urlFunction(daemon, "web")
        let out = try requests(daemon, id, """
            r = requests.post(URL + "/echo?a=1&a=2&b=x%20y", json={"k": "v"}, headers={"X-Thing": "one"}, cookies={"c1": "v1", "c2": "v2"})
            out["echo_status"] = r.status_code
            out["echo"] = r.json()
            out["echo_request_id"] = r.headers.get("x-amzn-RequestId")
            out["echo_function_id"] = r.headers.get("x-request-id")
            blob = bytes([0, 1, 2, 255, 254]) * 100
            r = requests.put(HOST_URL + "/echo", data=blob, headers={"Content-Type": "application/octet-stream", "Host": HOST})
            e = r.json()
            out["binary_in"] = ["base64" if e["isBase64Encoded"] else "text", "same" if base64.b64decode(e["body"]) == blob else "different",
                                e["requestContext"]["domainName"]]
            r = requests.get(URL + "/binary")
            out["binary_out"] = [r.status_code, r.headers["Content-Type"], "same" if r.content == bytes(range(256)) else "different"]
            r = requests.get(URL + "/cookies")
            out["cookies"] = [r.status_code, r.text, r.cookies.get("session"), r.cookies.get("theme")]
            r = requests.get(URL + "/plain")
            out["plain"] = [r.status_code, r.headers["Content-Type"], r.json()]
            r = requests.get(URL + "/text")
            out["text"] = [r.status_code, r.text]
            r = requests.get(URL + "/no/such/page")
            out["own_404"] = [r.status_code, r.text]
            r = requests.get(URL + "/fail")
            out["fail"] = [r.status_code, r.text]
            r = requests.get("\(daemon.urlEndpoint)/lambda-url/" + "0" * 32 + "/x")
            out["unknown"] = [r.status_code, r.json().get("Message")]
            r = requests.get("\(daemon.urlEndpoint)/somewhere")
            out["unnamed"] = r.status_code
            """)
        XCTAssertEqual(out["echo_status"] as? Int, 200)
        let event = try XCTUnwrap(out["echo"] as? [String: Any])
        XCTAssertEqual(event["version"] as? String, "2.0")
        XCTAssertEqual(event["rawPath"] as? String, "/echo", "the path form's prefix is not the function's")
        XCTAssertEqual(event["rawQueryString"] as? String, "a=1&a=2&b=x%20y")
        XCTAssertEqual(event["queryStringParameters"] as? [String: String], ["a": "1,2", "b": "x y"])
        XCTAssertEqual(Set((event["cookies"] as? [String]) ?? []), ["c1=v1", "c2=v2"])
        let headers = try XCTUnwrap(event["headers"] as? [String: String])
        XCTAssertEqual(headers["x-thing"], "one")
        XCTAssertEqual(headers["content-type"], "application/json")
        XCTAssertEqual(event["body"] as? String, #"{"k": "v"}"#)
        XCTAssertEqual(event["isBase64Encoded"] as? Bool, false)
        let context = try XCTUnwrap(event["requestContext"] as? [String: Any])
        XCTAssertEqual((context["http"] as? [String: Any])?["method"] as? String, "POST")
        XCTAssertEqual((context["http"] as? [String: Any])?["sourceIp"] as? String, "127.0.0.1")
        XCTAssertEqual(context["apiId"] as? String, id)
        XCTAssertEqual(out["echo_request_id"] as? String, context["requestId"] as? String)
        XCTAssertEqual(out["echo_function_id"] as? String, context["requestId"] as? String, "the invocation runs under the answer's request id")
        XCTAssertEqual(out["binary_in"] as? [String], ["base64", "same", "\(id).lambda-url.us-east-1.localhost"])
        XCTAssertEqual(out["binary_out"] as? [AnyHashable], [200, "image/png", "same"])
        XCTAssertEqual(out["cookies"] as? [AnyHashable], [201, "set", "abc", "dark"])
        let plain = out["plain"] as? [Any]
        XCTAssertEqual(plain?.prefix(2).compactMap { $0 as? AnyHashable }, [200, "application/json"])
        XCTAssertEqual(plain?.last as? [String: String], ["hello": "world"])
        XCTAssertEqual(out["text"] as? [AnyHashable], [200, "just text"])
        XCTAssertEqual(out["own_404"] as? [AnyHashable], [404, "no route for /no/such/page"])
        XCTAssertEqual(out["fail"] as? [AnyHashable], [502, "Internal Server Error"])
        XCTAssertEqual(out["unknown"] as? [AnyHashable], [404, "No function URL has the id " + String(repeating: "0", count: 32)])
        XCTAssertEqual(out["unnamed"] as? Int, 404)

        // Lambda's 6 MB limit on a URL's body, refused before the function is asked.
        let big = daemon.base + "/big.bin"
        try Data(count: 6 * 1024 * 1024 + 1).write(to: URL(fileURLWithPath: big))
        let tooBig = try curl(daemon, ["-X", "POST", "--data-binary", "@" + big, "-H", "Content-Type: application/octet-stream",
                                       "\(daemon.urlEndpoint)/lambda-url/\(id)/echo"])
        XCTAssertEqual(tooBig.0, 413, tooBig.2)
        XCTAssertEqual(tooBig.1["x-amzn-errortype"], "RequestEntityTooLargeException")

        // curl by host name (as a browser would with *.localhost), with a HEAD and a keep-alive second request.
        let host = "\(id).lambda-url.us-east-1.localhost"
        let (code, answer, body) = try curl(daemon, ["--resolve", "\(host):\(daemon.urlPort):127.0.0.1", "http://\(host):\(daemon.urlPort)/plain",
                                                      "-H", "Cookie: a=1"])
        XCTAssertEqual(code, 200)
        XCTAssertEqual(body, #"{"hello": "world"}"#)
        XCTAssertNotNil(answer["x-amzn-requestid"])
    }

    func testCORSPreflightIsAnsweredWithoutInvokingAndAnswersCarryTheAllowedOrigin() throws {
        let daemon = try d()
        let id = try urlFunction(daemon, "corsy", urlArguments: """
            AuthType="NONE", Cors={"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["x-custom"],
                                   "ExposeHeaders": ["x-request-id"], "MaxAge": 300, "AllowCredentials": True}
            """)
        let before = try log(daemon, "corsy").components(separatedBy: "START RequestId").count
        let (code, headers, _) = try curl(daemon, ["-X", "OPTIONS", "\(daemon.urlEndpoint)/lambda-url/\(id)/echo", "-H", "Origin: https://app.example",
                                                   "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: X-Custom"])
        XCTAssertEqual(code, 200)
        XCTAssertEqual(headers["access-control-allow-origin"], "https://app.example")
        XCTAssertEqual(headers["access-control-allow-methods"], "GET,POST")
        XCTAssertEqual(headers["access-control-allow-headers"], "x-custom")
        XCTAssertEqual(headers["access-control-max-age"], "300")
        XCTAssertEqual(headers["access-control-allow-credentials"], "true")
        let denied = try curl(daemon, ["-X", "OPTIONS", "\(daemon.urlEndpoint)/lambda-url/\(id)/echo", "-H", "Origin: https://evil.example",
                                       "-H", "Access-Control-Request-Method: POST"])
        XCTAssertNil(denied.1["access-control-allow-origin"])
        XCTAssertEqual(try log(daemon, "corsy").components(separatedBy: "START RequestId").count, before, "a preflight never reaches the function")

        let get = try curl(daemon, ["\(daemon.urlEndpoint)/lambda-url/\(id)/echo", "-H", "Origin: https://app.example"])
        XCTAssertEqual(get.0, 200)
        XCTAssertEqual(get.1["access-control-allow-origin"], "https://app.example")
        XCTAssertEqual(get.1["access-control-expose-headers"], "x-request-id")
    }

    func testAWSIAMURLsNeedASignatureByOneOfTheDaemonsKeys() throws {
        let daemon = try d()
        let id = try urlFunction(daemon, "private", urlArguments: #"AuthType="AWS_IAM""#)
        let unsigned = try curl(daemon, ["\(daemon.urlEndpoint)/lambda-url/\(id)/plain"])
        XCTAssertEqual(unsigned.0, 403)
        XCTAssertEqual(unsigned.1["x-amzn-errortype"], "MissingAuthenticationTokenException", unsigned.2)
        let hearth = ServeDaemon.buildDirectory.appendingPathComponent("hearth")
        let made = try runCLI(hearth, ["keys", "create", "--state-dir", daemon.stateDirectory], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let fields = Dictionary(made.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: ":", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
        }, uniquingKeysWith: { a, _ in a })
        let out = try requests(daemon, id, """
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            def signed(key, secret, body):
                req = AWSRequest(method="POST", url=URL + "/echo", data=body, headers={"Content-Type": "application/json"})
                SigV4Auth(Credentials(key, secret), "lambda", "us-east-1").add_auth(req)
                return requests.post(URL + "/echo", data=body, headers=dict(req.headers))
            r = signed("\(fields["AccessKeyId"] ?? "")", "\(fields["SecretAccessKey"] ?? "")", b'{"x": 1}')
            out["signed"] = [r.status_code, r.json()["requestContext"].get("authorizer", {}).get("iam", {}).get("accessKey")]
            r = signed("\(fields["AccessKeyId"] ?? "")", "wrong" * 8, b'{"x": 1}')
            out["wrong"] = r.status_code
            """)
        let signed = out["signed"] as? [AnyHashable]
        XCTAssertEqual(signed?.first, 200)
        XCTAssertEqual(signed?.last, fields["AccessKeyId"] as AnyHashable?)
        XCTAssertEqual(out["wrong"] as? Int, 403)
    }

    func testAThrottledFunctionIsA429ATimeoutA502AndADeletedAliasA403() throws {
        let daemon = try d()
        let id = try urlFunction(daemon, "limited", extra: ", Timeout=1")
        _ = try daemon.boto(#"c.put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=0)"#)
        let throttled = try curl(daemon, ["\(daemon.urlEndpoint)/lambda-url/\(id)/plain"])
        XCTAssertEqual(throttled.0, 429, throttled.2)
        _ = try daemon.boto(#"c.delete_function_concurrency(FunctionName="limited")"#)
        let late = try curl(daemon, ["\(daemon.urlEndpoint)/lambda-url/\(id)/sleep"])
        XCTAssertEqual(late.0, 502, "a timeout is a function error to the client: \(late.2)")

        let out = try daemon.boto("""
            c.publish_version(FunctionName="limited")
            c.create_alias(FunctionName="limited", Name="live", FunctionVersion="1")
            out["url"] = c.create_function_url_config(FunctionName="limited", Qualifier="live", AuthType="NONE")["FunctionUrl"]
            """)
        let aliasId = String(try XCTUnwrap((out["url"] as? String)?.split(separator: "/").dropFirst().first?.split(separator: ".").first))
        XCTAssertEqual(try curl(daemon, ["\(daemon.urlEndpoint)/lambda-url/\(aliasId)/plain"]).0, 200)
        XCTAssertEqual(try curl(daemon, ["\(daemon.urlEndpoint)/lambda-url/\(aliasId)/arn"]).2, "arn:aws:lambda:us-east-1:000000000000:function:limited:live",
                       "the invoked function ARN carries the alias the URL names")
        XCTAssertEqual(try curl(daemon, ["\(daemon.urlEndpoint)/lambda-url/\(id)/arn"]).2, "arn:aws:lambda:us-east-1:000000000000:function:limited",
                       "and no qualifier when none was named")
        _ = try daemon.boto(#"c.delete_alias(FunctionName="limited", Name="live")"#)
        let gone = try curl(daemon, ["\(daemon.urlEndpoint)/lambda-url/\(aliasId)/plain"])
        XCTAssertEqual(gone.0, 403, "as AWS answers a URL whose alias was deleted: \(gone.2)")
        XCTAssertEqual(gone.1["x-amzn-errortype"], "AccessDeniedException")
    }

    func testAPowertoolsAppRoutesBehindAURL() throws {
        let daemon = try d()
        guard FileManager.default.fileExists(atPath: Self.fixtures + "/powertools.zip") else {
            throw XCTSkip("aws-lambda-powertools is not in .build/pydeps/powertools: run scripts/setup")
        }
        let id = try urlFunction(daemon, "pt", handler: "handler", zip: "powertools.zip")
        let out = try requests(daemon, id, """
            r = requests.get(URL + "/items/42?q=hello")
            out["get"] = [r.status_code, r.json()]
            r = requests.post(URL + "/items", json={"name": "x"})
            out["post"] = [r.status_code, r.json()]
            r = requests.get(URL + "/nothing")
            out["missing"] = r.status_code
            """)
        let ptLog = try log(daemon, "pt")
        let get = out["get"] as? [Any], post = out["post"] as? [Any]
        XCTAssertEqual(get?.first as? Int, 200, String(ptLog.suffix(2000)))
        XCTAssertEqual(get?.last as? [String: String], ["id": "42", "q": "hello"])
        XCTAssertEqual(post?.first as? Int, 201)
        XCTAssertEqual((post?.last as? [String: Any])?["created"] as? [String: String], ["name": "x"])
        XCTAssertEqual(out["missing"] as? Int, 404, "the router's own not-found")
    }

    func testDeployWithURLAndHearthURLPrintAWorkingURL() throws {
        let daemon = try d()
        let hearth = ServeDaemon.buildDirectory.appendingPathComponent("hearth")
        let env = ["PATH": "/usr/bin:/bin"]
        let deployed = try runCLI(hearth, ["deploy", "cli-web", "--zip", Self.fixtures + "/app.zip", "--runtime", "python3.11", "--handler", "app.web",
                                           "--url", "--endpoint", daemon.endpoint], environment: env)
        XCTAssertEqual(deployed.status, 0, deployed.stderr)
        let line = try XCTUnwrap(deployed.stdout.split(separator: "\n").first { $0.hasPrefix("url ") }, deployed.stdout)
        let url = String(line.dropFirst(4))
        let shown = try runCLI(hearth, ["url", "cli-web", "--endpoint", daemon.endpoint], environment: env)
        XCTAssertEqual(shown.stdout.split(separator: "\n").first.map(String.init), url, "the same URL, not a second one")
        let host = try XCTUnwrap(URL(string: url)?.host)
        let (code, _, body) = try curl(daemon, ["--resolve", "\(host):\(daemon.urlPort):127.0.0.1", url + "plain"])
        XCTAssertEqual(code, 200)
        XCTAssertEqual(body, #"{"hello": "world"}"#)
        let changed = try runCLI(hearth, ["url", "cli-web", "--cors-origin", "https://app.example", "--json", "--endpoint", daemon.endpoint],
                                 environment: env)
        XCTAssertTrue(changed.stdout.contains("https://app.example"), changed.stdout + changed.stderr)
        let streaming = try runCLI(hearth, ["url", "cli-web", "--invoke-mode", "RESPONSE_STREAM", "--json", "--endpoint", daemon.endpoint],
                                   environment: env)
        XCTAssertTrue(streaming.stdout.contains("\"InvokeMode\" : \"RESPONSE_STREAM\""), streaming.stdout + streaming.stderr)
        let deleted = try runCLI(hearth, ["url", "cli-web", "--delete", "--endpoint", daemon.endpoint], environment: env)
        XCTAssertEqual(deleted.status, 0, deleted.stderr)
        XCTAssertEqual(try curl(daemon, ["--resolve", "\(host):\(daemon.urlPort):127.0.0.1", url + "plain"]).0, 404)
    }

    /// InvokeWithResponseStream with boto3: the pieces arrive as the function writes them, then InvokeComplete.
    func testInvokeWithResponseStreamDeliversPiecesAsTheyAreWritten() throws {
        let daemon = try d()
        let out = try daemon.boto("""
            c.create_function(FunctionName="streamer", Runtime="nodejs20.x", Role="arn:aws:iam::123456789012:role/hearth", Handler="index.handler",
                              Code={"ZipFile": open("\(Self.fixtures)/node.zip", "rb").read()}, Timeout=10)
            c.create_function(FunctionName="whole", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", Handler="app.web",
                              Code={"ZipFile": open("\(Self.fixtures)/app.zip", "rb").read()})
            def stream(name, payload):
                r = c.invoke_with_response_stream(FunctionName=name, Payload=json.dumps(payload), LogType="Tail")
                events = []
                for e in r["EventStream"]:
                    if "PayloadChunk" in e:
                        events.append(["chunk", time.time(), e["PayloadChunk"]["Payload"].decode()])
                    else:
                        done = e["InvokeComplete"]
                        events.append(["complete", time.time(), done.get("ErrorCode"), done.get("ErrorDetails"), bool(done.get("LogResult"))])
                return {"status": r["StatusCode"], "version": r.get("ExecutedVersion"), "events": events}
            out["streamed"] = stream("streamer", {})
            out["failed"] = stream("streamer", {"fail": True})
            out["whole"] = stream("whole", {"rawPath": "/plain"})
            out["missing"] = err(c.invoke_with_response_stream, FunctionName="nope", Payload=b"{}")
            """)
        let streamed = try XCTUnwrap(out["streamed"] as? [String: Any])
        XCTAssertEqual(streamed["status"] as? Int, 200)
        XCTAssertEqual(streamed["version"] as? String, "$LATEST")
        let events = try XCTUnwrap(streamed["events"] as? [[Any]])
        let chunks = events.filter { $0.first as? String == "chunk" }
        let text = chunks.compactMap { $0.last as? String }.joined()
        XCTAssertTrue(text.hasPrefix("first ") && text.contains("\nsecond "), text)
        XCTAssertEqual(events.last?.first as? String, "complete")
        XCTAssertTrue(events.last?[2] is NSNull, "no error: \(events)")
        XCTAssertEqual(events.last?[4] as? Bool, true, "the log tail comes with InvokeComplete")
        let firstAt = try XCTUnwrap(chunks.first?[1] as? Double), doneAt = try XCTUnwrap(events.last?[1] as? Double)
        XCTAssertGreaterThan(doneAt - firstAt, 1.0, "the first piece reached the client while the function was still running")

        let failed = try XCTUnwrap((out["failed"] as? [String: Any])?["events"] as? [[Any]])
        XCTAssertTrue((failed.first?.last as? String)?.hasPrefix("first ") ?? false, "\(failed)")
        XCTAssertEqual(failed.last?[2] as? String, "Error", "an error after the start ends the stream with its type")
        XCTAssertTrue((failed.last?[3] as? String)?.contains("midway") ?? false, "\(failed)")

        let whole = try XCTUnwrap((out["whole"] as? [String: Any])?["events"] as? [[Any]])
        XCTAssertEqual(whole.count, 2, "a runtime that answers whole gives one piece: \(whole)")
        XCTAssertEqual(whole.first?.last as? String, #"{"hello": "world"}"#)
        XCTAssertEqual((out["missing"] as? [String: Any])?["status"] as? Int, 404)
    }

    /// A RESPONSE_STREAM URL: the head from the runtime's prelude, then the body as it is written (chunked).
    func testAStreamingURLSendsTheBodyAsTheFunctionWritesIt() throws {
        let daemon = try d()
        let out = try daemon.boto("""
            c.create_function(FunctionName="streamurl", Runtime="nodejs20.x", Role="arn:aws:iam::123456789012:role/hearth", Handler="index.handler",
                              Code={"ZipFile": open("\(Self.fixtures)/node.zip", "rb").read()}, Timeout=10)
            out["url"] = c.create_function_url_config(FunctionName="streamurl", AuthType="NONE", InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
            """)
        let id = String(try XCTUnwrap((out["url"] as? String)?.split(separator: "/").dropFirst().first?.split(separator: ".").first))
        let got = try requests(daemon, id, """
            import time
            r = requests.get(URL + "/stream", stream=True)
            pieces = []
            for line in r.iter_lines():
                pieces.append([time.time(), line.decode()])
            out["status"] = r.status_code
            out["headers"] = {k.lower(): v for k, v in r.headers.items()}
            out["pieces"] = pieces
            """)
        XCTAssertEqual(got["status"] as? Int, 201)
        let headers = try XCTUnwrap(got["headers"] as? [String: String])
        XCTAssertEqual(headers["x-streamed"], "yes")
        XCTAssertEqual(headers["content-type"], "text/plain")
        XCTAssertEqual(headers["transfer-encoding"], "chunked")
        XCTAssertNotNil(headers["x-amzn-requestid"])
        let pieces = try XCTUnwrap(got["pieces"] as? [[Any]])
        XCTAssertEqual(pieces.count, 2, "\(pieces)")
        let gap = ((pieces.last?.first as? Double) ?? 0) - ((pieces.first?.first as? Double) ?? 0)
        XCTAssertGreaterThan(gap, 1.0, "the first line was read 1.5 s before the second was written: \(pieces)")
    }
}
