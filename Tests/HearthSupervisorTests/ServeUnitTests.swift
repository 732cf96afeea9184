import Foundation
import HearthLogs
import HearthModel
import NIOCore
import NIOEmbedded
import Synchronization
import XCTest
@testable import HearthRegistry
@testable import HearthSupervisor

/// The supervisor's pieces that need no sandbox: names, settings, metrics, logs.
final class ServeUnitTests: XCTestCase {
    func testFunctionReferencesAsLambdaAcceptsThem() throws {
        XCTAssertEqual(try FunctionReference.parse("f"), FunctionReference(name: "f"))
        XCTAssertEqual(try FunctionReference.parse("f:live"), FunctionReference(name: "f", qualifier: "live"))
        XCTAssertEqual(try FunctionReference.parse("f", qualifier: "3"), FunctionReference(name: "f", qualifier: "3"))
        XCTAssertEqual(try FunctionReference.parse("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"),
                       FunctionReference(name: "f", qualifier: "$LATEST"))
        XCTAssertEqual(try FunctionReference.parse("123456789012:function:f"), FunctionReference(name: "f"))
        XCTAssertThrowsError(try FunctionReference.parse("f:1", qualifier: "2")) { error in
            XCTAssertEqual((error as? ServiceError)?.type, "InvalidParameterValueException")
        }
        for bad in ["", "a b", "f/../x", "f:bad qualifier", "a:b:c"] {
            XCTAssertThrowsError(try FunctionReference.parse(bad), "'\(bad)' must be refused") { error in
                XCTAssertEqual((error as? ServiceError)?.status, 400)
            }
        }
    }

    /// Names and qualifiers as AWS checked them in reference/aws-recorded (TestLambdaFunction::
    /// test_function_name_and_qualifier_validation): every failed constraint in one message, the qualifier's first;
    /// a name too long to exist is looked up (and not found), except when creating.
    func testFunctionNamesAreCheckedAsAWSChecksThem() throws {
        let reference = "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST(\\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
        let create = "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        let qualifier = "Member must satisfy regular expression pattern: \\$(LATEST(\\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"
        func refused(_ name: String, _ q: String? = nil, new: Bool = false) -> ServiceError? {
            do {
                if new { _ = try FunctionReference.parseNew(name) } else { _ = try FunctionReference.parse(name, qualifier: q) }
                return nil
            } catch { return error }
        }
        func one(_ value: String, _ field: String, _ constraint: String) -> String {
            "1 validation error detected: Value '\(value)' at '\(field)' failed to satisfy constraint: \(constraint)"
        }
        let a129 = String(repeating: "a", count: 129), a65 = String(repeating: "a", count: 65)
        for name in ["*", "my-function!", "invalid-account:function:my-function", "arn:aws:lambda:invalid-region:111111111111:function:my-function",
                     "arn:aws:ec2:us-east-1:111111111111:instance:i-1234567890abcdef0", "arn:aws:lambda:us-east-1:111111111111:function:my-function:1:2",
                     "function:my-function:$LATEST:extra", "arn:aws:lambda::111111111111:function:my-function",
                     "arn:aws:lambda:us-east-1::function:my-function", "arn:aws:lambda:us-east-1:111111111111:function:my-function:$LATES"] {
            XCTAssertEqual(refused(name), .init(status: 400, type: "ValidationException", message: one(name, "functionName", reference)), name)
        }
        XCTAssertEqual(refused("my-function", "invalid!")?.message, one("invalid!", "qualifier", qualifier))
        XCTAssertEqual(refused("my-function", a129)?.message, one(a129, "qualifier", "Member must have length less than or equal to 128"))
        let longARN = "arn:aws:lambda:invalid-region:111111111111:function:my-function-" + String(repeating: "a", count: 170)
        XCTAssertEqual(refused(longARN, a129)?.message, "2 validation errors detected: "
                       + "Value '\(a129)' at 'qualifier' failed to satisfy constraint: Member must have length less than or equal to 128; "
                       + "Value '\(longARN)' at 'functionName' failed to satisfy constraint: \(reference)")
        XCTAssertEqual(refused("arn:aws:lambda:us-east-1:111111111111:function:my-function:$LATEST", "1")?.message,
                       "The derived qualifier from the function name does not match the specified qualifier.")
        // Looked up, not refused: no function has these.
        XCTAssertEqual(try FunctionReference.parse(a65), FunctionReference(name: a65))
        XCTAssertEqual(try FunctionReference.parse("my-function:" + a65), FunctionReference(name: "my-function", qualifier: a65))
        XCTAssertEqual(try FunctionReference.parse("arn:aws:lambda:us-east-1:111111111111:function"), FunctionReference(name: "function"))
        XCTAssertEqual(try FunctionReference.parse("my-function", qualifier: "$latest"), FunctionReference(name: "my-function", qualifier: "$latest"))
        XCTAssertEqual(try FunctionReference.parse("us-east-1:123456789012:function:f:live"), FunctionReference(name: "f", qualifier: "live"))
        for region in ["us-gov-west-1", "us-iso-east-1", "us-isob-east-1", "cn-north-1", "eusc-de-east-1", "eu-central-2"] {
            XCTAssertEqual(try FunctionReference.parse("arn:aws:lambda:\(region):123456789012:function:f"), FunctionReference(name: "f"), region)
        }
        for region in ["us-east-12", "useast-1", "US-east-1", "us-east", "us--1"] {
            XCTAssertNotNil(refused("arn:aws:lambda:\(region):123456789012:function:f"), region)
        }
        XCTAssertEqual(try FunctionReference.parse("arn:aws-cn:lambda:cn-north-1:123456789012:function:f.g:$LATEST.PUBLISHED"),
                       FunctionReference(name: "f.g", qualifier: "$LATEST.PUBLISHED"))
        XCTAssertEqual(try FunctionReference.parse("arn:1"), FunctionReference(name: "arn", qualifier: "1"), "'arn' is a name when no ARN follows")

        XCTAssertEqual(refused("my-function:invalid!", new: true)?.message, one("my-function:invalid!", "functionName", create))
        XCTAssertEqual(refused("my-function:" + a129, new: true)?.message,
                       one("my-function:" + a129, "functionName", "Member must have length less than or equal to 140"))
        XCTAssertEqual(refused(a65, new: true), .init(status: 400, type: "InvalidParameterValueException",
                                                      message: one(a65, "functionName", "Member must have length less than or equal to 64")))
        let longCreate = "arn:aws:lambda:invalid-region:111111111111:function:my-function" + String(repeating: "a", count: 170)
        XCTAssertEqual(refused(longCreate, new: true)?.message, "2 validation errors detected: "
                       + "Value '\(longCreate)' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 140; "
                       + "Value '\(longCreate)' at 'functionName' failed to satisfy constraint: \(create)")
        XCTAssertEqual(try FunctionReference.parseNew("arn:aws:lambda:us-east-1:000000000000:function:made"), "made")
        XCTAssertEqual(FunctionReference.region(of: "arn:aws:lambda:eu-west-1:000000000000:function:f"), "eu-west-1")
        XCTAssertNil(FunctionReference.region(of: "000000000000:function:f"))
    }

    /// The patterns the layer policy and runtime management checks quote, matched by hand.
    func testLayerPrincipalsOrganizationsAndRuntimeVersionARNsFollowAWSsPatterns() {
        for ok in ["*", "123456789012", "arn:aws:iam::123456789012:root", "arn:aws-cn:iam::123456789012:root"] {
            XCTAssertTrue(FunctionCatalog.isLayerPrincipal(ok), ok)
        }
        for bad in ["", "**", "12345678901", "arn::iam::123456789012:root", "arn:aws:iam::123456789012:user/x", "arn:aws:iam:us-east-1:123456789012:root"] {
            XCTAssertFalse(FunctionCatalog.isLayerPrincipal(bad), bad)
        }
        XCTAssertTrue(FunctionCatalog.isOrganizationId("o-abc1234567"))
        XCTAssertTrue(FunctionCatalog.isOrganizationId("o-" + String(repeating: "a", count: 32)))
        for bad in ["o-abc123456", "o-" + String(repeating: "a", count: 33), "o-ABC1234567", "x-abc1234567"] {
            XCTAssertFalse(FunctionCatalog.isOrganizationId(bad), bad)
        }
        XCTAssertTrue(FunctionReference.isRuntimeVersionARN("arn:aws:lambda:us-east-1::runtime:0123abcd"))
        XCTAssertTrue(FunctionReference.isRuntimeVersionARN("arn:aws-us-gov:lambda:us-gov-west-1::runtime:a:b"))
        for bad in ["arn:aws:lambda:us-east-1:123456789012:runtime:x", "arn:aws:lambda:us-east-1::runtime:", "arn::lambda:us-east-1::runtime:x",
                    "arn:aws:lambda:nowhere::runtime:x", "arn:aws:lambda:us-east-1::function:x"] {
            XCTAssertFalse(FunctionReference.isRuntimeVersionARN(bad), bad)
        }
    }

    func testSettingsAreCheckedAgainstLambdasRanges() {
        func check(_ change: (inout FunctionSettings) -> Void) -> ServiceError? {
            var s = FunctionSettings()
            change(&s)
            do { try s.validate(); return nil } catch { return error }
        }
        XCTAssertNil(check { $0.memorySize = 128; $0.timeout = 900; $0.ephemeralStorage = 10_240; $0.role = "arn:aws:iam::123456789012:role/x" })
        XCTAssertEqual(check { $0.memorySize = 127 }?.type, "ValidationException")
        XCTAssertEqual(check { $0.memorySize = 10_241 }?.type, "ValidationException")
        XCTAssertEqual(check { $0.timeout = 0 }?.type, "ValidationException")
        XCTAssertEqual(check { $0.ephemeralStorage = 511 }?.type, "ValidationException")
        XCTAssertEqual(check { $0.handler = "has space" }?.type, "ValidationException")
        XCTAssertEqual(check { $0.role = "arn:aws:iam::12:role/x" }?.type, "ValidationException")
        XCTAssertEqual(check { $0.runtime = "java8" }?.type, "InvalidParameterValueException")
        XCTAssertEqual(check { $0.layers = Array(repeating: "x", count: 6) }?.type, "InvalidParameterValueException")
        XCTAssertEqual(check { $0.environment = ["X": "1"] }?.type, "InvalidParameterValueException", "one-letter names are refused")
        XCTAssertEqual(check { $0.environment = ["AWS_REGION": "x"] }?.type, "InvalidParameterValueException")
    }

    func testMetricsRenderPrometheusText() {
        let m = Metrics()
        m.increment("hearth_invocations_total", function: "a\"b")
        m.increment("hearth_invocations_total", function: "a\"b")
        m.observe("hearth_invocation_duration_seconds", function: "f", seconds: 0.003)
        m.observe("hearth_invocation_duration_seconds", function: "f", seconds: 2)
        let text = m.render(gauges: [("hearth_memory_live_megabytes", "Memory.", [("", 256)])])
        XCTAssertTrue(text.contains("# TYPE hearth_invocations_total counter\n"))
        XCTAssertTrue(text.contains("hearth_invocations_total{function=\"a\\\"b\"} 2\n"), text)
        XCTAssertTrue(text.contains("hearth_invocation_duration_seconds_bucket{function=\"f\",le=\"0.0025\"} 0\n"), text)
        XCTAssertTrue(text.contains("hearth_invocation_duration_seconds_bucket{function=\"f\",le=\"0.005\"} 1\n"), text)
        XCTAssertTrue(text.contains("hearth_invocation_duration_seconds_bucket{function=\"f\",le=\"+Inf\"} 2\n"), text)
        XCTAssertTrue(text.contains("hearth_invocation_duration_seconds_count{function=\"f\"} 2\n"), text)
        XCTAssertTrue(text.contains("hearth_memory_live_megabytes 256\n"), text)
        m.forget(function: "f")
        XCTAssertFalse(m.render(gauges: []).contains("function=\"f\""))
    }

    func testMetricLabelValuesEscapedAsTheTextFormatAsks() {
        XCTAssertEqual(Metrics.escape("plain-name_1"), "plain-name_1")
        XCTAssertEqual(Metrics.escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd")
        XCTAssertEqual(Metrics.escape("é\"ü"), "é\\\"ü")
        XCTAssertEqual(Metrics.escape(""), "")
    }

    /// A warm environment served on the caller's event loop is preferred, however deep in the idle list,
    /// the most recently used first; without one (or without a loop) the most recently used of all.
    func testAnIdleEnvironmentOnTheCallersEventLoopIsPreferred() {
        let a = EmbeddedEventLoop(), b = EmbeddedEventLoop(), c = EmbeddedEventLoop()
        let idle: [(name: String, loop: EmbeddedEventLoop)] = [("b1", b), ("a1", a), ("b2", b), ("a2", a), ("a3", a), ("a4", a)]
        func pick(_ loop: EmbeddedEventLoop?) -> String { idle[EnvironmentPool.pick(idle, preferring: loop) { $0.loop }].name }
        XCTAssertEqual(pick(b), "b2")
        XCTAssertEqual(pick(a), "a4")
        XCTAssertEqual(pick(c), "a4", "no environment on that loop: the most recently used")
        XCTAssertEqual(pick(nil), "a4")
    }
}

/// The bound on SIGTERM's wait for teardowns: work that never ends does not keep the daemon from exiting.
final class FinishesWithinTests: XCTestCase {
    func testWorkThatNeverEndsIsGivenUpOnAtTheLimit() async {
        let started = Date()
        let done = await finishes(within: 0.2) {
            // A teardown that hangs (for an hour: longer than any test run).
            try? await Task.sleep(nanoseconds: 3_600_000_000_000)
        }
        XCTAssertFalse(done)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the wait ended at its limit")
    }

    func testWorkThatEndsInTimeIsWaitedFor() async {
        let finished = Atomic(false)
        let done = await finishes(within: 30) {
            try? await Task.sleep(nanoseconds: 50_000_000)
            finished.store(true, ordering: .releasing)
        }
        XCTAssertTrue(done)
        XCTAssertTrue(finished.load(ordering: .acquiring))
    }
}
