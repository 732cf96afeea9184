import XCTest
@testable import HearthEvents

final class RetryRulesTests: XCTestCase {
    let rules = RetryRules()
    let settings = AsyncSettings()
    let failed = AttemptOutcome.functionError(executedVersion: "$LATEST", document: Array("{}".utf8))

    func queued(attempts: Int, enqueuedAt: Double = 0) -> QueuedEvent {
        QueuedEvent(id: 1, requestId: "r", function: "f", qualifier: nil, enqueuedAt: enqueuedAt, notBefore: 0, attempts: attempts)
    }

    func testFunctionErrorsAreRetriedAfterOneThenTwoMinutesThenExhausted() {
        XCTAssertEqual(rules.decide(queued(attempts: 0), outcome: failed, settings: settings, backoffs: 0, now: 10), .retry(at: 70, attempts: 1))
        XCTAssertEqual(rules.decide(queued(attempts: 1), outcome: failed, settings: settings, backoffs: 0, now: 100), .retry(at: 220, attempts: 2))
        XCTAssertEqual(rules.decide(queued(attempts: 2), outcome: failed, settings: settings, backoffs: 0, now: 300), .failed(.retriesExhausted))
    }

    func testMaximumRetryAttemptsZeroFailsAtOnce() {
        let none = AsyncSettings(maximumRetryAttempts: 0)
        XCTAssertEqual(rules.decide(queued(attempts: 0), outcome: failed, settings: none, backoffs: 0, now: 0), .failed(.retriesExhausted))
    }

    func testARetryPastTheMaximumAgeFailsWithEventAgeExceeded() {
        let short = AsyncSettings(maximumEventAgeSeconds: 60)
        XCTAssertEqual(rules.decide(queued(attempts: 0), outcome: failed, settings: short, backoffs: 0, now: 5), .failed(.eventAgeExceeded))
        XCTAssertTrue(rules.expired(queued(attempts: 0), settings: short, now: 61))
        XCTAssertFalse(rules.expired(queued(attempts: 0), settings: short, now: 60))
    }

    func testThrottlesBackOffExponentiallyWithoutCountingAnAttempt() {
        let throttled = AttemptOutcome.throttled(reason: "x")
        XCTAssertEqual(rules.decide(queued(attempts: 1), outcome: throttled, settings: settings, backoffs: 1, now: 0), .backOff(at: 1))
        XCTAssertEqual(rules.decide(queued(attempts: 1), outcome: throttled, settings: settings, backoffs: 4, now: 0), .backOff(at: 8))
        XCTAssertEqual(rules.decide(queued(attempts: 1), outcome: .unavailable("x"), settings: settings, backoffs: 40, now: 0), .backOff(at: 300))
    }

    func testScaledDelays() {
        let fast = rules.scaled(by: 0.01)
        XCTAssertEqual(fast.decide(queued(attempts: 0), outcome: failed, settings: settings, backoffs: 0, now: 0), .retry(at: 0.6, attempts: 1))
    }

    func testSuccessAndGone() {
        XCTAssertEqual(rules.decide(queued(attempts: 2), outcome: .success(executedVersion: "1", payload: []), settings: settings, backoffs: 0, now: 0),
                       .succeeded)
        XCTAssertEqual(rules.decide(queued(attempts: 0), outcome: .gone("x"), settings: settings, backoffs: 0, now: 0), .dropped("x"))
    }
}
