import Foundation
@testable import HearthCompare
import Synchronization
import XCTest

/// The replay driver with a fake arm: open loop (a slow answer never holds back the next arrival),
/// its own lag recorded, what the arm holds sampled; and the reports' arithmetic.
final class ReplayTests: XCTestCase {
    /// Answers after `answerMs`; the first request is slow; holds `environments` of 128 MB.
    final class FakeArm: ReplayTarget {
        let answerMs: Double
        let started = Mutex<[Double]>([])
        let clock = ContinuousClock()
        let origin = ContinuousClock.now

        init(answerMs: Double) { self.answerMs = answerMs }

        func invoke(_ arrival: Arrival) async -> RequestResult {
            started.withLock { $0.append(Double((clock.now - origin).components.attoseconds) / 1e18 + Double((clock.now - origin).components.seconds)) }
            let slow = arrival.offset == 0
            try? await Task.sleep(for: .milliseconds(slow ? 300 : answerMs))
            return RequestResult(kind: arrival.offset.truncatingRemainder(dividingBy: 0.5) == 0 ? .functionError : .success,
                                 cold: slow, billedMs: Int((arrival.durationMs ?? answerMs).rounded(.up)))
        }

        func sample() async -> UsageSample { UsageSample(reservedMB: 256, usedMB: 64, environments: 2) }
    }

    func testArrivalsLeaveOnTimeWhateverTheAnswersBefore() async {
        let trace = Trace(name: "t", arrivals: (0..<10).map { Arrival(offset: Double($0) * 0.05, durationMs: 7) }, span: 0.6)
        let arm = FakeArm(answerMs: 5)
        let record = await Replay.run(trace, on: arm, sampleEvery: 0.05)
        XCTAssertEqual(record.requests.count, 10)
        let starts = arm.started.withLock { $0 }.sorted()
        // The first answer takes 300 ms; the second still leaves about 50 ms in.
        XCTAssertLessThan(starts[1] - starts[0], 0.2, "open loop: the slow first request did not hold back the second")
        XCTAssertEqual(record.requests[0].latency, 0.3, accuracy: 0.15)
        XCTAssertTrue(record.requests.allSatisfy { $0.lag >= 0 && $0.lag < 0.2 })
        XCTAssertGreaterThanOrEqual(record.elapsed, 0.6, "the trace's silent end is waited out")
        XCTAssertGreaterThan(record.samples.count, 5)
    }

    func testTheReportsArithmetic() async {
        let trace = Trace(name: "t", arrivals: (0..<4).map { Arrival(offset: Double($0) * 0.25, durationMs: 7) }, span: 1)
        let record = await Replay.run(trace, on: FakeArm(answerMs: 1), sampleEvery: 0.05)
        let pricing = Pricing()
        let report = ArmReport(arm: .serverless, policy: "fixed", memoryMB: 256, environments: nil, perEnvironment: nil, record: record,
                               speedup: 10, traceSeconds: 10, cpuSeconds: 1.5, pricing: pricing)
        XCTAssertEqual(report.requests, 4)
        XCTAssertEqual(report.functionErrors, 2, "offsets 0 and 0.5")
        XCTAssertEqual(report.coldStarts, 1)
        XCTAssertEqual(report.coldStartShare, 0.25)
        XCTAssertEqual(report.billedDurationMs, 28)
        // Billed GB-seconds are the billed durations times the memory.
        XCTAssertEqual(report.bill.billedGBSeconds ?? 0, 28.0 / 1000 * 256 / 1024, accuracy: 1e-12)
        XCTAssertEqual(report.bill.dollars, 4 / 1e6 * 0.20 + 28.0 / 1000 * 0.25 * 0.0000166667, accuracy: 1e-15)
        // 256 MB held over about a second of replay at 10x: about 2.5 GB-s of trace time.
        XCTAssertEqual(report.reservedGBSeconds, 0.25 * record.elapsed * 10, accuracy: 0.3)
        XCTAssertEqual(report.usedGBSeconds * 4, report.reservedGBSeconds, accuracy: 1e-9)
        XCTAssertEqual(report.timeline.count, 200)
        XCTAssertEqual(report.latencyCDF.count, 101)
        XCTAssertEqual(report.cpuSeconds, 1.5)

        let capacity = ArmReport(arm: .alwaysOn, policy: "always-on", memoryMB: 1769, environments: 2, perEnvironment: 1, record: record,
                                 speedup: 1, traceSeconds: 3600, cpuSeconds: 0, pricing: pricing)
        XCTAssertEqual(capacity.bill.dollars, 2 * (0.04048 + 1769.0 / 1024 * 0.004445), accuracy: 1e-12, "two 1-vCPU environments for an hour")
        XCTAssertEqual(capacity.bill.heldVCPUHours ?? 0, 2, accuracy: 1e-9)
    }

    func testPercentilesAreNearestRank() {
        let values = (1...1000).map(Double.init)
        XCTAssertEqual(ArmReport.percentile(values, 50), 500)
        XCTAssertEqual(ArmReport.percentile(values, 99), 990)
        XCTAssertEqual(ArmReport.percentile(values, 99.9), 999)
        XCTAssertEqual(ArmReport.percentile(values, 100), 1000)
        XCTAssertEqual(ArmReport.percentile([4], 0), 4)
    }

    func testSizingServesThePeakWithinTheWait() {
        // 20 a second of 100 ms each: 2 Erlangs; more than two environments, and more for a tighter wait.
        let loose = Sizing.environments(peakPerSecond: 20, meanDurationSeconds: 0.1, targetWait: 0.5)
        let tight = Sizing.environments(peakPerSecond: 20, meanDurationSeconds: 0.1, targetWait: 0.01)
        XCTAssertGreaterThan(loose, 2)
        XCTAssertGreaterThan(tight, loose)
        XCTAssertEqual(Sizing.environments(peakPerSecond: 0, meanDurationSeconds: 0.1, targetWait: 0.05), 1)
        XCTAssertEqual(Sizing.erlangC(servers: 1, load: 0.5), 0.5, accuracy: 1e-12, "M/M/1 waits with probability rho")
        XCTAssertEqual(Sizing.waitP99(servers: 2, load: 2, meanDuration: 0.1), .infinity, "a saturated pool never catches up")
    }

    func testSizingCountsEachEnvironmentsPlaces() {
        // 200 a second of 100 ms: 20 Erlangs; with 8 places an environment, a quarter as many environments and a little less.
        let servers = Sizing.servers(peakPerSecond: 200, meanDurationSeconds: 0.1, targetWait: 0.05, limit: 10_000)
        XCTAssertGreaterThan(servers, 20)
        XCTAssertEqual(Sizing.environments(peakPerSecond: 200, meanDurationSeconds: 0.1, targetWait: 0.05), servers)
        XCTAssertEqual(Sizing.environments(peakPerSecond: 200, meanDurationSeconds: 0.1, targetWait: 0.05, perEnvironment: 8), (servers + 7) / 8)
        XCTAssertEqual(Sizing.environments(peakPerSecond: 200, meanDurationSeconds: 0.1, targetWait: 0.05, perEnvironment: 32), 1)
    }

    func testBreakEvenIsWhereTheBillsMeet() {
        let pricing = Pricing()
        let rate = pricing.breakEvenPerSecond(environments: 3, memoryMB: 512, meanBilledMs: 40) ?? 0
        let hour = 3600.0
        let lambda = pricing.lambda(requests: Int(rate * hour), billedMs: Int(rate * hour * 40), memoryMB: 512)
        XCTAssertEqual(lambda, pricing.capacity(environments: 3, memoryMB: 512, seconds: hour), accuracy: lambda * 0.001)
    }

    func testTheHTMLReportIsSelfContainedAndEscaped() async {
        let trace = Trace(name: "<script>alert(1)</script>", arrivals: [Arrival(offset: 0), Arrival(offset: 0.1)], span: 0.2)
        let record = await Replay.run(trace, on: FakeArm(answerMs: 1), sampleEvery: 0.05)
        let arm = { (kind: ArmReport.Kind) in
            ArmReport(arm: kind, policy: "fixed", memoryMB: 128, environments: kind == .alwaysOn ? 1 : nil, perEnvironment: 1, record: record,
                      speedup: 1, traceSeconds: 0.2, cpuSeconds: 0, pricing: Pricing())
        }
        let plan = ComparisonPlan(function: "f&g", memoryMB: 128, trace: trace, replayPeakPerSecond: 2, speedup: 1, keepAlivePolicy: "fixed",
                                  idleTimeoutSeconds: 600, environments: 1, perEnvironment: 1, sizing: "as given", pricing: Pricing())
        let html = Comparison(plan: plan, serverless: arm(.serverless), alwaysOn: arm(.alwaysOn)).html()
        XCTAssertFalse(html.contains("<script"), "no script, and the trace's name escaped")
        XCTAssertTrue(html.contains("&lt;script&gt;"))
        XCTAssertTrue(html.contains("f&amp;g"))
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, 4)
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "nothing fetched")
    }
}
