import Foundation
@testable import HearthRegistry
@testable import HearthSupervisor
import XCTest

/// The hybrid histogram policy's decisions on synthetic idle-time series: when it predicts (and what),
/// and when it falls back to the fixed idle timeout.
final class KeepAlivePolicyTests: XCTestCase {
    let settings = HybridKeepAlive()

    func histogram(_ minutes: [Double]) -> IdleTimeHistogram {
        var h = IdleTimeHistogram(settings)
        for m in minutes { h.record(idleSeconds: m * 60) }
        return h
    }

    func testRegularIdleTimesPreWarmAtTheHeadAndKeepToTheTail() {
        // Every 30 minutes, give or take one: bins 29, 30 and 31 (the 5th percentile of 23 is the 2nd).
        let series = Array(repeating: 30.2, count: 20) + [29.5, 29.5, 31.4]
        let windows = histogram(series).windows(settings, fixed: 600)
        XCTAssertTrue(windows.predicted)
        // The 5th percentile falls in bin 29 (its start, 29 min, less 10%); the 99th in bin 31 (its end, 32 min, plus 10%).
        XCTAssertEqual(windows.preWarm, 29 * 60 * 0.9, accuracy: 1e-6)
        XCTAssertEqual(windows.end, 32 * 60 * 1.1, accuracy: 1e-6)
    }

    func testFrequentInvocationsKeepAliveFromTheStartWithoutUnloading() {
        // Idle times under a minute: the head bin is 0, so nothing is unloaded; kept for 1.1 minutes.
        let windows = histogram(Array(repeating: 0.2, count: 50)).windows(settings, fixed: 600)
        XCTAssertTrue(windows.predicted)
        XCTAssertEqual(windows.preWarm, 0)
        XCTAssertEqual(windows.keepAlive, 66, accuracy: 1e-6)
    }

    func testTooFewIdleTimesFallBackToTheFixedTimeout() {
        XCTAssertEqual(histogram(Array(repeating: 30, count: 9)).windows(settings, fixed: 600), .fixed(600))
        XCTAssertTrue(histogram(Array(repeating: 30, count: 10)).windows(settings, fixed: 600).predicted)
    }

    func testIdleTimesSpreadEvenlyPredictNothing() {
        // One idle time in every bin: a coefficient of variation of 0.
        let even = histogram((0..<240).map { Double($0) + 0.5 })
        XCTAssertEqual(even.coefficientOfVariation, 0, accuracy: 1e-9)
        XCTAssertEqual(even.windows(settings, fixed: 600), .fixed(600))
    }

    func testMostlyBeyondTheRangeFallsBack() {
        // Eleven idle times of 10 minutes, twelve of five hours (beyond the 4-hour range).
        let h = histogram(Array(repeating: 10, count: 11) + Array(repeating: 300, count: 12))
        XCTAssertEqual(h.outOfRange, 12)
        XCTAssertEqual(h.windows(settings, fixed: 600), .fixed(600))
        let fewer = histogram(Array(repeating: 10, count: 11) + Array(repeating: 300, count: 11))
        XCTAssertTrue(fewer.windows(settings, fixed: 600).predicted, "half beyond the range is still within the limit")
    }

    func testNonsenseIdleTimesAreIgnored() {
        var h = IdleTimeHistogram(settings)
        h.record(idleSeconds: -1)
        h.record(idleSeconds: .nan)
        h.record(idleSeconds: .infinity)
        XCTAssertEqual(h.inRange + h.outOfRange, 0)
    }

    func testIdleHistoryCountsAPeriodOnlyWhenNothingRuns() {
        var history = IdleHistory(settings)
        let t0 = Date(timeIntervalSince1970: 0)
        history.arrive(at: t0)
        history.arrive(at: t0 + 1)  // overlapping: no idle period ended
        XCTAssertFalse(history.leave(at: t0 + 2))
        XCTAssertTrue(history.leave(at: t0 + 3))
        history.arrive(at: t0 + 3 + 120)
        XCTAssertEqual(history.histogram.inRange, 1)
        XCTAssertEqual(history.histogram.counts[2], 1, "a two-minute idle time lands in bin 2")
    }

    func testPolicyNames() {
        XCTAssertEqual(KeepAlivePolicy(name: "fixed"), .fixed)
        XCTAssertEqual(KeepAlivePolicy(name: "hybrid"), .hybrid(HybridKeepAlive()))
        XCTAssertNil(KeepAlivePolicy(name: "Hybrid"))
    }
}

/// The scheduler under the hybrid policy, with the fake clock: it unloads, pre-warms and retires as
/// the function's idle times predict, and keeps the fixed timeout until they do.
extension SchedulerTests {
    /// Ten invocations 30 minutes apart: the histogram becomes representative.
    func trainEveryThirtyMinutes(_ bed: Bed, _ name: String) async throws {
        for _ in 0..<10 {
            _ = try await bed.invoke(name)
            bed.clock.advance(30 * 60)
            await bed.scheduler.retireIdle()
        }
    }

    func testHybridUnloadsAtOncePreWarmsBeforeTheExpectedInvocationAndRetiresAfter() async throws {
        let bed = try makeBed(idleTimeout: 600, keepAlive: .hybrid(HybridKeepAlive())) { $0.put("f") }
        try await trainEveryThirtyMinutes(bed, "f")
        let trained = try await bed.invoke("f")
        XCTAssertTrue(trained.coldStart, "under the fixed 10 minutes, every invocation 30 minutes apart is cold")
        await eventually("unloaded as soon as it is idle") { bed.launcher.launched("f").allSatisfy(\.destroyed) }

        // The pre-warm window opens at 30 min less 10% (27 min): nothing before, one environment after.
        bed.clock.advance(26 * 60)
        await bed.scheduler.retireIdle()
        XCTAssertEqual(bed.launcher.launched("f").filter { !$0.destroyed }.count, 0, "not yet")
        bed.clock.advance(2 * 60)
        let slowStart = Gate()
        bed.launcher.holdLaunches(slowStart)
        let begun = bed.launcher.launchesBegun
        await bed.scheduler.retireIdle()
        await eventually("the pre-warm began") { bed.launcher.launchesBegun == begun + 1 }
        await bed.scheduler.retireIdle()  // a sweep while it starts
        try await Task.sleep(for: .milliseconds(20))
        XCTAssertEqual(bed.launcher.launchesBegun, begun + 1, "once per idle period")
        slowStart.open()
        await eventually("pre-warmed") { await bed.scheduler.status().pools.first?.idle == 1 }

        let warm = try await bed.invoke("f")
        XCTAssertFalse(warm.coldStart, "the expected invocation finds the pre-warmed environment")

        // No invocation this time: the pre-warmed environment goes at the window's end (31 min plus 10%).
        bed.clock.advance(28 * 60)
        await bed.scheduler.retireIdle()
        await eventually("pre-warmed again") { await bed.scheduler.status().pools.first?.idle == 1 }
        bed.clock.advance(6.2 * 60)
        await bed.scheduler.retireIdle()
        await eventually("retired at the window's end") { bed.launcher.launched("f").allSatisfy(\.destroyed) }
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.liveMemoryMB, 0)
    }

    func testAPreWarmedEnvironmentEvictedIsNotStartedAgainInTheSamePeriod() async throws {
        let bed = try makeBed(budgetMB: 256, keepAlive: .hybrid(HybridKeepAlive())) {
            $0.put("f", memoryMB: 128)
            $0.put("g", memoryMB: 256)
        }
        try await trainEveryThirtyMinutes(bed, "f")
        _ = try await bed.invoke("f")
        bed.clock.advance(28 * 60)
        await bed.scheduler.retireIdle()
        await eventually("pre-warmed and idle") { await bed.scheduler.status().pools.first { $0.function == "f" }?.idle == 1 }
        _ = try await bed.invoke("g")  // takes the whole budget: the pre-warmed environment is evicted
        await eventually("evicted") { bed.launcher.launched("f").allSatisfy(\.destroyed) }
        let begun = bed.launcher.launchesBegun
        bed.clock.advance(60)
        await bed.scheduler.retireIdle()
        try await Task.sleep(for: .milliseconds(20))
        XCTAssertEqual(bed.launcher.launchesBegun, begun, "one pre-warm per idle period")
    }

    func testHybridKeepsTheFixedTimeoutUntilItHasLearned() async throws {
        let bed = try makeBed(idleTimeout: 600, keepAlive: .hybrid(HybridKeepAlive())) { $0.put("f") }
        _ = try await bed.invoke("f")
        bed.clock.advance(599)
        await bed.scheduler.retireIdle()
        XCTAssertFalse(bed.launcher.launched[0].destroyed, "kept for the idle timeout")
        bed.clock.advance(2)
        await bed.scheduler.retireIdle()
        XCTAssertTrue(bed.launcher.launched[0].destroyed)
    }

    func testHybridKeepsFrequentFunctionsOnlyAsLongAsTheirIdleTimes() async throws {
        let bed = try makeBed(idleTimeout: 600, keepAlive: .hybrid(HybridKeepAlive())) { $0.put("f") }
        for _ in 0..<20 {
            _ = try await bed.invoke("f")
            bed.clock.advance(20)
        }
        XCTAssertEqual(bed.launcher.launched("f").count, 1, "warm throughout")
        // Idle times in the first minute: kept 66 s (20 of them gone already), not the fixed 600.
        bed.clock.advance(45)
        await bed.scheduler.retireIdle()
        XCTAssertFalse(bed.launcher.launched[0].destroyed)
        bed.clock.advance(2)
        await bed.scheduler.retireIdle()
        XCTAssertTrue(bed.launcher.launched[0].destroyed)
    }

    func testAFunctionsIdleHistoryGoesWithIt() async throws {
        let bed = try makeBed(keepAlive: .hybrid(HybridKeepAlive())) { $0.put("f") }
        try await trainEveryThirtyMinutes(bed, "f")
        var histories = await bed.scheduler.idleHistories.count
        XCTAssertEqual(histories, 1)
        await bed.scheduler.forget(FunctionReference(name: "f", qualifier: nil))
        histories = await bed.scheduler.idleHistories.count
        XCTAssertEqual(histories, 0)
    }

    func testAReloadToTheFixedPolicyForgetsTheHistoriesAndKeepsTheIdleTimeout() async throws {
        let bed = try makeBed(idleTimeout: 600, keepAlive: .hybrid(HybridKeepAlive())) { $0.put("f") }
        try await trainEveryThirtyMinutes(bed, "f")
        await bed.scheduler.reload(idleTimeoutSeconds: 600, keepAlive: .fixed, memoryBudgetMB: 4096)
        let histories = await bed.scheduler.idleHistories.count
        XCTAssertEqual(histories, 0)
        _ = try await bed.invoke("f")
        try await Task.sleep(for: .milliseconds(20))
        XCTAssertFalse(bed.launcher.launched("f").last?.destroyed ?? true, "kept, not unloaded at once")
    }

    func testTheFixedPolicyKeepsNoIdleHistory() async throws {
        let bed = try makeBed { $0.put("f") }
        _ = try await bed.invoke("f")
        let histories = await bed.scheduler.idleHistories.count
        XCTAssertEqual(histories, 0)
    }
}
