import Foundation
import HearthModel
@testable import HearthRuntimeAPI
import NIOConcurrencyHelpers
import NIOCore
import XCTest

/// A runtime that works on several events at once (AWS_LAMBDA_MAX_CONCURRENCY, as on Lambda Managed
/// Instances): one GET /next per worker, each on its own connection, answers in any order.
final class ConcurrentSessionTests: XCTestCase {
    var server: RuntimeAPIServer!
    var port = 0
    let concurrency = 3
    /// Every worker's connection, hung up at the end: a /next still parked would otherwise hold its thread
    /// and both ends' descriptors until the client's read times out, in some later test.
    var clients: [RawHTTP] = []

    override func setUpWithError() throws {
        server = try RuntimeAPIServer.bind(host: "127.0.0.1", port: 0, maxConcurrency: concurrency).wait()
        port = try XCTUnwrap(server.port)
    }

    override func tearDownWithError() throws {
        for client in clients { client.hangUp() }
        clients = []
        try server.close().wait()
    }

    func invocation(_ n: Int) -> RuntimeInvocation {
        RuntimeInvocation(requestId: "req-\(n)-" + UUID().uuidString.lowercased(), payload: Array("\(n)".utf8), deadlineMs: 1_900_000_000_000,
                          invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:fn", traceId: "Root=1-5e1b4151-5ac6c58f3375aa3c7c6b73c9;Parent=1234567890abcdef;Sampled=0")
    }

    /// A worker's GET /next on its own connection and thread.
    func worker() throws -> (RawHTTP, () -> RawHTTP.Response?) {
        let worker = try RawHTTP.nextInBackground(port: port)
        clients.append(worker.0)
        return worker
    }

    func parked() throws -> Int {
        let session = server.session
        return try session.eventLoop.submit { session.parkedCount }.wait()
    }

    func waitForParked(_ count: Int) throws {
        let deadline = Date().addingTimeInterval(5)
        while try parked() != count, Date() < deadline { usleep(2_000) }
        XCTAssertEqual(try parked(), count)
    }

    func testEachWorkerGetsItsOwnEventAndAnswersInAnyOrder() throws {
        let workers = try (0..<concurrency).map { _ in try worker() }
        try waitForParked(concurrency)
        let invocations = (0..<concurrency).map(invocation)
        let outcomes = invocations.map { server.session.invoke($0) }
        var byId: [String: RawHTTP] = [:]
        for (client, next) in workers {
            let response = try XCTUnwrap(next())
            XCTAssertEqual(response.status, 200)
            byId[try XCTUnwrap(response.headers["lambda-runtime-aws-request-id"])] = client
        }
        XCTAssertEqual(Set(byId.keys), Set(invocations.map(\.requestId)), "every event went to one worker")
        // Answered last to first, each on the connection that took it.
        for inv in invocations.reversed() {
            let client = try XCTUnwrap(byId[inv.requestId])
            let post = try client.send("POST", "/2018-06-01/runtime/invocation/\(inv.requestId)/response", body: Data("ok \(inv.requestId)".utf8))
            XCTAssertEqual(post.status, 202)
        }
        for (inv, outcome) in zip(invocations, outcomes) {
            XCTAssertEqual(try outcome.wait(), .response(Array("ok \(inv.requestId)".utf8)), "each answer reached its own caller")
        }
    }

    func testNoMoreThanTheConcurrencyIsParkedOrInFlight() throws {
        let workers = try (0..<concurrency).map { _ in try worker() }
        try waitForParked(concurrency)
        let extra = try RawHTTP(port: port).send("GET", "/2018-06-01/runtime/invocation/next")
        XCTAssertEqual(extra.status, 403, "a fourth worker")
        XCTAssertTrue(String(decoding: extra.body, as: UTF8.self).contains("concurrency (3)"), String(decoding: extra.body, as: UTF8.self))
        let invocations = (0..<concurrency).map(invocation)
        _ = invocations.map { server.session.invoke($0) }
        for (_, next) in workers { XCTAssertNotNil(next()) }
        let busy = server.session.invoke(invocation(9))
        guard case .platformError(.unknown(let why)) = try busy.wait() else { return XCTFail("a fourth event was queued") }
        XCTAssertTrue(why.contains("busy with 3 invocations"), why)
    }

    func testAWorkerFreedByItsAnswerTakesTheEventWaiting() throws {
        let (client, next) = try worker()
        try waitForParked(1)
        let first = invocation(1)
        let firstOutcome = server.session.invoke(first)
        XCTAssertEqual(next()?.headers["lambda-runtime-aws-request-id"], first.requestId)
        // Two more queued while the only worker is busy: the environment's concurrency allows them.
        let second = invocation(2), third = invocation(3)
        let secondOutcome = server.session.invoke(second)
        let thirdOutcome = server.session.invoke(third)
        XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/invocation/\(first.requestId)/response", body: Data("1".utf8)).status, 202)
        XCTAssertEqual(try firstOutcome.wait(), .response(Array("1".utf8)))
        let taken = try client.send("GET", "/2018-06-01/runtime/invocation/next")
        XCTAssertEqual(taken.headers["lambda-runtime-aws-request-id"], second.requestId, "oldest first")
        XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/invocation/\(second.requestId)/response", body: Data("2".utf8)).status, 202)
        XCTAssertEqual(try secondOutcome.wait(), .response(Array("2".utf8)))
        XCTAssertEqual(try client.send("GET", "/2018-06-01/runtime/invocation/next").headers["lambda-runtime-aws-request-id"], third.requestId)
        XCTAssertEqual(try client.send("POST", "/2018-06-01/runtime/invocation/\(third.requestId)/error", body: Data("{}".utf8)).status, 202)
        guard case .functionError = try thirdOutcome.wait() else { return XCTFail("the error did not reach the third caller") }
    }

    /// A timed-out event ends at once while its siblings go on; the runtime's late answer is refused.
    func testAnAbandonedEventEndsAloneAndItsLateAnswerIsRefused() throws {
        let workers = try (0..<2).map { _ in try worker() }
        try waitForParked(2)
        let slow = invocation(1), fast = invocation(2)
        let slowOutcome = server.session.invoke(slow), fastOutcome = server.session.invoke(fast)
        var byId: [String: RawHTTP] = [:]
        for (client, next) in workers { byId[try XCTUnwrap(next()?.headers["lambda-runtime-aws-request-id"])] = client }
        server.session.abandon(requestId: slow.requestId, with: .platformError(.timedOut))
        XCTAssertEqual(try slowOutcome.wait(), .platformError(.timedOut))
        XCTAssertEqual(try XCTUnwrap(byId[fast.requestId]).send("POST", "/2018-06-01/runtime/invocation/\(fast.requestId)/response",
                                                                body: Data("fast".utf8)).status, 202)
        XCTAssertEqual(try fastOutcome.wait(), .response(Array("fast".utf8)), "its sibling was answered as usual")
        let late = try XCTUnwrap(byId[slow.requestId]).send("POST", "/2018-06-01/runtime/invocation/\(slow.requestId)/response", body: Data("late".utf8))
        XCTAssertEqual(late.status, 403, "already answered")
    }

    /// Idle (and so frozen) only when no event is queued or in flight, whichever worker waits.
    func testIdleOnlyWithNothingInFlight() throws {
        let changes = NIOLockedValueBox<[Bool]>([])
        server.session.observeIdle { idle in changes.withLockedValue { $0.append(idle) } }
        let workers = try (0..<2).map { _ in try worker() }
        try waitForParked(2)
        let first = invocation(1), second = invocation(2)
        let firstOutcome = server.session.invoke(first)
        let secondOutcome = server.session.invoke(second)
        var byId: [String: RawHTTP] = [:]
        for (client, next) in workers { byId[try XCTUnwrap(next()?.headers["lambda-runtime-aws-request-id"])] = client }
        let one = try XCTUnwrap(byId[first.requestId])
        XCTAssertEqual(try one.send("POST", "/2018-06-01/runtime/invocation/\(first.requestId)/response", body: Data("1".utf8)).status, 202)
        _ = try firstOutcome.wait()
        // The first worker asks again while the second still works: not idle.
        let again = DispatchSemaphore(value: 0)
        Thread { _ = try? one.send("GET", "/2018-06-01/runtime/invocation/next"); again.signal() }.start()
        try waitForParked(1)
        XCTAssertEqual(changes.withLockedValue { $0 }, [true, false], "idle before the events, busy since")
        let two = try XCTUnwrap(byId[second.requestId])
        XCTAssertEqual(try two.send("POST", "/2018-06-01/runtime/invocation/\(second.requestId)/response", body: Data("2".utf8)).status, 202)
        _ = try secondOutcome.wait()
        Thread { _ = try? two.send("GET", "/2018-06-01/runtime/invocation/next") }.start()
        try waitForParked(2)
        XCTAssertEqual(changes.withLockedValue { $0 }, [true, false, true], "idle again once both are answered")
    }
}
