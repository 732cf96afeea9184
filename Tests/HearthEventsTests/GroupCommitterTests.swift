import XCTest
@testable import HearthEvents

final class GroupCommitterTests: XCTestCase {
    /// Changes submitted while a round runs go together in the next one, each caller gets its own
    /// outcome, and a failed round fails only its own callers.
    func testChangesWaitingDuringARoundGoTogetherInTheNext() async throws {
        let rounds = RoundLog()
        let committer = GroupCommitter<Int, Int>(name: "test-committer") { batch in
            rounds.record(batch)
            Thread.sleep(forTimeInterval: 0.05)
            return batch.contains(-1) ? .failure(EventStoreError("refused")) : .success(batch.map { $0 * 10 })
        }
        defer { committer.stop() }
        let first = Task { try await committer.submit(1) }
        try await Task.sleep(nanoseconds: 10_000_000)
        let outcomes = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for n in 2...20 { group.addTask { (n, try await committer.submit(n)) } }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        let firstOutcome = try await first.value
        XCTAssertEqual(firstOutcome, 10)
        XCTAssertEqual(outcomes, Dictionary(uniqueKeysWithValues: (2...20).map { ($0, $0 * 10) }))
        let batches = rounds.batches
        XCTAssertLessThan(batches.count, 19, "the 19 changes sent during the first round were grouped: \(batches)")
        XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(1...20))

        do {
            _ = try await committer.submit(-1)
            XCTFail("a failed round fails its callers")
        } catch let error as EventStoreError {
            XCTAssertEqual(error.description, "refused")
        }
        let after = try await committer.submit(3)
        XCTAssertEqual(after, 30, "the next round is not held by the failed one")
    }

    /// Stopping commits what is already waiting, then refuses what comes after.
    func testStopCommitsWhatIsWaitingAndRefusesWhatComesAfter() async throws {
        let committer = GroupCommitter<Int, Int>(name: "test-committer") { batch in
            Thread.sleep(forTimeInterval: 0.1)
            return .success(batch)
        }
        let running = Task { try await committer.submit(1) }
        try await Task.sleep(nanoseconds: 20_000_000)
        let waiting = Task { try await committer.submit(2) }
        try await Task.sleep(nanoseconds: 20_000_000)
        committer.stop()
        let outcomes = (try await running.value, try await waiting.value)
        XCTAssertEqual([outcomes.0, outcomes.1], [1, 2])
        do {
            _ = try await committer.submit(8)
            XCTFail("a stopped committer takes nothing")
        } catch is GroupCommitterStopped {}
    }

    /// A round that answers for fewer changes than it was given fails each of its callers; none waits forever.
    func testARoundThatAnswersForTooFewChangesFailsItsCallers() async throws {
        let committer = GroupCommitter<Int, Int>(name: "test-committer") { .success(Array($0.dropLast())) }
        defer { committer.stop() }
        do {
            _ = try await committer.submit(1)
            XCTFail("no outcome for the change")
        } catch let error as GroupCommitterMismatch {
            XCTAssertEqual(error.description, "a commit of 1 changes gave 0 outcomes")
        }
    }

    /// A change nobody waits for rides with the next round that runs anyway, first in it; with no
    /// round coming, it is written on its own once it has waited the limit.
    func testADeferredChangeRidesWithTheNextRoundOrGoesAloneAfterItsLimit() async throws {
        let rounds = RoundLog()
        let committer = GroupCommitter<Int, Int>(name: "test-committer", deferLimit: 0.3) { batch in
            rounds.record(batch)
            return .success(batch.map { $0 * 10 })
        }
        defer { committer.stop() }
        committer.submitLater(7)
        XCTAssertTrue(committer.hasDeferred)
        let outcome = try await committer.submit(1)
        XCTAssertEqual(outcome, 10, "the caller gets its own outcome, not the deferred change's")
        XCTAssertEqual(rounds.batches, [[7, 1]], "one round: the deferred change did not wait for its limit")
        XCTAssertFalse(committer.hasDeferred)

        let started = Date()
        committer.submitLater(8)
        committer.submitLater(9)
        while rounds.batches.count < 2 && Date().timeIntervalSince(started) < 5 { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(rounds.batches.last, [8, 9], "alone, in one round")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.25, "not before the limit")

        // Quiet for longer than the limit, the thread sleeps with no deadline: a deferred change wakes it.
        try await Task.sleep(nanoseconds: 700_000_000)
        let later = Date()
        committer.submitLater(10)
        while rounds.batches.count < 3 && Date().timeIntervalSince(later) < 5 { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(rounds.batches.last, [10])
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(later), 0.25, "not before the limit")
        XCTAssertLessThan(Date().timeIntervalSince(later), 2, "written once due, not left waiting")
    }

    /// A round that fails keeps its deferred changes for a later round (after the limit again, so a
    /// failing disk does not make the thread spin); stopping writes what is deferred.
    func testDeferredChangesOfAFailedRoundAreKeptAndStoppingWritesThem() async throws {
        let rounds = RoundLog()
        let committer = GroupCommitter<Int, Int>(name: "test-committer", deferLimit: 0.2) { batch in
            rounds.record(batch)
            return batch.contains(-1) ? .failure(EventStoreError("refused")) : .success(batch)
        }
        committer.submitLater(5)
        do {
            _ = try await committer.submit(-1)
            XCTFail("a failed round fails its callers")
        } catch is EventStoreError {}
        XCTAssertTrue(committer.hasDeferred, "kept for the next round")
        try await Task.sleep(nanoseconds: 50_000_000)
        XCTAssertEqual(rounds.batches.count, 1, "not retried at once")
        committer.submitLater(6)
        committer.stop()
        let started = Date()
        while rounds.batches.count < 2 && Date().timeIntervalSince(started) < 5 { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(rounds.batches, [[5, -1], [5, 6]])
        committer.submitLater(7)
        XCTAssertFalse(committer.hasDeferred, "a stopped committer takes nothing")
    }

    /// A deferred change counts as not yet written until the round that carries it has ended, so a
    /// reader that flushes first never reads before it.
    func testADeferredChangeIsPendingUntilItsRoundEnds() async throws {
        let committer = GroupCommitter<Int, Int>(name: "test-committer", deferLimit: 0.05) { batch in
            if batch.contains(1) { Thread.sleep(forTimeInterval: 0.4) }
            return .success(batch)
        }
        defer { committer.stop() }
        committer.submitLater(1)
        try await Task.sleep(nanoseconds: 200_000_000)
        XCTAssertTrue(committer.hasDeferred, "taken into a round that has not ended")
        let started = Date()
        while committer.hasDeferred && Date().timeIntervalSince(started) < 5 { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertFalse(committer.hasDeferred)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.15, "not before the round ended")
    }
}

/// The batches a committer's rounds were given, in order.
private final class RoundLog: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [[Int]] = []
    func record(_ batch: [Int]) { lock.withLock { log.append(batch) } }
    var batches: [[Int]] { lock.withLock { log } }
}
