import Foundation
@testable import HearthExecution
import HearthModel
import HearthSandbox
@testable import HearthRegistry
@testable import HearthSupervisor
import Synchronization
import XCTest

final class LambdaConventionsTests: XCTestCase {
    func testDurationsPrintAsPrintfsTwoDecimals() {
        var values: [Double] = [0, 0.004, 0.005, 0.015, 0.1, 1, 2.391, 9.999, 99.995, 112.289, 3000, 899_999.99,
                                0.125, 0.375, 2.675, 1.005, 0.045, -0.001, -1.5, 1e12 + 0.125, 0.0049999999999999999]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 { values.append(Double(generator.next() % 100_000_000) / 1000) }
        // Exact ties in binary (k/8) round to even; near-ties either side of a hundredth.
        for _ in 0..<2_000 { values.append(Double(generator.next() % 8_000_000) / 8) }
        for _ in 0..<2_000 { values.append(Double(generator.next() % 10_000_000) / 1000 + Double(Int(generator.next() % 3)) * 1e-12) }
        for value in values {
            XCTAssertEqual(InvocationLog.twoDecimals(value), String(format: "%.2f", value), "\(value)")
        }
    }

    func testReportLineIsLambdasTabSeparatedFormat() {
        let log = InvocationLog()
        log.report(requestId: "r1", .init(durationMs: 2.391, memorySizeMB: 128, maxMemoryUsedMB: 37, initDurationMs: 112.289, end: .success))
        XCTAssertEqual(String(decoding: log.tail, as: UTF8.self),
                       "REPORT RequestId: r1\tDuration: 2.39 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 37 MB\tInit Duration: 112.29 ms\t\n")
        let timeout = InvocationLog()
        timeout.report(requestId: "r2", .init(durationMs: 3000.5, memorySizeMB: 128, maxMemoryUsedMB: 31, initDurationMs: nil, end: .platform(.timedOut)))
        XCTAssertTrue(String(decoding: timeout.tail, as: UTF8.self).hasSuffix("Max Memory Used: 31 MB\tStatus: timeout\t\n"))
        let oom = InvocationLog()
        oom.report(requestId: "r3", .init(durationMs: 10, memorySizeMB: 128, maxMemoryUsedMB: 128, initDurationMs: nil,
                                        end: .runtimeExit(outOfMemory: true)))
        XCTAssertTrue(String(decoding: oom.tail, as: UTF8.self).hasSuffix("\tStatus: error\tError Type: Runtime.OutOfMemory\t\n"))
    }

    /// Every way an invocation ends, with the names Lambda gives it: the caller's error type, REPORT's Status
    /// and Error Type (one table, the only place they are written).
    func testEachEndHasLambdasNames() {
        let cases: [(InvocationEnd, String?, String?, String?)] = [
            (.success, nil, nil, nil),
            (.functionError(type: "ValueError"), "ValueError", "error", "ValueError"),
            (.functionError(type: "Runtime.ImportModuleError"), "Runtime.ImportModuleError", "error", "Runtime.ImportModuleError"),
            (.platform(.timedOut), "Sandbox.Timedout", "timeout", nil),
            (.runtimeExit(outOfMemory: false), "Runtime.ExitError", "error", "Runtime.ExitError"),
            (.runtimeExit(outOfMemory: true), "Runtime.ExitError", "error", "Runtime.OutOfMemory"),
            (.platform(.runtimeExited(detail: "exit status 1")), "Runtime.ExitError", "error", "Runtime.ExitError"),
            (.platform(.responseTooLarge(bytes: 7, limit: 6)), "Function.ResponseSizeTooLarge", "error", "Function.ResponseSizeTooLarge"),
            (.platform(.invalidResponseMode("x")), "Runtime.InvalidResponseModeHeader", "error", "Runtime.InvalidResponseModeHeader"),
            (.platform(.unknown("gone")), "Runtime.Unknown", "error", "Runtime.Unknown"),
        ]
        for (end, callerType, status, reportType) in cases {
            XCTAssertEqual(end.errorType, callerType, "\(end)")
            XCTAssertEqual(end.reportStatus, status, "\(end)")
            XCTAssertEqual(end.reportErrorType, reportType, "\(end)")
        }
        let document = LambdaErrors.timedOut(requestId: "r", seconds: 3)
        XCTAssertEqual(String(decoding: document, as: UTF8.self), #"{"errorMessage":"RequestId: r Error: Task timed out after 3.00 seconds","errorType":"Sandbox.Timedout"}"#)
        let exited = LambdaErrors.exited(requestId: "r", status: .signaled(SIGKILL))
        XCTAssertEqual(String(decoding: exited, as: UTF8.self), #"{"errorMessage":"RequestId: r Error: Runtime exited with error: signal: killed","errorType":"Runtime.ExitError"}"#)
    }

    func testStartEndAndTheTailKeepsTheLast4KB() {
        let log = InvocationLog()
        log.start(requestId: "abc", version: "$LATEST")
        log.append(Array(repeating: UInt8(ascii: "x"), count: 10_000))
        log.end(requestId: "abc")
        let tail = log.tail
        XCTAssertEqual(tail.count, 4096)
        XCTAssertTrue(String(decoding: tail, as: UTF8.self).hasSuffix("xEND RequestId: abc\n"))
        let short = InvocationLog()
        short.start(requestId: "abc", version: "7")
        XCTAssertEqual(String(decoding: short.tail, as: UTF8.self), "START RequestId: abc Version: 7\n")
    }

    /// A line the runtime writes in pieces reaches the log whole (the pipe may be read between the
    /// pieces); one still open when END comes is a line of its own before it; an endless one is passed
    /// on once it reaches Lambda's largest log event. The CI once saw "count", " ", "2" as three lines.
    func testALineWrittenInPiecesReachesTheLogWhole() {
        let chunks = Mutex<[String]>([])
        let log = InvocationLog(sink: { bytes in chunks.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } })
        log.start(requestId: "r", version: "$LATEST")
        for piece in ["count", " ", "2\nnext", " line\n", "open"] { log.append(Array(piece.utf8)) }
        log.end(requestId: "r")
        log.report(requestId: "r", .init(durationMs: 1, memorySizeMB: 128, maxMemoryUsedMB: 1, initDurationMs: nil, end: .success))
        let written = chunks.withLock { $0 }
        XCTAssertEqual(Array(written.prefix(4)), ["START RequestId: r Version: $LATEST\n", "count 2\n", "next line\n", "open"], "\(written)")
        XCTAssertTrue(written.count == 5 && written[4].hasPrefix("END RequestId: r\nREPORT RequestId: r\t"), "\(written)")
        XCTAssertEqual(written.joined(), String(decoding: log.tail, as: UTF8.self), "nothing lost or reordered")

        let long = Mutex<[Int]>([])
        let endless = InvocationLog(sink: { bytes in long.withLock { $0.append(bytes.count) } })
        for _ in 0..<5 { endless.append(Array(repeating: UInt8(ascii: "x"), count: 64 * 1024)) }
        XCTAssertEqual(long.withLock { $0 }, [5 * 64 * 1024], "held until past the limit, then passed on")
    }

    func testTheSinkGetsTheLogInOrderWithLinesJoinedToOutput() {
        let chunks = Mutex<[String]>([])
        let log = InvocationLog(sink: { bytes in chunks.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } })
        log.start(requestId: "r", version: "$LATEST")
        log.append(Array("hello\n".utf8))
        log.append(Array("again\n".utf8))
        log.end(requestId: "r")
        log.report(requestId: "r", .init(durationMs: 1, memorySizeMB: 128, maxMemoryUsedMB: 1, initDurationMs: nil, end: .success))
        let written = chunks.withLock { $0 }
        XCTAssertEqual(written.count, 3, "START with the first output, the second output, END with REPORT: \(written)")
        XCTAssertEqual(written.joined(), String(decoding: log.tail, as: UTF8.self))
        XCTAssertTrue(written[0].hasPrefix("START RequestId: r Version: $LATEST\nhello\n"))
        XCTAssertTrue(written[2].hasPrefix("END RequestId: r\nREPORT RequestId: r\t"))
    }

    func testErrorDocumentsWordedAsLambda() throws {
        let timeout = try JSONSerialization.jsonObject(with: Data(LambdaErrors.timedOut(requestId: "id1", seconds: 3))) as? [String: String]
        XCTAssertEqual(timeout, ["errorType": "Sandbox.Timedout", "errorMessage": "RequestId: id1 Error: Task timed out after 3.00 seconds"])
        let exit = try JSONSerialization.jsonObject(with: Data(LambdaErrors.exited(requestId: "id2", status: .exited(1)))) as? [String: String]
        XCTAssertEqual(exit?["errorMessage"], "RequestId: id2 Error: Runtime exited with error: exit status 1")
        XCTAssertEqual(exit?["errorType"], "Runtime.ExitError")
        XCTAssertEqual(LambdaErrors.describe(.signaled(SIGKILL)), "signal: killed")
        XCTAssertEqual(LambdaErrors.describe(.signaled(SIGABRT)), "signal: aborted")
    }

    func testUserEnvironmentFollowsLambdasRules() {
        XCTAssertNoThrow(try LambdaEnvironment.validateUserVariables([("TABLE_NAME", "t"), ("ab", "x")]))
        for (key, fragment) in [("A", "must match"), ("1AB", "must match"), ("_X", "must match"), ("A-B", "must match"), ("AWS_REGION", "AWS_REGION")] {
            XCTAssertThrowsError(try LambdaEnvironment.validateUserVariables([(key, "v")])) { XCTAssertTrue("\($0)".contains(fragment), "\($0)") }
        }
        // Measured as AWS measures (test_large_environment_variables_fails): the compact JSON object, 4,096 at most.
        let fits = String(repeating: "x", count: 4096 - #"{"LARGE_VAR":""}"#.count)
        XCTAssertNoThrow(try LambdaEnvironment.validateUserVariables([("LARGE_VAR", fits)]))
        XCTAssertThrowsError(try LambdaEnvironment.validateUserVariables([("LARGE_VAR", fits + "x")])) {
            XCTAssertEqual($0 as? HearthError, .invalidArgument("Lambda was unable to configure your environment variables because the environment variables you have provided "
                           + #"exceeded the 4KB limit. String measured: {"LARGE_VAR":""# + fits + #"x"}"#))
        }
        // Quotes and backslashes count as JSON writes them.
        XCTAssertThrowsError(try LambdaEnvironment.validateUserVariables([("QQ", String(repeating: "\"", count: 2044))]))
        XCTAssertNoThrow(try LambdaEnvironment.validateUserVariables([("QQ", String(repeating: "a", count: 2044))]))
    }

    func testReservedVariablesWinAndUserOnesOverrideDefaults() {
        let context = LambdaEnvironment.Context(functionName: "fn", memoryMB: 256, handler: "app.handler", executionEnvironment: nil,
                                                logStreamName: "2026/11/23/[$LATEST]abc")
        let env = LambdaEnvironment.build(context, image: [("PATH", "/img"), ("IMAGE_ONLY", "1")], user: [("TZ", "Europe/Paris"), ("MY", "v")])
        let dict = Dictionary(env, uniquingKeysWith: { _, last in last })
        XCTAssertEqual(env.filter { $0.0 == "PATH" }.count, 1)
        XCTAssertEqual(dict["TZ"], "Europe/Paris")
        XCTAssertEqual(dict["IMAGE_ONLY"], "1")
        XCTAssertEqual(dict["_HANDLER"], "app.handler")
        XCTAssertEqual(dict["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001")
        XCTAssertEqual(dict["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256")
        XCTAssertEqual(dict["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/fn")
        XCTAssertNil(dict["AWS_EXECUTION_ENV"], "custom runtimes get none, as on Lambda")
    }

    /// RuntimeVersionConfig names the runtime image's build: the digest of its index, read again once the
    /// image is rebuilt; a name without an image built has none.
    func testRuntimeVersionsNameTheImageBuildAndFollowARebuild() throws {
        let images = NSTemporaryDirectory() + "hearth-runtime-versions-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: images + "/python3", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: images) }
        let versions = RuntimeVersions(imagesDirectory: images)
        XCTAssertNil(versions.arn(runtime: "python3.11", region: "eu-west-1"), "not built")
        XCTAssertNil(versions.arn(runtime: "cobol85", region: "eu-west-1"), "not a runtime")
        try Data("{\"manifests\": [1]}".utf8).write(to: URL(fileURLWithPath: images + "/python3/index.json"))
        let first = try XCTUnwrap(versions.arn(runtime: "python3.11", region: "eu-west-1"))
        // sha256 of the index's bytes, as sha256sum prints it.
        let sum = Process()
        sum.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        sum.arguments = [images + "/python3/index.json"]
        let out = Pipe()
        sum.standardOutput = out
        try sum.run()
        sum.waitUntilExit()
        let digest = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64)
        XCTAssertEqual(first, "arn:aws:lambda:eu-west-1::runtime:" + digest)
        XCTAssertEqual(versions.arn(runtime: "python3", region: "eu-west-1"), first, "the short name runs the same image")
        usleep(10_000)
        try Data("{\"manifests\": [2]}".utf8).write(to: URL(fileURLWithPath: images + "/python3/index.json"))
        XCTAssertNotEqual(versions.arn(runtime: "python3.11", region: "eu-west-1"), first, "a rebuilt image is another build")
    }

    func testRuntimeNames() throws {
        XCTAssertEqual(try RuntimeCatalog.lookup("python3.11").image, "python3")
        XCTAssertEqual(try RuntimeCatalog.lookup("python3.13").executionEnvironment, "AWS_Lambda_python3.13")
        // Each name runs its own version: nodejs20.x is Debian 13's Node 20, nodejs18.x Debian 12's Node 18.
        XCTAssertEqual(try RuntimeCatalog.lookup("nodejs20.x").image, "nodejs20")
        XCTAssertEqual(try RuntimeCatalog.lookup("nodejs18.x").image, "nodejs")
        XCTAssertEqual(try RuntimeCatalog.lookup("nodejs20.x").executionEnvironment, "AWS_Lambda_nodejs20.x")
        XCTAssertEqual(try RuntimeCatalog.lookup("nodejs22.x").image, "nodejs22")
        XCTAssertEqual(try RuntimeCatalog.lookup("nodejs24.x").executionEnvironment, "AWS_Lambda_nodejs24.x")
        XCTAssertEqual(try RuntimeCatalog.lookup("python3.14").image, "python3.14")
        XCTAssertEqual(try RuntimeCatalog.lookup("ruby3.3").image, "ruby3.3")
        XCTAssertEqual(try RuntimeCatalog.lookup("ruby3.3").executionEnvironment, "AWS_Lambda_ruby3.3")
        XCTAssertThrowsError(try RuntimeCatalog.lookup("ruby3.4"), "trixie's Ruby is 3.3: 3.4 is refused, not mislabelled")
        XCTAssertThrowsError(try RuntimeCatalog.lookup("python3.12"), "no Debian suite or PyPI build has Python 3.12: refused, not mislabelled")
        XCTAssertEqual(try RuntimeCatalog.lookup("provided.al2023").image, "provided")
        XCTAssertEqual(try RuntimeCatalog.lookup("provided").image, "provided")
        XCTAssertEqual(try RuntimeCatalog.lookup("java21").image, "java21")
        XCTAssertEqual(try RuntimeCatalog.lookup("java21").executionEnvironment, "AWS_Lambda_java21")
        XCTAssertThrowsError(try RuntimeCatalog.lookup("java17"), "Debian 13's OpenJDK is 21: java17 is refused, not mislabelled")
        XCTAssertThrowsError(try RuntimeCatalog.lookup("java8.al2")) { error in
            XCTAssertTrue("\(error)".contains("unknown runtime 'java8.al2'"))
            XCTAssertTrue("\(error)".contains("python3.11, python3.13, python3.14, nodejs18.x, nodejs20.x, nodejs22.x, nodejs24.x, ruby3.3, java21"), "the error lists the known runtimes")
        }
    }

    func testBootstrapOrderIsTaskThenOptThenRuntime() throws {
        let root = NSTemporaryDirectory() + "hearth-bootstrap-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        for dir in ["task", "opt1", "opt2", "image/var/runtime"] { try fm.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true) }
        func make(_ path: String, mode: Int) { _ = fm.createFile(atPath: root + "/" + path, contents: Data(), attributes: [.posixPermissions: mode]) }
        XCTAssertNil(BootstrapResolver.resolve(task: root + "/task", opt: [root + "/opt2", root + "/opt1"], root: [root + "/image"]))
        make("image/var/runtime/bootstrap", mode: 0o755)
        XCTAssertEqual(BootstrapResolver.resolve(task: root + "/task", opt: [root + "/opt2", root + "/opt1"], root: [root + "/image"]), "/var/runtime/bootstrap")
        make("opt1/bootstrap", mode: 0o755)
        XCTAssertEqual(BootstrapResolver.resolve(task: root + "/task", opt: [root + "/opt2", root + "/opt1"], root: [root + "/image"]), "/opt/bootstrap")
        make("task/bootstrap", mode: 0o644)
        XCTAssertEqual(BootstrapResolver.resolve(task: root + "/task", opt: [root + "/opt2", root + "/opt1"], root: [root + "/image"]), "/opt/bootstrap",
                       "a bootstrap that is not executable is skipped")
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/task/bootstrap")
        XCTAssertEqual(BootstrapResolver.resolve(task: root + "/task", opt: [], root: []), "/var/task/bootstrap")
    }
}
