import Foundation
import HearthModel
@testable import HearthRuntimeAPI
import NIOConcurrencyHelpers
import NIOCore
import XCTest

/// Every route, status code and header of the Runtime API, as runtimes see them.
final class RuntimeAPIConformanceTests: XCTestCase {
    var server: RuntimeAPIServer!
    var port = 0

    override func setUpWithError() throws {
        server = try RuntimeAPIServer.bind(host: "127.0.0.1", port: 0).wait()
        port = try XCTUnwrap(server.port)
    }

    override func tearDownWithError() throws {
        try server.close().wait()
    }

    func invocation(_ id: String = UUID().uuidString.lowercased(), payload: String = #"{"hello":"world"}"#,
                    clientContext: String? = nil, identity: String? = nil) -> RuntimeInvocation {
        RuntimeInvocation(requestId: id, payload: Array(payload.utf8), deadlineMs: 1_900_000_000_000,
                          invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:fn",
                          traceId: "Root=1-5e1b4151-5ac6c58f3375aa3c7c6b73c9;Parent=1234567890abcdef;Sampled=0",
                          clientContext: clientContext, cognitoIdentity: identity)
    }

    /// GET /next on a thread of its own: it blocks until an event is there.
    func nextInBackground() throws -> (RawHTTP, () -> RawHTTP.Response?) { try RawHTTP.nextInBackground(port: port) }

    func testNextLongPollsAndCarriesEveryHeader() throws {
        let (_, next) = try nextInBackground()
        XCTAssertEqual(try server.session.initOutcome.futureResult.wait(), .ready, "the first /next ends the init phase")
        let inv = invocation(clientContext: #"{"custom":{"a":"b"}}"#, identity: #"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#)
        let outcome = server.session.invoke(inv)
        let response = try XCTUnwrap(next())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), #"{"hello":"world"}"#)
        XCTAssertEqual(response.headers["lambda-runtime-aws-request-id"], inv.requestId)
        XCTAssertEqual(response.headers["lambda-runtime-deadline-ms"], "1900000000000")
        XCTAssertEqual(response.headers["lambda-runtime-invoked-function-arn"], inv.invokedFunctionArn)
        XCTAssertEqual(response.headers["lambda-runtime-trace-id"], inv.traceId)
        XCTAssertEqual(response.headers["lambda-runtime-client-context"], inv.clientContext)
        XCTAssertEqual(response.headers["lambda-runtime-cognito-identity"], inv.cognitoIdentity)
        XCTAssertEqual(response.headers["content-type"], "application/json")
        let post = try RawHTTP(port: port).send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/response", body: Data("42".utf8))
        XCTAssertEqual(post.status, 202)
        XCTAssertEqual(post.json["status"] as? String, "OK")
        XCTAssertEqual(try outcome.wait(), .response(Array("42".utf8)))
    }

    func testDeliveryIsSignalledWhenTheRuntimeTakesTheEventNotWhenItIsQueued() throws {
        let delivered = DispatchSemaphore(value: 0)
        let inv = invocation()
        let outcome = server.session.invoke(inv, onDelivered: { delivered.signal() })
        XCTAssertEqual(delivered.wait(timeout: .now() + 0.3), .timedOut, "no /next yet: the event waits, undelivered")
        let (client, next) = try nextInBackground()
        XCTAssertEqual(delivered.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(try XCTUnwrap(next()).headers["lambda-runtime-aws-request-id"], inv.requestId)
        XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/response", body: Data("1".utf8)).status, 202)
        XCTAssertEqual(try outcome.wait(), .response(Array("1".utf8)))
    }

    /// The supervisor freezes a sandbox while its runtime waits on /next with nothing to do, and thaws it
    /// before the event is written; a queued event means no freeze at all.
    func testIdleIsToldWhenTheRuntimeWaitsAndEndsBeforeTheEventIsHandedOver() throws {
        let changes = NIOLockedValueBox<[Bool]>([])
        let told = DispatchSemaphore(value: 0)
        server.session.observeIdle { idle in
            changes.withLockedValue { $0.append(idle) }
            told.signal()
        }
        let (client, next) = try nextInBackground()
        XCTAssertEqual(told.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(changes.withLockedValue { $0 }, [true], "waiting with no event: idle")
        let inv = invocation()
        let delivered = NIOLockedValueBox<[Bool]?>(nil)
        let outcome = server.session.invoke(inv, onDelivered: { delivered.withLockedValue { $0 = changes.withLockedValue { $0 } } })
        XCTAssertEqual(try XCTUnwrap(next()).headers["lambda-runtime-aws-request-id"], inv.requestId)
        XCTAssertEqual(delivered.withLockedValue { $0 }, [true, false], "no longer idle before the event is handed over")
        XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/response", body: Data("1".utf8)).status, 202)
        XCTAssertEqual(try outcome.wait(), .response(Array("1".utf8)))
        // An event already queued when the runtime asks: it is handed over at once, never idle in between.
        let queued = invocation()
        let second = server.session.invoke(queued)
        let (again, nextAgain) = try nextInBackground()
        XCTAssertEqual(try XCTUnwrap(nextAgain()).headers["lambda-runtime-aws-request-id"], queued.requestId)
        XCTAssertEqual(changes.withLockedValue { $0 }, [true, false])
        XCTAssertEqual(try again.send("POST", "/2018-06-01/runtime/invocation/\(queued.requestId)/response", body: Data("2".utf8)).status, 202)
        XCTAssertEqual(try second.wait(), .response(Array("2".utf8)))
    }

    func testOptionalHeadersAreAbsentWithoutValues() throws {
        let (_, next) = try nextInBackground()
        _ = server.session.invoke(invocation())
        let response = try XCTUnwrap(next())
        XCTAssertNil(response.headers["lambda-runtime-client-context"])
        XCTAssertNil(response.headers["lambda-runtime-cognito-identity"])
    }

    func testWrongRequestIdIs400AndRepeatedPostIs403() throws {
        let (client, next) = try nextInBackground()
        let inv = invocation()
        let outcome = server.session.invoke(inv)
        _ = try XCTUnwrap(next())
        let wrong = try client.send("POST", "/2018-06-01/runtime/invocation/not-the-id/response", body: Data("1".utf8))
        XCTAssertEqual(wrong.status, 400)
        XCTAssertEqual(wrong.json["errorType"] as? String, "InvalidRequestID")
        XCTAssertEqual(wrong.json["errorMessage"] as? String, "Invalid request ID")
        XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/response", body: Data("1".utf8)).status, 202)
        XCTAssertEqual(try outcome.wait(), .response(Array("1".utf8)))
        for route in ["response", "error"] {
            let again = try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/\(route)", body: Data("2".utf8))
            XCTAssertEqual(again.status, 403, route)
            XCTAssertEqual(again.json["errorType"] as? String, "InvalidStateTransition")
        }
    }

    func testResponseBeforeAnyEventIs400() throws {
        let early = try RawHTTP(port: port).send("POST", "/2018-06-01/runtime/invocation/abc/response", body: Data("x".utf8))
        XCTAssertEqual(early.status, 400)
        XCTAssertEqual(early.json["errorType"] as? String, "InvalidRequestID")
    }

    func testOversizeResponseIs413AndTheInvocationFailsAsLambdaSays() throws {
        let (client, next) = try nextInBackground()
        let inv = invocation()
        let outcome = server.session.invoke(inv)
        _ = try XCTUnwrap(next())
        let big = Data(repeating: UInt8(ascii: "a"), count: RuntimeAPILimits.maxResponseBytes + 1)
        let response = try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/response", body: big)
        XCTAssertEqual(response.status, 413)
        XCTAssertEqual(response.json["errorType"] as? String, "RequestEntityTooLarge")
        XCTAssertEqual(response.json["errorMessage"] as? String, "Exceeded maximum allowed payload size (6291556 bytes).")
        let failure = PlatformFailure.responseTooLarge(bytes: 6_291_557, limit: 6_291_556)
        XCTAssertEqual(try outcome.wait(), .platformError(failure))
        XCTAssertEqual(failure.errorType, "Function.ResponseSizeTooLarge")
        XCTAssertEqual(failure.message, "Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes).")
    }

    func testExactlyTheLimitIsAccepted() throws {
        let (client, next) = try nextInBackground()
        let inv = invocation()
        let outcome = server.session.invoke(inv)
        _ = try XCTUnwrap(next())
        let body = Data(repeating: UInt8(ascii: "a"), count: RuntimeAPILimits.maxResponseBytes)
        XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/response", body: body).status, 202)
        guard case .response(let bytes) = try outcome.wait() else { return XCTFail("expected a response") }
        XCTAssertEqual(bytes.count, RuntimeAPILimits.maxResponseBytes)
    }

    func testAnUnknownResponseModeIs400AndFailsTheInvocation() throws {
        let (client, next) = try nextInBackground()
        let inv = invocation()
        let outcome = server.session.invoke(inv)
        _ = try XCTUnwrap(next())
        let response = try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/response", body: Data("x".utf8),
                                        headers: ["Lambda-Runtime-Function-Response-Mode": "buffered-please"])
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.json["errorType"] as? String, "InvalidFunctionResponseMode")
        XCTAssertEqual(try outcome.wait(), .platformError(.invalidResponseMode("buffered-please")))
        XCTAssertEqual(PlatformFailure.invalidResponseMode("buffered-please").errorType, "Runtime.InvalidResponseModeHeader")
        XCTAssertEqual(PlatformFailure.invalidResponseMode("buffered-please").message, "Invalid response mode header value: buffered-please")
    }

    func testErrorTakesItsTypeFromTheHeaderOrTheBody() throws {
        // Header names are case-insensitive.
        let cases: [(String, String?, String)] = [
            ("Lambda-Runtime-Function-Error-Type", "Runtime.HandlerNotFound", "Runtime.HandlerNotFound"),
            ("lambda-runtime-function-error-type", "Runtime.UserCodeSyntaxError", "Runtime.UserCodeSyntaxError"),
            ("Lambda-Runtime-Function-Error-Typo", "Runtime.HandlerNotFound", "ValueError"),
            ("Lambda-Runtime-Function-Error-Type", nil, "ValueError"),
        ]
        for (name, header, expected) in cases {
            let (client, next) = try nextInBackground()
            let inv = invocation()
            let outcome = server.session.invoke(inv)
            _ = try XCTUnwrap(next())
            let document = #"{"errorMessage":"bad","errorType":"ValueError","requestId":"x","stackTrace":[]}"#
            let response = try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/error", body: Data(document.utf8),
                                            headers: header.map { [name: $0] } ?? [:])
            XCTAssertEqual(response.status, 202)
            XCTAssertEqual(try outcome.wait(), .functionError(body: Array(document.utf8), errorType: expected))
        }
    }

    func testInitErrorIsAcceptedOnceBeforeNextAndGoesToTheInvoker() throws {
        let document = #"{"errorMessage":"Unable to import module 'app'","errorType":"Runtime.ImportModuleError"}"#
        let client = try RawHTTP(port: port)
        let first = try client.send("POST", "/2018-06-01/runtime/init/error", body: Data(document.utf8),
                                    headers: ["Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"])
        XCTAssertEqual(first.status, 202)
        XCTAssertEqual(try server.session.initOutcome.futureResult.wait(), .failed(body: Array(document.utf8), errorType: "Runtime.ImportModuleError"))
        XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/init/error", body: Data(document.utf8)).status, 403)
    }

    func testInitErrorAfterInitIs403() throws {
        let (_, next) = try nextInBackground()
        XCTAssertEqual(try server.session.initOutcome.futureResult.wait(), .ready)
        let late = try RawHTTP(port: port).send("POST", "/2018-06-01/runtime/init/error", body: Data("{}".utf8))
        XCTAssertEqual(late.status, 403)
        XCTAssertEqual(late.json["errorType"] as? String, "InvalidStateTransition")
        _ = server.session.invoke(invocation())
        _ = next()
    }

    func testConcurrentNextIs403AndNextBeforeAnsweringIs403() throws {
        let (_, first) = try nextInBackground()
        XCTAssertEqual(try server.session.initOutcome.futureResult.wait(), .ready)
        let second = try RawHTTP(port: port).send("GET", "/2018-06-01/runtime/invocation/next")
        XCTAssertEqual(second.status, 403, "only one runtime loop may wait")
        let inv = invocation()
        _ = server.session.invoke(inv)
        _ = try XCTUnwrap(first())
        let early = try RawHTTP(port: port).send("GET", "/2018-06-01/runtime/invocation/next")
        XCTAssertEqual(early.status, 403, "the current invocation has not been answered")
        XCTAssertEqual(early.json["errorType"] as? String, "InvalidStateTransition")
    }

    func testAParkedNextWhoseConnectionClosedIsForgotten() throws {
        let (client, _) = try nextInBackground()
        XCTAssertEqual(try server.session.initOutcome.futureResult.wait(), .ready)
        client.hangUp()
        let session = server.session
        let deadline = Date().addingTimeInterval(10)
        while try session.eventLoop.submit({ session.isNextParked }).wait(), Date() < deadline { usleep(5_000) }
        XCTAssertFalse(try session.eventLoop.submit { session.isNextParked }.wait(), "the closed connection's /next is still parked")
        let (_, next) = try nextInBackground()
        let inv = invocation()
        _ = server.session.invoke(inv)
        XCTAssertEqual(next()?.headers["lambda-runtime-aws-request-id"], inv.requestId)
    }

    func testManyInvocationsInARowOnOneConnection() throws {
        let client = try RawHTTP(port: port)
        for i in 0..<50 {
            let inv = invocation(payload: "\(i)")
            let outcome = server.session.invoke(inv)
            let event = try client.send("GET", "/2018-06-01/runtime/invocation/next")
            XCTAssertEqual(String(decoding: event.body, as: UTF8.self), "\(i)")
            XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/response", body: event.body).status, 202)
            XCTAssertEqual(try outcome.wait(), .response(Array("\(i)".utf8)))
        }
    }

    func testUnknownPathsAndMethods() throws {
        let client = try RawHTTP(port: port)
        XCTAssertEqual(try client.send("GET", "/2018-06-01/runtime/nope").status, 404)
        XCTAssertEqual(try client.send("GET", "/2019-01-01/runtime/invocation/next").status, 404)
        XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/invocation/next").status, 405)
        XCTAssertEqual(try client.send("GET", "/2018-06-01/runtime/init/error").status, 405)
    }

    func testClosingTheSessionAnswersWhatIsOutstanding() throws {
        let outcome = server.session.invoke(invocation())
        server.session.close(.platformError(.runtimeExited(detail: "exit status 1")), reason: "exited")
        XCTAssertEqual(try outcome.wait(), .platformError(.runtimeExited(detail: "exit status 1")))
        XCTAssertThrowsError(try server.session.initOutcome.futureResult.wait())
        XCTAssertEqual(try server.session.invoke(invocation()).wait(), .platformError(.runtimeExited(detail: "exit status 1")),
                       "an event after the close ends as the outstanding ones did")
    }

    func testPipelinedRequestsAreAnsweredInTheOrderTheyCame() throws {
        let client = try RawHTTP(port: port)
        // /next parks (no event yet); the 404 sent right behind it must wait for /next's answer.
        try client.sendRaw("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
                           + "GET /2018-06-01/runtime/nope HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try server.session.initOutcome.futureResult.wait(), .ready)
        let inv = invocation()
        let outcome = server.session.invoke(inv)
        let first = try client.readResponse()
        XCTAssertEqual(first.status, 200, "the parked /next is answered first")
        XCTAssertEqual(first.headers["lambda-runtime-aws-request-id"], inv.requestId)
        XCTAssertEqual(try client.readResponse().status, 404)
        XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/response", body: Data("1".utf8)).status, 202)
        XCTAssertEqual(try outcome.wait(), .response(Array("1".utf8)))
    }

    func testABodyThatWaitsForContinueGetsIt() throws {
        let (_, next) = try nextInBackground()
        XCTAssertEqual(try server.session.initOutcome.futureResult.wait(), .ready)
        let inv = invocation()
        let outcome = server.session.invoke(inv)
        XCTAssertNotNil(next())
        // As curl posts a response over 1 MB: the head, then the body only after 100 Continue.
        let client = try RawHTTP(port: port)
        try client.sendRaw("POST /2018-06-01/runtime/invocation/\(inv.requestId)/response HTTP/1.1\r\nHost: x\r\n"
                           + "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 100)
        try client.sendRaw("42")
        XCTAssertEqual(try client.readResponse().status, 202)
        XCTAssertEqual(try outcome.wait(), .response(Array("42".utf8)))
    }

    func testARequestThatIsNotHTTPIs400AndTheConnectionCloses() throws {
        let client = try RawHTTP(port: port)
        try client.sendRaw("HELLO THERE\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.headers["connection"], "close")
        XCTAssertTrue(client.isClosedByServer())
    }

    func testConnectionCloseIsHonoured() throws {
        let client = try RawHTTP(port: port)
        let response = try client.send("GET", "/2018-06-01/runtime/nope", headers: ["Connection": "close"])
        XCTAssertEqual(response.status, 404)
        XCTAssertEqual(response.headers["connection"], "close")
        XCTAssertTrue(client.isClosedByServer())
    }

    func testAnEventWhoseHeaderWouldSplitTheResponseIsNotSent() throws {
        let (client, next) = try nextInBackground()
        XCTAssertEqual(try server.session.initOutcome.futureResult.wait(), .ready)
        _ = server.session.invoke(invocation(clientContext: "{}\r\nX-Injected: 1"))
        let response = try XCTUnwrap(next())
        XCTAssertEqual(response.status, 500)
        XCTAssertNil(response.headers["x-injected"])
        XCTAssertTrue(client.isClosedByServer())
    }
}
