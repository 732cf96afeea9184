import Foundation
import XCTest

/// SigV4 on the API with real clients: boto3, the aws CLI and curl (--aws-sigv4) signing with a key made by
/// `hearth keys create` are served; a wrong secret, an unknown or deleted key, another region, a body
/// changed after signing, a request replayed after the 5-minute window and an unsigned request are all
/// refused with Lambda's 403, and none of them changes anything. The root-only socket needs no signature.
final class ServeAuthTests: XCTestCase {
    override func setUpWithError() throws {
        try ServeDaemon.checkPrerequisites()
        _ = try ServeFixtures.make()
    }

    override class func tearDown() {
        ServeFixtures.remove()
    }

    func testSignedRequestsAreServedAndEveryOtherOneIsRefused() throws {
        let state = NSTemporaryDirectory() + "hearth-auth-" + UUID().uuidString.prefix(8)
        let hearth = ServeDaemon.buildDirectory.appendingPathComponent("hearth")
        let env = ["PATH": "/usr/bin:/bin"]
        func makeKey() throws -> (id: String, secret: String) {
            let made = try runCLI(hearth, ["keys", "create", "--state-dir", state, "--description", "tests"], environment: env)
            XCTAssertEqual(made.status, 0, made.stderr)
            let fields = Dictionary(made.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
            }, uniquingKeysWith: { a, _ in a })
            return (fields["AccessKeyId"] ?? "", fields["SecretAccessKey"] ?? "")
        }
        let key = try makeKey(), spare = try makeKey()
        XCTAssertTrue(key.id.hasPrefix("HRTH") && key.id.count == 20 && key.secret.count == 40, "\(key)")
        let listed = try runCLI(hearth, ["keys", "list", "--state-dir", state], environment: env)
        XCTAssertTrue(listed.stdout.contains(key.id) && listed.stdout.contains("tests") && !listed.stdout.contains(key.secret), listed.stdout)

        let daemon = try ServeDaemon(stateDirectory: state, arguments: ["--auth", "required"])
        defer {
            daemon.remove()
            try? FileManager.default.removeItem(atPath: state)
        }
        XCTAssertTrue(daemon.printed.withLock { $0.contains("HTTP requests must be signed (SigV4) with one of 2 access keys") })
        let fixtures = try ServeFixtures.make()
        let result = try python(daemon, key: key, """
            good = client(KEY, SECRET)
            good.create_function(FunctionName="f", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth",
                                 Handler="app.handler", Code={"ZipFile": open("\(fixtures)/counter-v1.zip", "rb").read()})
            out["invoke"] = json.loads(good.invoke(FunctionName="f", Payload=b"{}")["Payload"].read())["count"]
            # An ARN with a qualifier: its ':' travel as %3A and are signed as %253A.
            out["arn"] = good.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST", Payload=b"{}")["StatusCode"]
            out["wrong_secret"] = err(client(KEY, "x" * 40).create_function, FunctionName="g", Runtime="python3.11",
                                      Role="arn:aws:iam::123456789012:role/hearth", Handler="app.handler", Code={"ZipFile": b"PK"})
            out["unknown_key"] = err(client("HRTHAAAAAAAAAAAAAAAA", SECRET).list_functions)
            out["other_region"] = err(client(KEY, SECRET, region="eu-west-1").list_functions)

            # A request signed by botocore, its body changed on the way.
            def signed(method, path, body, when=None):
                request = AWSRequest(method=method, url=ENDPOINT + path, data=body, headers={"Content-Type": "application/json"})
                auth = SigV4Auth(Credentials(KEY, SECRET), "lambda", "us-east-1")
                if when is None:
                    auth.add_auth(request)
                else:
                    class Then(datetime.datetime):
                        @classmethod
                        def utcnow(cls): return when
                        @classmethod
                        def now(cls, tz=None): return when.replace(tzinfo=tz)
                    with mock.patch.object(botocore.auth.datetime, "datetime", Then):
                        auth.add_auth(request)
                return request
            def send(request, body=None):
                headers = dict(request.headers)
                data = request.body if body is None else body
                r = urllib.request.Request(request.url, data=data, method=request.method, headers=headers)
                try:
                    with urllib.request.urlopen(r) as answer:
                        return {"status": answer.status, "type": None, "body": answer.read().decode()}
                except urllib.error.HTTPError as e:
                    return {"status": e.code, "type": e.headers.get("x-amzn-ErrorType"), "body": e.read().decode()}
            conf = json.dumps({"Timeout": 7}).encode()
            tampered = signed("PUT", "/2015-03-31/functions/f/configuration", conf)
            out["tampered"] = send(tampered, json.dumps({"Timeout": 9}).encode())
            out["untampered"] = send(signed("PUT", "/2015-03-31/functions/f/configuration", conf))["status"]
            # The same request, signed 10 minutes ago: a replay outside the window.
            old = datetime.datetime.utcnow() - datetime.timedelta(minutes=10)
            out["replayed"] = send(signed("PUT", "/2015-03-31/functions/f/configuration", json.dumps({"Timeout": 11}).encode(), when=old))
            out["timeout"] = good.get_function_configuration(FunctionName="f")["Timeout"]
            # The query-string form (a presigned URL).
            url = good.generate_presigned_url("get_function_configuration", Params={"FunctionName": "f"}, ExpiresIn=60)
            out["presigned"] = send(AWSRequest(method="GET", url=url))["status"]
            out["presigned_tampered"] = send(AWSRequest(method="GET", url=url.replace("functions/f/", "functions/g/")))["status"]
            """)
        XCTAssertEqual(result["invoke"] as? Int, 1)
        XCTAssertEqual(result["arn"] as? Int, 200)
        let wrong = result["wrong_secret"] as? [String: Any]
        XCTAssertEqual(wrong?["code"] as? String, "InvalidSignatureException")
        XCTAssertEqual(wrong?["status"] as? Int, 403)
        XCTAssertTrue((wrong?["message"] as? String ?? "").hasPrefix("The request signature we calculated does not match"), "\(String(describing: wrong))")
        XCTAssertEqual((result["unknown_key"] as? [String: Any])?["code"] as? String, "UnrecognizedClientException")
        XCTAssertEqual((result["other_region"] as? [String: Any])?["message"] as? String, "Credential should be scoped to a valid region. ")
        let tampered = result["tampered"] as? [String: Any]
        XCTAssertEqual(tampered?["status"] as? Int, 403)
        XCTAssertEqual(tampered?["type"] as? String, "InvalidSignatureException")
        XCTAssertEqual(result["untampered"] as? Int, 200)
        let replayed = result["replayed"] as? [String: Any]
        XCTAssertEqual(replayed?["status"] as? Int, 403)
        XCTAssertTrue((replayed?["body"] as? String ?? "").contains("Signature expired"), "\(String(describing: replayed))")
        XCTAssertEqual(result["timeout"] as? Int, 7, "only the untampered change was made")
        XCTAssertEqual(result["presigned"] as? Int, 200)
        XCTAssertEqual(result["presigned_tampered"] as? Int, 403)

        // Unsigned: refused, a large body before it is read; on the root-only socket it is served.
        XCTAssertEqual(try daemon.http("GET", "/healthz").0, 200, "a health check needs no signature")
        XCTAssertEqual(try daemon.http("GET", "/metrics").0, 403, "metrics name the functions: signed")
        let (status, headers, body) = try daemon.http("GET", "/2015-03-31/functions/")
        XCTAssertEqual(status, 403)
        XCTAssertEqual(headers["x-amzn-errortype"], "MissingAuthenticationTokenException", body)
        let big = daemon.base + "/big.json"
        try Data(repeating: UInt8(ascii: "x"), count: 1 << 20).write(to: URL(fileURLWithPath: big))
        let upload = try daemon.http("POST", "/2015-03-31/functions", body: "@" + big)
        XCTAssertEqual(upload.0, 403)
        let local = try runCLI(hearth, ["list", "--endpoint", "unix:" + daemon.socket], environment: env)
        XCTAssertEqual(local.status, 0, local.stderr)
        XCTAssertTrue(local.stdout.contains("f"), local.stdout)

        // curl's own SigV4, and the aws CLI with the key and with a wrong one.
        let curl = try RuntimeImages.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:lambda",
                                                           "--user", "\(key.id):\(key.secret)", daemon.endpoint + "/2015-03-31/functions/f"])
        XCTAssertEqual(curl.1, "200")
        XCTAssertEqual(try daemon.aws(["lambda", "get-function-configuration", "--function-name", "f"], key: key).0, 0)
        let refused = try daemon.aws(["lambda", "list-functions"], key: (key.id, String(repeating: "y", count: 40)))
        XCTAssertNotEqual(refused.0, 0)
        XCTAssertTrue(refused.1.contains("InvalidSignatureException"), refused.1)

        // A deleted key stops working within a second; the other key goes on.
        XCTAssertEqual(try runCLI(hearth, ["keys", "delete", "--state-dir", state, key.id], environment: env).status, 0)
        Thread.sleep(forTimeInterval: 1.2)
        let deleted = try daemon.aws(["lambda", "list-functions"], key: key)
        XCTAssertTrue(deleted.1.contains("UnrecognizedClientException"), deleted.1)
        XCTAssertEqual(try daemon.aws(["lambda", "list-functions"], key: spare).0, 0)
    }

    /// JavaScript: Debian's node-aws4 (the AWS SDK for JavaScript is not packaged, and npm cannot be reached from
    /// here) signs a ListFunctions and an Invoke on a qualified ARN; with a wrong secret both are refused.
    func testAJavaScriptClientSigningWithAws4() throws {
        let aws4 = "/usr/share/nodejs/aws4"
        guard FileManager.default.fileExists(atPath: "/usr/bin/node"), FileManager.default.fileExists(atPath: aws4) else {
            throw XCTSkip("node and Debian's node-aws4 are needed (scripts/setup installs node-aws4)")
        }
        let state = NSTemporaryDirectory() + "hearth-auth-js-" + UUID().uuidString.prefix(8)
        let hearth = ServeDaemon.buildDirectory.appendingPathComponent("hearth")
        let made = try runCLI(hearth, ["keys", "create", "--state-dir", state], environment: ["PATH": "/usr/bin:/bin"])
        let words = made.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let idIndex = words.firstIndex(of: "AccessKeyId:"), let secretIndex = words.firstIndex(of: "SecretAccessKey:") else {
            return XCTFail(made.stdout + made.stderr)
        }
        let id = String(words[idIndex + 1]), secret = String(words[secretIndex + 1])
        let daemon = try ServeDaemon(stateDirectory: state, arguments: ["--auth", "required"])
        defer {
            daemon.remove()
            try? FileManager.default.removeItem(atPath: state)
        }
        _ = try python(daemon, key: (id, secret), """
            client(KEY, SECRET).create_function(FunctionName="f", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth",
                Handler="app.handler", Code={"ZipFile": open("\(try ServeFixtures.make())/counter-v1.zip", "rb").read()})
            """)
        let script = """
            const aws4 = require("\(aws4)"), http = require("http");
            function call(secret, method, path, body) {
              const opts = aws4.sign({host: "127.0.0.1", port: \(daemon.port), method, path, body, service: "lambda", region: "us-east-1",
                                      headers: body ? {"Content-Type": "application/json"} : {}},
                                     {accessKeyId: "\(id)", secretAccessKey: secret});
              return new Promise((resolve, reject) => {
                const req = http.request(opts, res => { let data = ""; res.on("data", d => data += d);
                  res.on("end", () => resolve({status: res.statusCode, type: res.headers["x-amzn-errortype"] || null, body: data})); });
                req.on("error", reject);
                if (body) req.write(body);
                req.end();
              });
            }
            (async () => {
              const arn = encodeURIComponent("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST");
              const out = {
                list: await call("\(secret)", "GET", "/2015-03-31/functions/"),
                invoke: await call("\(secret)", "POST", `/2015-03-31/functions/${arn}/invocations`, "{}"),
                wrong: await call("\(String(repeating: "z", count: 40))", "POST", "/2015-03-31/functions/f/invocations", "{}"),
              };
              console.log(JSON.stringify(out));
            })().catch(e => { console.error(e); process.exit(1); });
            """
        let path = daemon.base + "/client.js"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try runCLI(URL(fileURLWithPath: "/usr/bin/node"), [path], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = try JSONSerialization.jsonObject(with: Data((r.stdout.split(separator: "\n").last ?? "").utf8)) as? [String: [String: Any]]
        XCTAssertEqual(out?["list"]?["status"] as? Int, 200, r.stdout)
        XCTAssertEqual(out?["invoke"]?["status"] as? Int, 200, r.stdout)
        XCTAssertEqual(out?["wrong"]?["status"] as? Int, 403, r.stdout)
        XCTAssertEqual(out?["wrong"]?["type"] as? String, "InvalidSignatureException", r.stdout)
    }

    /// boto3 signing with `key`, plus botocore's own signer for requests changed after signing.
    func python(_ daemon: ServeDaemon, key: (id: String, secret: String), _ code: String) throws -> [String: Any] {
        try daemon.boto("""
            import botocore.auth, datetime, urllib.request, urllib.error
            from unittest import mock
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            """ + "\n" + code, key: key)
    }
}
