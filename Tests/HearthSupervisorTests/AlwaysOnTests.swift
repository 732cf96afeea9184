import Foundation
import HearthModel
@testable import HearthRegistry
@testable import HearthSupervisor
import XCTest

/// Always-on environments (what `hearth compare`'s always-on arm runs): started up front, never
/// retired or evicted, replaced when one dies; invocations queue for them in order instead of starting more.
extension SchedulerTests {
    func testAlwaysOnEnvironmentsStartUpFrontAndServeWarm() async throws {
        let bed = try makeBed(idleTimeout: 60) { $0.put("f") }
        try await bed.scheduler.keepAlwaysOn(FunctionReference(name: "f", qualifier: nil), environments: 3)
        XCTAssertEqual(bed.launcher.launched("f").count, 3)
        for _ in 0..<5 {
            let outcome = try await bed.invoke("f")
            XCTAssertFalse(outcome.coldStart)
        }
        bed.clock.advance(3600)
        await bed.scheduler.retireIdle()
        XCTAssertTrue(bed.launcher.launched("f").allSatisfy { !$0.destroyed }, "never retired")
        XCTAssertEqual(bed.launcher.launched("f").count, 3)
    }

    func testInvocationsQueueForABusyAlwaysOnEnvironmentInOrder() async throws {
        let bed = try makeBed { $0.put("f") }
        let gate = Gate()
        bed.launcher.behave("f", .hold(gate))  // the environment's every invocation waits for the gate
        try await bed.scheduler.keepAlwaysOn(FunctionReference(name: "f", qualifier: nil), environments: 1)
        let first = Task { () async throws -> InvokeOutcome in try await bed.invoke("f") }
        await eventually("the first runs") { bed.launcher.launched("f")[0].invocations == 1 }
        // Two more arrive while the only environment is busy: they wait, nothing new starts.
        let order = OrderLog()
        let second = Task { let o = try await bed.invoke("f"); await order.add(2); return o }
        try await Task.sleep(for: .milliseconds(10))
        let third = Task { let o = try await bed.invoke("f"); await order.add(3); return o }
        try await Task.sleep(for: .milliseconds(10))
        XCTAssertEqual(bed.launcher.launched("f").count, 1, "no cold start for an always-on pool")
        gate.open()
        _ = try await first.value
        let (b, c) = (try await second.value, try await third.value)
        XCTAssertFalse(b.coldStart || c.coldStart)
        let seen = await order.items
        XCTAssertEqual(seen, [2, 3], "served in order of arrival")
    }

    func testAnAlwaysOnEnvironmentThatDiesIsReplacedAndIsNeverEvicted() async throws {
        let bed = try makeBed(budgetMB: 256) {
            $0.put("f", memoryMB: 128)
            $0.put("g", memoryMB: 256)
        }
        try await bed.scheduler.keepAlwaysOn(FunctionReference(name: "f", qualifier: nil), environments: 1)
        bed.launcher.launched("f")[0].die()
        _ = try await bed.invoke("f")
        await eventually("replaced") { bed.launcher.launched("f").filter { !$0.destroyed }.count == 1 }
        XCTAssertEqual(bed.launcher.launched("f").count, 2)
        await assertThrottled(reason: "ConcurrentInvocationLimitExceeded") { () throws(ServiceError) in _ = try await bed.invoke("g") }
        XCTAssertEqual(bed.launcher.launched("f").filter { !$0.destroyed }.count, 1, "not evicted for another function")
    }

    func testWaitingInvocationsEndWhenTheDaemonStops() async throws {
        let bed = try makeBed { $0.put("f") }
        let gate = Gate()
        bed.launcher.behave("f", .hold(gate))
        try await bed.scheduler.keepAlwaysOn(FunctionReference(name: "f", qualifier: nil), environments: 1)
        let busy = Task { () async throws -> InvokeOutcome in try await bed.invoke("f") }
        await eventually("the first runs") { bed.launcher.launched("f")[0].invocations == 1 }
        let waiting = Task { () async throws -> InvokeOutcome in try await bed.invoke("f") }
        try await Task.sleep(for: .milliseconds(10))
        let stop = Task { await bed.scheduler.shutdown() }
        do {
            _ = try await waiting.value
            XCTFail("a waiting invocation ran after shutdown")
        } catch {
            XCTAssertTrue("\(error)".contains("stopping"), "\(error)")
        }
        gate.open()
        _ = try? await busy.value
        await stop.value
    }

    func testAnAlwaysOnInitFailureIsReportedAndNotRetried() async throws {
        let bed = try makeBed { $0.put("f") }
        bed.launcher.failInit("f")
        do {
            try await bed.scheduler.keepAlwaysOn(FunctionReference(name: "f", qualifier: nil), environments: 2)
            XCTFail("started")
        } catch {
            XCTAssertTrue("\(error)".contains("init failed"), "\(error)")
        }
        try await Task.sleep(for: .milliseconds(10))
        XCTAssertEqual(bed.launcher.launched("f").count, 1)
    }
}

actor OrderLog {
    var items: [Int] = []
    func add(_ item: Int) { items.append(item) }
}
