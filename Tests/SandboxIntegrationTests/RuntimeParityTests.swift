import Foundation
import XCTest

/// Every managed runtime Hearth accepts, through a real daemon and boto3, against what AWS answered for the same
/// runtime in reference/aws-recorded/runtimes-common.json (TestLambdaRuntimesCommon): an echo, an introspection
/// (the environment's variables, the context), an uncaught exception, and an `AWS_LAMBDA_EXEC_WRAPPER` script.
final class RuntimeParityTests: XCTestCase {
    nonisolated(unsafe) static var daemon: ServeDaemon?
    nonisolated(unsafe) static var setupError: Error?
    nonisolated(unsafe) static var fixtures = ""

    static let runtimes = ["python3.11", "python3.13", "python3.14", "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "ruby3.3", "java21"]

    static let python = """
        import os
        def echo(event, context):
            return event
        def introspect(event, context):
            return {"ctx": {"aws_request_id": context.aws_request_id, "function_name": context.function_name,
                            "function_version": context.function_version, "invoked_function_arn": context.invoked_function_arn,
                            "log_group_name": context.log_group_name, "log_stream_name": context.log_stream_name,
                            "memory_limit_in_mb": context.memory_limit_in_mb,
                            "remaining_time_in_millis": context.get_remaining_time_in_millis()},
                    "environment": dict(os.environ)}
        def fail(event, context):
            raise Exception("Failed: some_error_msg")
        def wrapped(event, context):
            return {"wrapper": os.environ.get("WRAPPER_SAYS")}
        """

    static let node = """
        exports.echo = async (event) => event;
        exports.introspect = async (event, context) => ({
          ctx: { aws_request_id: context.awsRequestId, function_name: context.functionName, function_version: context.functionVersion,
                 invoked_function_arn: context.invokedFunctionArn, log_group_name: context.logGroupName,
                 log_stream_name: context.logStreamName, remaining_time_in_millis: context.getRemainingTimeInMillis() },
          environment: { ...process.env },
        });
        exports.fail = async () => { throw new Error("Error: some_error_msg"); };
        exports.wrapped = async () => ({ wrapper: process.env.WRAPPER_SAYS });
        """

    /// `fail` is Kernel's (an alias of raise): the failing handler has another name.
    static let ruby = """
        def echo(event:, context:)
          event
        end

        def introspect(event:, context:)
          { "ctx" => { "aws_request_id" => context.aws_request_id, "function_name" => context.function_name,
                       "function_version" => context.function_version, "invoked_function_arn" => context.invoked_function_arn,
                       "log_group_name" => context.log_group_name, "log_stream_name" => context.log_stream_name,
                       "memory_limit_in_mb" => context.memory_limit_in_mb,
                       "remaining_time_in_millis" => context.get_remaining_time_in_millis },
            "environment" => ENV.to_h }
        end

        def failing(event:, context:)
          raise "Error: some_error_msg"
        end

        def wrapped(event:, context:)
          { "wrapper" => ENV["WRAPPER_SAYS"] }
        end
        """

    /// Compiled against the runtime's own sources (images/java21/src), whose interfaces go into the package as
    /// they do when a package bundles aws-lambda-java-core.
    static let java = """
        import com.amazonaws.services.lambda.runtime.Context;
        import java.util.LinkedHashMap;
        import java.util.Map;

        public class Handlers {
            public Object echo(Object event, Context context) { return event; }

            public Map<String, Object> introspect(Map<String, Object> event, Context context) {
                Map<String, Object> ctx = new LinkedHashMap<>();
                ctx.put("aws_request_id", context.getAwsRequestId());
                ctx.put("function_name", context.getFunctionName());
                ctx.put("function_version", context.getFunctionVersion());
                ctx.put("invoked_function_arn", context.getInvokedFunctionArn());
                ctx.put("log_group_name", context.getLogGroupName());
                ctx.put("log_stream_name", context.getLogStreamName());
                ctx.put("memory_limit_in_mb", String.valueOf(context.getMemoryLimitInMB()));
                ctx.put("remaining_time_in_millis", context.getRemainingTimeInMillis());
                return Map.of("ctx", ctx, "environment", System.getenv());
            }

            public Object fail(Object event, Context context) { throw new RuntimeException("Error: some_error_msg"); }

            public Map<String, String> wrapped(Object event, Context context) { return Map.of("wrapper", System.getenv("WRAPPER_SAYS")); }
        }
        """

    /// A wrapper as Lambda's documentation writes them: change the environment, then start the runtime.
    static let wrapper = "#!/bin/bash\nexport WRAPPER_SAYS=hello-from-the-wrapper\nexec \"$@\"\n"

    override class func setUp() {
        do {
            try ServeDaemon.checkPrerequisites()
            let dir = NSTemporaryDirectory() + "hearth-parity-" + UUID().uuidString.prefix(8)
            for (name, file, code) in [("py", "handler.py", python), ("node", "index.js", node), ("rb", "function.rb", ruby)] {
                try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true)
                try code.write(toFile: dir + "/\(name)/\(file)", atomically: true, encoding: .utf8)
                try wrapper.write(toFile: dir + "/\(name)/wrapper", atomically: true, encoding: .utf8)
                chmod(dir + "/\(name)/wrapper", 0o755)
                let (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", dir + "/\(name).zip", "."], cwd: dir + "/" + name)
                guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
            }
            try FileManager.default.createDirectory(atPath: dir + "/java", withIntermediateDirectories: true)
            try java.write(toFile: dir + "/Handlers.java", atomically: true, encoding: .utf8)
            try wrapper.write(toFile: dir + "/java/wrapper", atomically: true, encoding: .utf8)
            chmod(dir + "/java/wrapper", 0o755)
            try RuntimeImages.compileJava([dir + "/Handlers.java"], into: dir + "/java")
            let (zipped, zipOut) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", dir + "/java.zip", "."], cwd: dir + "/java")
            guard zipped == 0 else { throw XCTSkip("zip failed: \(zipOut)") }
            fixtures = dir
            daemon = try ServeDaemon()
        } catch { setupError = error }
    }

    override class func tearDown() {
        daemon?.remove()
        daemon = nil
        try? FileManager.default.removeItem(atPath: fixtures)
    }

    func testEachRuntimeAnswersAsAWSRecordedIt() throws {
        if let error = Self.setupError { throw error }
        let daemon = try XCTUnwrap(Self.daemon)
        let out = try daemon.boto("""
            FIXTURES = "\(Self.fixtures)"
            zips = {family: open(FIXTURES + "/%s.zip" % family, "rb").read() for family in ["py", "node", "rb", "java"]}
            files = {"py": "handler.", "node": "index.", "rb": "function.", "java": "Handlers::"}
            def make(name, runtime, handler, env):
                family = ("py" if runtime.startswith("python") else "rb" if runtime.startswith("ruby")
                          else "java" if runtime.startswith("java") else "node")
                if family == "rb" and handler == "fail":
                    handler = "failing"
                c.create_function(FunctionName=name, Runtime=runtime, Role="arn:aws:iam::123456789012:role/r",
                                  Handler=files[family] + handler, Code={"ZipFile": zips[family]},
                                  MemorySize=1024, Environment={"Variables": env})
            for runtime in \(Self.runtimes):
                tag = runtime.replace(".", "-")
                r = {}
                make("echo-" + tag, runtime, "echo", {})
                event = {"key": "value", "nested": {"list": [1, 2.5, None, True]}, "unicode": "h\\u00e9llo"}
                r["echo"] = {"payload": payload(c.invoke(FunctionName="echo-" + tag, Payload=json.dumps(event))), "event": event}
                make("intro-" + tag, runtime, "introspect", {"TEST_KEY": "TEST_VAL"})
                r["introspection"] = payload(c.invoke(FunctionName="intro-" + tag, Payload=b"{}"))
                r["introspection_qualified"] = payload(c.invoke(FunctionName="intro-" + tag, Qualifier="$LATEST", Payload=b"{}"))
                make("fail-" + tag, runtime, "fail", {})
                f = c.invoke(FunctionName="fail-" + tag, Payload=b"{}")
                r["error"] = {"StatusCode": f["StatusCode"], "FunctionError": f.get("FunctionError"),
                              "ExecutedVersion": f.get("ExecutedVersion"), "Payload": payload(f),
                              "RequestId": f["ResponseMetadata"]["RequestId"]}
                make("wrap-" + tag, runtime, "wrapped", {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrapper"})
                r["wrapper"] = payload(c.invoke(FunctionName="wrap-" + tag, Payload=b"{}"))
                out[runtime] = r
            """)
        // The variables AWS set for every one of these runtimes (the recorded introspections' common keys).
        let common: Set<String> = [
            "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
            "AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_XRAY_CONTEXT_MISSING",
            "AWS_XRAY_DAEMON_ADDRESS", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT", "LANG", "LD_LIBRARY_PATH", "PATH", "PWD", "SHLVL",
            "TEST_KEY", "TZ", "_AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_PORT", "_HANDLER", "_X_AMZN_TRACE_ID",
        ]
        // Recorded values that are the same on every account and function.
        let fixed = [
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR", "LAMBDA_RUNTIME_DIR": "/var/runtime", "LAMBDA_TASK_ROOT": "/var/task", "LANG": "en_US.UTF-8",
            "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
            "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin", "PWD": "/var/task", "SHLVL": "0", "TEST_KEY": "TEST_VAL", "TZ": ":UTC",
            "_AWS_XRAY_DAEMON_PORT": "2000", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        ]
        for runtime in Self.runtimes {
            let r = try XCTUnwrap(out[runtime] as? [String: Any], runtime)
            let echo = try XCTUnwrap(r["echo"] as? [String: Any], runtime)
            XCTAssertEqual(echo["payload"] as? NSDictionary, echo["event"] as? NSDictionary, "\(runtime): the echo")

            let python = runtime.hasPrefix("python"), ruby = runtime.hasPrefix("ruby"), java = runtime.hasPrefix("java")
            let tag = runtime.replacingOccurrences(of: ".", with: "-")
            let intro = try XCTUnwrap(r["introspection"] as? [String: Any], runtime)
            let env = try XCTUnwrap(intro["environment"] as? [String: String], runtime)
            // Beyond the common ones: PYTHONPATH or NODE_PATH (AWS's), and LC_CTYPE, which Python sets itself when
            // the locale LANG names is not installed (AWS's python3.13 and 3.14 show it; so do Hearth's images).
            var expected = common.union(python ? ["PYTHONPATH"] : ruby ? ["GEM_HOME", "GEM_PATH", "RUBYLIB"] : java ? [] : ["NODE_PATH"])
            if python { expected.insert("LC_CTYPE") }
            // AWS's Java runtime starts the JVM without a shell (no PWD or SHLVL), and a JVM's environment cannot
            // change: the trace id is the system property com.amazonaws.xray.traceHeader instead.
            if java { expected.subtract(["PWD", "SHLVL", "_X_AMZN_TRACE_ID"]) }
            // Hearth hands a function its credentials with a network to use them on; this daemon's network is off.
            expected.subtract(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"])
            XCTAssertEqual(Set(env.keys).subtracting(expected), [], "\(runtime): variables AWS does not set")
            XCTAssertEqual(expected.subtracting(env.keys), [], "\(runtime): variables AWS sets that Hearth does not")
            for (key, value) in fixed where !(java && ["PWD", "SHLVL"].contains(key)) { XCTAssertEqual(env[key], value, "\(runtime): \(key)") }
            XCTAssertEqual(env["AWS_EXECUTION_ENV"], "AWS_Lambda_" + runtime)
            XCTAssertEqual(env["AWS_LAMBDA_FUNCTION_NAME"], "intro-" + tag)
            XCTAssertEqual(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/intro-" + tag)
            XCTAssertEqual(env["_HANDLER"], (python ? "handler." : ruby ? "function." : java ? "Handlers::" : "index.") + "introspect")
            if ruby {
                XCTAssertEqual(env["GEM_PATH"], "/var/task/vendor/bundle/ruby/3.3.0:/opt/ruby/gems/3.3.0:/var/runtime:/var/runtime/ruby/3.3.0")
                XCTAssertEqual(env["GEM_HOME"], "/var/runtime")
            } else if !python && !java {
                let major = runtime.dropFirst("nodejs".count).prefix { $0.isNumber }
                XCTAssertEqual(env["NODE_PATH"], "/opt/nodejs/node\(major)/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task")
            }
            if !java { XCTAssertTrue((env["_X_AMZN_TRACE_ID"] ?? "").hasPrefix("Root=1-"), "\(runtime): \(env["_X_AMZN_TRACE_ID"] ?? "none")") }

            let ctx = try XCTUnwrap(intro["ctx"] as? [String: Any], runtime)
            var ctxKeys: Set<String> = ["aws_request_id", "function_name", "function_version", "invoked_function_arn", "log_group_name",
                                        "log_stream_name", "remaining_time_in_millis"]
            if python || ruby || java { ctxKeys.insert("memory_limit_in_mb") }
            XCTAssertEqual(Set(ctx.keys), ctxKeys, runtime)
            XCTAssertEqual(ctx["log_stream_name"] as? String, env["AWS_LAMBDA_LOG_STREAM_NAME"])
            let arn = "arn:aws:lambda:us-east-1:000000000000:function:intro-" + tag
            XCTAssertEqual(ctx["invoked_function_arn"] as? String, arn, runtime)
            let qualified = try XCTUnwrap((r["introspection_qualified"] as? [String: Any])?["ctx"] as? [String: Any], runtime)
            XCTAssertEqual(qualified["invoked_function_arn"] as? String, arn + ":$LATEST", "\(runtime): the ARN as it was invoked")
            if python || ruby || java { XCTAssertEqual(ctx["memory_limit_in_mb"] as? String, "1024", "\(runtime): a string, as AWS's") }

            let error = try XCTUnwrap(r["error"] as? [String: Any], runtime)
            XCTAssertEqual(error["StatusCode"] as? Int, 200)
            XCTAssertEqual(error["FunctionError"] as? String, "Unhandled")
            XCTAssertEqual(error["ExecutedVersion"] as? String, "$LATEST")
            let document = try XCTUnwrap(error["Payload"] as? [String: Any], runtime)
            if python {
                XCTAssertEqual(Set(document.keys), ["errorMessage", "errorType", "requestId", "stackTrace"], runtime)
                XCTAssertEqual(document["errorType"] as? String, "Exception")
                XCTAssertEqual(document["errorMessage"] as? String, "Failed: some_error_msg")
                XCTAssertEqual(document["requestId"] as? String, error["RequestId"] as? String, "\(runtime): the invocation's id")
            } else if java {
                XCTAssertEqual(Set(document.keys), ["errorMessage", "errorType", "stackTrace"], runtime)
                XCTAssertEqual(document["errorType"] as? String, "java.lang.RuntimeException")
                XCTAssertEqual(document["errorMessage"] as? String, "Error: some_error_msg")
                XCTAssertEqual((document["stackTrace"] as? [String])?.first, "Handlers.fail(Handlers.java:21)", runtime)
            } else if ruby {
                XCTAssertEqual(Set(document.keys), ["errorMessage", "errorType", "stackTrace"], runtime)
                XCTAssertEqual(document["errorType"] as? String, "Function<RuntimeError>")
                XCTAssertEqual(document["errorMessage"] as? String, "Error: some_error_msg")
            } else {
                XCTAssertEqual(Set(document.keys), ["errorType", "errorMessage", "trace"], runtime)
                XCTAssertEqual(document["errorType"] as? String, "Error")
                XCTAssertEqual(document["errorMessage"] as? String, "Error: some_error_msg")
            }
            XCTAssertEqual((r["wrapper"] as? [String: Any])?["wrapper"] as? String, "hello-from-the-wrapper", "\(runtime): the wrapper ran first")
        }
    }
}
