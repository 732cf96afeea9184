import Foundation
import XCTest

/// `hearth run` end to end with runtimes no one here wrote or tuned: awslambdaric
/// from PyPI, a shell-and-curl custom runtime, a static binary, Node.js handlers,
/// and Hearth's own Python bootstrap.
final class HearthRunTests: SandboxTestCase {
    nonisolated(unsafe) static var fixtures: String?

    override class func tearDown() {
        if let fixtures { try? FileManager.default.removeItem(atPath: fixtures) }
        fixtures = nil
        super.tearDown()
    }

    /// Function zips and layers, made with zip, pip and cc.
    func fixtureDirectory() throws -> String {
        if let dir = Self.fixtures { return dir }
        try RuntimeImages.ensureBuilt()
        let dir = NSTemporaryDirectory() + "hearth-run-" + UUID().uuidString
        let fm = FileManager.default
        func write(_ path: String, _ text: String, mode: Int = 0o644) throws {
            try fm.createDirectory(atPath: (dir + "/" + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: dir + "/" + path, atomically: false, encoding: .utf8)
            try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: dir + "/" + path)
        }
        func zip(_ name: String, from folder: String) throws {
            let (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", "-y", dir + "/" + name, "."], cwd: dir + "/" + folder)
            guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
        }

        try write("py/app.py", """
            import os, time
            count = 0
            def handler(event, context):
                global count
                count += 1
                print("hello from python", event.get("name"))
                return {"greeting": "hi " + str(event.get("name")), "count": count, "uid": os.getuid(), "cwd": os.getcwd(),
                        "function": context.function_name, "remaining": context.get_remaining_time_in_millis() > 0}
            def boom(event, context):
                raise ValueError("bad input " + str(event.get("name")))
            def slow(event, context):
                time.sleep(30)
            def leave(event, context):
                os._exit(3)
            def hog(event, context):
                blocks = []
                while True:
                    blocks.append(bytearray(16 * 1024 * 1024))
            """)
        try zip("py.zip", from: "py")
        try write("broken/app.py", "import no_such_module_anywhere\n")
        try zip("broken.zip", from: "broken")

        // awslambdaric from PyPI in a layer (/opt/python), started by the function's own bootstrap.
        let (pip, pipOut) = try RuntimeImages.run("/usr/bin/env", ["python3", "-m", "pip", "install", "--quiet", "--only-binary=:all:",
            "--python-version", "3.11", "--platform", "manylinux2014_x86_64", "--implementation", "cp",
            "--target", dir + "/ric/python", "awslambdaric"])
        guard pip == 0 else { throw XCTSkip("pip could not fetch awslambdaric from PyPI: \(pipOut.suffix(300))") }
        try zip("ric-layer.zip", from: "ric")
        try write("ricfn/bootstrap", "#!/bin/sh\nexec /usr/bin/python3 -m awslambdaric \"$_HANDLER\"\n", mode: 0o755)
        try write("ricfn/app.py", """
            import time
            def handler(event, context):
                return {"ric": True, "request": context.aws_request_id, "name": event.get("name")}
            def boom(event, context):
                raise KeyError("missing thing")
            def slow(event, context):
                time.sleep(30)
            """)
        try zip("ricfn.zip", from: "ricfn")

        // The custom-runtime loop AWS's tutorial teaches: bash and curl against the Runtime API.
        try write("shell/bootstrap", """
            #!/bin/bash
            set -euo pipefail
            source "$LAMBDA_TASK_ROOT/$(echo "$_HANDLER" | cut -d. -f1).sh"
            while true; do
              HEADERS="$(mktemp)"
              EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
              REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
              RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")
              curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "$RESPONSE" >/dev/null
            done
            """, mode: 0o755)
        try write("shell/function.sh", """
            function handler () {
              EVENT_DATA=$1
              echo "$EVENT_DATA" 1>&2
              echo "Echoing request: '$EVENT_DATA'"
            }
            """)
        try zip("shell.zip", from: "shell")
        // The same loop started as "#!/bin/sh": Lambda's /bin/sh is bash (set -o pipefail, source, function).
        let loop = try String(contentsOfFile: dir + "/shell/bootstrap", encoding: .utf8)
        try write("shsh/bootstrap", loop.replacingOccurrences(of: "#!/bin/bash", with: "#!/bin/sh"), mode: 0o755)
        try write("shsh/function.sh", try String(contentsOfFile: dir + "/shell/function.sh", encoding: .utf8))
        try zip("shsh.zip", from: "shsh")

        // AWS_LAMBDA_EXEC_WRAPPER: a script that sets a variable and starts the runtime it is given.
        try write("wrapped/wrapper.sh", "#!/bin/sh\nexport WRAPPED=\"by $0 with $1\"\nexec \"$@\"\n", mode: 0o755)
        try write("wrapped/app.py", "import os\ndef handler(event, context):\n    return {'wrapped': os.environ.get('WRAPPED')}\n")
        try zip("wrapped.zip", from: "wrapped")

        // A runtime that never asks for its event.
        try write("stuck/bootstrap", "#!/bin/sh\nsleep 60\n", mode: 0o755)
        try zip("stuck.zip", from: "stuck")

        // A static binary as the whole runtime.
        let source = RuntimeImages.repository.appendingPathComponent("scripts/fixtures/static-runtime.c").path
        try fm.createDirectory(atPath: dir + "/static", withIntermediateDirectories: true)
        let (cc, ccOut) = try RuntimeImages.run("/usr/bin/cc", ["-static", "-O2", "-o", dir + "/static/bootstrap", source])
        guard cc == 0 else { throw XCTSkip("cc -static failed: \(ccOut)") }
        try zip("static.zip", from: "static")

        try write("node/index.js", """
            exports.handler = async (event) => {
                const response = {
                    statusCode: 200,
                    body: JSON.stringify('Hello, World!'),
                };
                return response;
            };
            exports.callback = (event, context, callback) => {
                setTimeout(() => callback(null, { style: 'callback', name: event.name, id: context.awsRequestId.length }), 20);
            };
            exports.fails = async () => { throw new TypeError('node says no'); };
            exports.version = async () => ({ node: process.version, env: process.env.AWS_EXECUTION_ENV });
            exports.logs = async (event, context) => { console.log('hello', event.name); console.warn('two\\nlines'); return context.awsRequestId; };
            """)
        try zip("node.zip", from: "node")

        // An image function: the python3 runtime image plus the code in /var/task, made with umoci.
        let images = RuntimeImages.directory
        let (copied, copyOut) = try RuntimeImages.run("/usr/bin/env", ["skopeo", "--insecure-policy", "copy", "-q",
            "oci:" + images + "/python3:python3", "oci:" + dir + "/fnimage:fn"])
        guard copied == 0 else { throw XCTSkip("skopeo copy failed: \(copyOut)") }
        for step in [
            ["umoci", "unpack", "--image", dir + "/fnimage:fn", dir + "/fnbundle"],
            ["cp", dir + "/py/app.py", dir + "/fnbundle/rootfs/var/task/app.py"],
            ["umoci", "repack", "--image", dir + "/fnimage:fn", dir + "/fnbundle"],
            ["umoci", "config", "--image", dir + "/fnimage:fn", "--config.entrypoint", "/var/runtime/bootstrap", "--config.cmd", "app.handler"],
        ] {
            let (status, out) = try RuntimeImages.run("/usr/bin/env", step)
            guard status == 0 else { throw XCTSkip("\(step[0]) failed: \(out)") }
        }

        try write("event.json", #"{"name": "Ada"}"#)
        Self.fixtures = dir
        return dir
    }

    func hearthRun(_ args: [String]) throws -> CLIOutput {
        let dir = try fixtureDirectory()
        return try h().hearthCLI(["run"] + args.map { $0.replacingOccurrences(of: "FIX", with: dir) })
    }

    func report(_ r: CLIOutput) -> String? {
        r.stderr.split(separator: "\n").first { $0.hasPrefix("REPORT RequestId:") }.map(String.init)
    }

    // awslambdaric

    func testAwslambdaricSuccess() throws {
        let r = try hearthRun(["--zip", "FIX/ricfn.zip", "--layer", "FIX/ric-layer.zip", "--runtime", "python3.11", "--handler", "app.handler", "--event", "FIX/event.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json["ric"] as? Bool, true)
        XCTAssertEqual(r.json["name"] as? String, "Ada")
        let requestId = try XCTUnwrap(r.json["request"] as? String)
        XCTAssertTrue(r.stderr.contains("START RequestId: \(requestId) Version: $LATEST"), r.stderr)
        XCTAssertTrue(r.stderr.contains("END RequestId: \(requestId)"), r.stderr)
        XCTAssertTrue(report(r)?.contains("Init Duration: ") ?? false, r.stderr)
    }

    func testAwslambdaricExceptionComesBackAsLambdaReturnsIt() throws {
        let r = try hearthRun(["--zip", "FIX/ricfn.zip", "--layer", "FIX/ric-layer.zip", "--runtime", "python3.11", "--handler", "app.boom"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.json["errorType"] as? String, "KeyError")
        XCTAssertEqual(r.json["errorMessage"] as? String, "'missing thing'")
        XCTAssertNotNil(r.json["stackTrace"], r.stdout)
    }

    func testAwslambdaricTimeout() throws {
        let r = try hearthRun(["--zip", "FIX/ricfn.zip", "--layer", "FIX/ric-layer.zip", "--runtime", "python3.11", "--handler", "app.slow", "--timeout", "1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.json["errorType"] as? String, "Sandbox.Timedout")
        XCTAssertTrue((r.json["errorMessage"] as? String ?? "").hasSuffix("Error: Task timed out after 1.00 seconds"), r.stdout)
        XCTAssertTrue(report(r)?.hasSuffix("Status: timeout\t") ?? false, r.stderr)
    }

    // custom runtimes

    func testShellAndCurlCustomRuntime() throws {
        let r = try hearthRun(["--zip", "FIX/shell.zip", "--runtime", "provided.al2023", "--handler", "function.handler", "--event", "FIX/event.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "Echoing request: '{\"name\": \"Ada\"}'\n")
        XCTAssertTrue(r.stderr.contains(#"{"name": "Ada"}"#), "the function's stderr is in the log")
    }

    func testStaticBinaryCustomRuntime() throws {
        let r = try hearthRun(["--zip", "FIX/static.zip", "--runtime", "provided", "--handler", "unused", "--event", "FIX/event.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, #"{"echo":{"name": "Ada"}}"# + "\n")
        XCTAssertTrue(r.stderr.contains("static runtime got "), r.stderr)
    }

    // Node.js

    func testNodeSeedExample() throws {
        let r = try hearthRun(["--zip", "FIX/node.zip", "--runtime", "nodejs20.x", "--handler", "index.handler"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json["statusCode"] as? Int, 200)
        XCTAssertEqual(r.json["body"] as? String, "\"Hello, World!\"")
    }

    func testNodeCallbackHandler() throws {
        let r = try hearthRun(["--zip", "FIX/node.zip", "--runtime", "nodejs", "--handler", "index.callback", "--event", "FIX/event.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json["style"] as? String, "callback")
        XCTAssertEqual(r.json["name"] as? String, "Ada")
        XCTAssertEqual(r.json["id"] as? Int, 36)
    }

    func testNodeError() throws {
        let r = try hearthRun(["--zip", "FIX/node.zip", "--runtime", "nodejs", "--handler", "index.fails"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.json["errorType"] as? String, "TypeError")
        XCTAssertEqual(r.json["errorMessage"] as? String, "node says no")
    }

    /// Each runtime name runs the version it says (Node 20 code uses toSorted, which Node 18 lacks).
    func testRuntimeNamesRunTheirVersions() throws {
        for (runtime, major) in [("nodejs18.x", "v18."), ("nodejs20.x", "v20."), ("nodejs22.x", "v22."), ("nodejs24.x", "v24.")] {
            let r = try hearthRun(["--zip", "FIX/node.zip", "--runtime", runtime, "--handler", "index.version"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue((r.json["node"] as? String ?? "").hasPrefix(major), "\(runtime): \(r.stdout)")
            XCTAssertEqual(r.json["env"] as? String, "AWS_Lambda_" + runtime)
        }
        try write313()
        for (runtime, version) in [("python3.11", "3.11"), ("python3.13", "3.13"), ("python3.14", "3.14")] {
            let py = try hearthRun(["--zip", "FIX/py313.zip", "--runtime", runtime, "--handler", "app.handler"])
            XCTAssertEqual(py.status, 0, py.stderr)
            XCTAssertEqual(py.json["version"] as? String, version)
            XCTAssertEqual(py.json["env"] as? String, "AWS_Lambda_" + runtime)
            // The AWS SDK comes with the runtime, as on Lambda: the package ships none.
            XCTAssertEqual(py.json["boto3"] as? String, "1.35.99", "\(runtime): \(py.stdout) \(py.stderr)")
        }
        let rb = try hearthRun(["--zip", "FIX/ruby.zip", "--runtime", "ruby3.3", "--handler", "app.Versions::Report.call"])
        XCTAssertEqual(rb.status, 0, rb.stderr)
        XCTAssertTrue((rb.json["version"] as? String ?? "").hasPrefix("3.3."), rb.stdout)
        XCTAssertEqual(rb.json["env"] as? String, "AWS_Lambda_ruby3.3")
    }

    /// A Ruby file that does not load is an init error, as Lambda's Ruby runtime reports it: Init<Class>.
    func testARubyHandlerThatDoesNotLoadIsAnInitError() throws {
        try write313()
        let r = try hearthRun(["--zip", "FIX/ruby.zip", "--runtime", "ruby3.3", "--handler", "broken.handler"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.json["errorType"] as? String, "Init<SyntaxError>", r.stdout)
        XCTAssertTrue((r.json["errorMessage"] as? String ?? "").contains("/var/task/broken.rb"), r.stdout)
        XCTAssertFalse((r.json["stackTrace"] as? [String] ?? []).isEmpty)
        let missing = try hearthRun(["--zip", "FIX/ruby.zip", "--runtime", "ruby3.3", "--handler", "app.nowhere"])
        XCTAssertEqual(missing.json["errorType"] as? String, "Init<NoMethodError>", missing.stdout)
    }

    /// java21: a RequestHandler class named without a method, its POJO event and result converted by Jackson, a
    /// helper class from a jar in lib/, the logger's lines in the log; a RequestStreamHandler; an exception
    /// with its cause, as Lambda's Java documents report them; a class that is not there is an init error.
    func testJavaHandlersAsLambdasJavaRuntimeCallsThem() throws {
        try writeJava()
        let greet = try hearthRun(["--zip", "FIX/java.zip", "--runtime", "java21", "--handler", "example.Greeter",
                                   "--event", "FIX/person.json", "--memory", "256"])
        XCTAssertEqual(greet.status, 0, greet.stderr)
        XCTAssertEqual(greet.json["message"] as? String, "Hello, Ada (36)", greet.stdout)
        XCTAssertTrue((greet.json["version"] as? String ?? "").hasPrefix("21."), greet.stdout)
        XCTAssertEqual(greet.json["env"] as? String, "AWS_Lambda_java21")
        XCTAssertEqual(greet.json["memory"] as? Int, 256)
        XCTAssertTrue(greet.stderr.contains("greeting Ada"), "the logger's line is in the log: \(greet.stderr)")

        let upper = try hearthRun(["--zip", "FIX/java.zip", "--runtime", "java21", "--handler", "example.Upper", "--event", "FIX/event.json"])
        XCTAssertEqual(upper.status, 0, upper.stderr)
        XCTAssertEqual(upper.json["NAME"] as? String, "ADA", "the stream handler's bytes are the result: \(upper.stdout)")

        // A cold JVM's first exception (class loading, reflection for the error JSON) at 128 MB's share of a
        // CPU took more than the default 3 s on a loaded 2-vCPU box; the error's shape is what is tested here.
        let failing = try hearthRun(["--zip", "FIX/java.zip", "--runtime", "java21", "--handler", "example.Failing::handle", "--event", "FIX/person.json",
                                     "--timeout", "30"])
        XCTAssertEqual(failing.status, 1)
        XCTAssertEqual(failing.json["errorType"] as? String, "java.lang.IllegalStateException", failing.stdout)
        XCTAssertEqual(failing.json["errorMessage"] as? String, "no greeting for Ada")
        XCTAssertEqual((failing.json["stackTrace"] as? [String])?.first, "example.Failing.handle(Failing.java:5)", failing.stdout)
        let cause = failing.json["cause"] as? [String: Any]
        XCTAssertEqual(cause?["errorType"] as? String, "java.io.IOException", failing.stdout)
        XCTAssertEqual(cause?["errorMessage"] as? String, "the greeting store is down")

        let missing = try hearthRun(["--zip", "FIX/java.zip", "--runtime", "java21", "--handler", "example.Nowhere"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.json["errorType"] as? String, "java.lang.ClassNotFoundException", missing.stdout)
        XCTAssertEqual(missing.json["errorMessage"] as? String, "Class not found: example.Nowhere")
    }

    /// The Java package: classes at its root, a helper's class in lib/helper.jar only.
    func writeJava() throws {
        let dir = try fixtureDirectory()
        guard !FileManager.default.fileExists(atPath: dir + "/java.zip") else { return }
        let src = dir + "/java-src/example", classes = dir + "/java"
        try FileManager.default.createDirectory(atPath: src + "/lib", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: classes + "/lib", withIntermediateDirectories: true)
        try """
            package example.lib;

            public final class Helper {
                public static String greet(String name, int age) { return "Hello, " + name + " (" + age + ")"; }
            }
            """.write(toFile: src + "/lib/Helper.java", atomically: true, encoding: .utf8)
        try """
            package example;

            import com.amazonaws.services.lambda.runtime.Context;
            import com.amazonaws.services.lambda.runtime.RequestHandler;

            public class Greeter implements RequestHandler<Greeter.Person, Greeter.Greeting> {
                public static class Person { public String name; public int age; }
                public static class Greeting { public String message; public String version; public String env; public int memory; }

                @Override
                public Greeting handleRequest(Person person, Context context) {
                    context.getLogger().log("greeting " + person.name + "\\n");
                    Greeting g = new Greeting();
                    g.message = example.lib.Helper.greet(person.name, person.age);
                    g.version = System.getProperty("java.version");
                    g.env = System.getenv("AWS_EXECUTION_ENV");
                    g.memory = context.getMemoryLimitInMB();
                    return g;
                }
            }
            """.write(toFile: src + "/Greeter.java", atomically: true, encoding: .utf8)
        try """
            package example;

            import com.amazonaws.services.lambda.runtime.Context;
            import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
            import java.io.IOException;
            import java.io.InputStream;
            import java.io.OutputStream;
            import java.nio.charset.StandardCharsets;

            public class Upper implements RequestStreamHandler {
                @Override
                public void handleRequest(InputStream in, OutputStream out, Context context) throws IOException {
                    out.write(new String(in.readAllBytes(), StandardCharsets.UTF_8).toUpperCase().getBytes(StandardCharsets.UTF_8));
                }
            }
            """.write(toFile: src + "/Upper.java", atomically: true, encoding: .utf8)
        try """
            package example;

            public class Failing {
                public String handle(java.util.Map<String, Object> person) {
                    throw new IllegalStateException("no greeting for " + person.get("name"), new java.io.IOException("the greeting store is down"));
                }
            }
            """.write(toFile: src + "/Failing.java", atomically: true, encoding: .utf8)
        try RuntimeImages.compileJava([src + "/Greeter.java", src + "/Upper.java", src + "/Failing.java", src + "/lib/Helper.java"], into: classes)
        for step in [["/usr/bin/jar", "--create", "--file", classes + "/lib/helper.jar", "-C", classes, "example/lib/Helper.class"],
                     ["/bin/rm", "-r", classes + "/example/lib"],
                     ["/usr/bin/zip", "-q", "-r", dir + "/java.zip", "."]] {
            let (status, out) = try RuntimeImages.run(step[0], Array(step.dropFirst()), cwd: classes)
            guard status == 0 else { throw XCTSkip("\(step[0]) failed: \(out)") }
        }
        try #"{"name": "Ada", "age": 36, "unknown": true}"#.write(toFile: dir + "/person.json", atomically: true, encoding: .utf8)
    }

    /// A function that says which Python and which boto3 run it.
    func write313() throws {
        let dir = try fixtureDirectory()
        if !FileManager.default.fileExists(atPath: dir + "/ruby.zip") {
            // A handler in a class, as Lambda's "file.Module::Class.method" names one.
            try FileManager.default.createDirectory(atPath: dir + "/ruby", withIntermediateDirectories: true)
            try "module Versions\n  class Report\n    def self.call(event:, context:)\n      { version: RUBY_VERSION, env: ENV['AWS_EXECUTION_ENV'] }\n    end\n  end\nend\n"
                .write(toFile: dir + "/ruby/app.rb", atomically: true, encoding: .utf8)
            try "def handler(event:, context:\n  1\nend\n".write(toFile: dir + "/ruby/broken.rb", atomically: true, encoding: .utf8)
            let (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", dir + "/ruby.zip", "."], cwd: dir + "/ruby")
            guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
        }
        guard !FileManager.default.fileExists(atPath: dir + "/py313.zip") else { return }
        try FileManager.default.createDirectory(atPath: dir + "/py313", withIntermediateDirectories: true)
        try "import os, sys, boto3\ndef handler(event, context):\n    return {'version': '%d.%d' % sys.version_info[:2], 'env': os.environ.get('AWS_EXECUTION_ENV'), 'boto3': boto3.__version__}\n"
            .write(toFile: dir + "/py313/app.py", atomically: true, encoding: .utf8)
        let (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", dir + "/py313.zip", "."], cwd: dir + "/py313")
        guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
    }

    /// Lambda's Node.js log lines: timestamp, request id and level before each console line, one line each.
    func testNodeConsoleLinesCarryLambdasPrefix() throws {
        let r = try hearthRun(["--zip", "FIX/node.zip", "--runtime", "nodejs", "--handler", "index.logs", "--event", "FIX/event.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        XCTAssertEqual(id.count, 36, r.stdout)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        let info = try XCTUnwrap(lines.first { $0.hasSuffix("\tINFO\thello Ada") }, r.stderr)
        XCTAssertNotNil(info.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t"# + id + #"\tINFO\thello Ada$"#, options: .regularExpression), info)
        XCTAssertTrue(lines.contains { $0.hasSuffix("\t" + id + "\tWARN\ttwo\rlines") }, "a message's newlines stay in its line: \(r.stderr)")
    }

    // custom runtimes: /bin/sh is bash

    func testAShBootstrapGetsBash() throws {
        let r = try hearthRun(["--zip", "FIX/shsh.zip", "--runtime", "provided.al2023", "--handler", "function.handler", "--event", "FIX/event.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "Echoing request: '{\"name\": \"Ada\"}'\n")
    }

    func testExecWrapperStartsTheManagedRuntime() throws {
        let r = try hearthRun(["--zip", "FIX/wrapped.zip", "--runtime", "python3.11", "--handler", "app.handler",
                               "--env", "AWS_LAMBDA_EXEC_WRAPPER=/var/task/wrapper.sh"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json["wrapped"] as? String, "by /var/task/wrapper.sh with /var/runtime/bootstrap")
        let plain = try hearthRun(["--zip", "FIX/wrapped.zip", "--runtime", "python3.11", "--handler", "app.handler"])
        XCTAssertTrue(plain.json["wrapped"] is NSNull, "no wrapper unless asked: \(plain.stdout)")
    }

    // Hearth's Python bootstrap

    func testPythonThroughHearthsBootstrap() throws {
        let r = try hearthRun(["--zip", "FIX/py.zip", "--runtime", "python3", "--handler", "app.handler", "--event", "FIX/event.json", "--name", "greeter"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json["greeting"] as? String, "hi Ada")
        XCTAssertEqual(r.json["cwd"] as? String, "/var/task")
        XCTAssertEqual(r.json["function"] as? String, "greeter")
        XCTAssertNotEqual(r.json["uid"] as? Int, 0)
        XCTAssertTrue(r.stderr.contains("hello from python Ada"), r.stderr)
        // Max Memory Used is the cgroup's peak, not the configured 128 MB.
        let report = try XCTUnwrap(report(r), r.stderr)
        let used = try XCTUnwrap(report.components(separatedBy: "Max Memory Used: ").last?.split(separator: " ").first.flatMap { Int($0) })
        XCTAssertTrue((1..<100).contains(used), report)
        XCTAssertTrue(report.contains("\tMemory Size: 128 MB\t"), report)
    }

    func testPythonExceptionAndInitError() throws {
        let boom = try hearthRun(["--zip", "FIX/py.zip", "--runtime", "python3", "--handler", "app.boom", "--event", "FIX/event.json"])
        XCTAssertEqual(boom.status, 1)
        XCTAssertEqual(boom.json["errorType"] as? String, "ValueError")
        XCTAssertEqual(boom.json["errorMessage"] as? String, "bad input Ada")
        let broken = try hearthRun(["--zip", "FIX/broken.zip", "--runtime", "python3", "--handler", "app.handler"])
        XCTAssertEqual(broken.status, 1)
        XCTAssertEqual(broken.json["errorType"] as? String, "Runtime.ImportModuleError", "the init error goes to the first invoke")
        XCTAssertTrue((broken.json["errorMessage"] as? String ?? "").contains("no_such_module_anywhere"), broken.stdout)
    }

    func testRuntimeExitAndOutOfMemory() throws {
        let exit = try hearthRun(["--zip", "FIX/py.zip", "--runtime", "python3", "--handler", "app.leave"])
        XCTAssertEqual(exit.status, 1)
        XCTAssertEqual(exit.json["errorType"] as? String, "Runtime.ExitError")
        XCTAssertTrue((exit.json["errorMessage"] as? String ?? "").hasSuffix("Runtime exited with error: exit status 3"), exit.stdout)
        let oom = try hearthRun(["--zip", "FIX/py.zip", "--runtime", "python3", "--handler", "app.hog", "--memory", "128", "--timeout", "30"])
        XCTAssertEqual(oom.status, 1)
        XCTAssertEqual(oom.json["errorType"] as? String, "Runtime.ExitError")
        XCTAssertTrue((oom.json["errorMessage"] as? String ?? "").hasSuffix("signal: killed"), oom.stdout)
        XCTAssertTrue(report(oom)?.contains("Status: error\tError Type: Runtime.OutOfMemory") ?? false, oom.stderr)
    }

    func testInitPhaseIsCappedAtTenSeconds() throws {
        _ = try fixtureDirectory()
        let started = Date()
        let r = try hearthRun(["--zip", "FIX/stuck.zip", "--runtime", "provided", "--handler", "x", "--timeout", "60"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.json["errorType"] as? String, "Sandbox.Timedout")
        XCTAssertTrue((r.json["errorMessage"] as? String ?? "").hasSuffix("Init phase timed out after 10.00 seconds"), r.stdout)
        XCTAssertTrue(report(r)?.contains("Status: timeout") ?? false, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "the function's 60 s timeout does not apply to init")
    }

    func testImageFunctionRunsItsEntrypointWithCMDAsHandler() throws {
        let r = try hearthRun(["--image", "FIX/fnimage:fn", "--event", "FIX/event.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json["greeting"] as? String, "hi Ada")
        XCTAssertEqual(r.json["cwd"] as? String, "/var/task")
        XCTAssertTrue(r.stderr.contains("hello from python Ada"), r.stderr)
    }

    func testNoBootstrapAnywhereIsRuntimeInvalidEntrypoint() throws {
        // node.zip has no bootstrap, and the provided image has none in /var/runtime.
        let r = try hearthRun(["--zip", "FIX/node.zip", "--runtime", "provided", "--handler", "index.handler"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.json["errorType"] as? String, "Runtime.InvalidEntrypoint")
        XCTAssertTrue((r.json["errorMessage"] as? String ?? "").contains("/var/task/bootstrap /opt/bootstrap /var/runtime/bootstrap"), r.stdout)
    }

    func testBadUsageIsExitStatus2() throws {
        let cases: [([String], String)] = [
            (["--zip", "FIX/py.zip", "--runtime", "java17", "--handler", "a.b"], "unknown runtime 'java17'"),
            (["--zip", "FIX/py.zip", "--handler", "a.b"], "--runtime NAME"),
            (["--zip", "FIX/py.zip", "--runtime", "python3", "--handler", "a.b", "--env", "AWS_REGION=x"], "reserved keys"),
            (["--zip", "FIX/py.zip", "--runtime", "python3", "--handler", "a.b", "--memory", "64"], "memory must be between 128"),
            (["--zip", "FIX/py.zip", "--runtime", "python3", "--handler", "a.b", "--timeout", "901"], "timeout must be between 1 and 900"),
            (["--zip", "FIX/py.zip", "--runtime", "python3", "--handler", "a.b", "--event", "FIX/py/app.py"], "not valid JSON"),
            (["--runtime", "python3", "--handler", "a.b"], "either --zip"),
        ]
        for (args, fragment) in cases {
            let r = try hearthRun(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(fragment), "\(args): \(r.stderr)")
        }
    }
}
