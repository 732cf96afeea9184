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

/// Always-on environments that each run several invocations at once (AWS_LAMBDA_MAX_CONCURRENCY), behind
/// a least-loaded balancer.
extension SchedulerTests {
    func testEachAlwaysOnEnvironmentRunsUpToItsConcurrencyAndTheLeastLoadedTakesTheNext() async throws {
        let bed = try makeBed { $0.put("f") }
        let gate = Gate()
        bed.launcher.behave("f", .hold(gate))
        try await bed.scheduler.keepAlwaysOn(FunctionReference(name: "f", qualifier: nil), environments: 2, perEnvironment: 3)
        let envs = bed.launcher.launched("f")
        XCTAssertEqual(envs.count, 2)
        for env in envs {
            XCTAssertEqual(env.function.maxConcurrency, 3)
            let variables = Dictionary(env.function.spec.environment, uniquingKeysWith: { $1 })
            XCTAssertEqual(variables["AWS_LAMBDA_MAX_CONCURRENCY"], "3", "the runtime is told how many workers to run")
            XCTAssertEqual(variables["AWS_LAMBDA_INITIALIZATION_TYPE"], "lambda-managed-instances")
        }
        var running: [Task<InvokeOutcome, any Error>] = []
        for expected in [(1, 0), (1, 1), (2, 1), (2, 2), (3, 2)] {
            running.append(Task { try await bed.invoke("f") })
            await eventually("balanced as \(expected)") { (envs[0].running, envs[1].running) == expected }
        }
        XCTAssertEqual([envs[0].running, envs[1].running], [3, 2], "the least loaded took each, the first of equals first")
        running.append(Task { try await bed.invoke("f") })
        await eventually("both full") { envs[1].running == 3 }
        // Six places, six invocations: the seventh waits for a place instead of starting an environment.
        let seventh = Task { try await bed.invoke("f") }
        try await Task.sleep(for: .milliseconds(20))
        XCTAssertEqual(envs[0].invocations + envs[1].invocations, 6)
        XCTAssertEqual(bed.launcher.launched("f").count, 2)
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.pools.first?.busy, 2, "environments in use, not invocations")
        gate.open()
        for task in running + [seventh] {
            let outcome = try await task.value
            XCTAssertFalse(outcome.coldStart)
        }
        XCTAssertEqual(envs[0].invocations + envs[1].invocations, 7)
        let idle = await bed.scheduler.status()
        XCTAssertEqual(idle.pools.first?.idle, 2)
        XCTAssertEqual(idle.pools.first?.busy, 0)
    }

    /// A timeout cannot stop one invocation without its siblings in the same runtime: the environment
    /// takes no more and is replaced once its other invocations are over.
    func testATimeoutRetiresASharedEnvironmentWhichIsReplaced() async throws {
        let bed = try makeBed { $0.put("f") }
        bed.launcher.behave("f", .timeOut)
        try await bed.scheduler.keepAlwaysOn(FunctionReference(name: "f", qualifier: nil), environments: 1, perEnvironment: 2)
        let outcome = try await bed.invoke("f")
        XCTAssertEqual(outcome.result.end, .platform(.timedOut))
        await eventually("replaced") { bed.launcher.launched("f").count == 2 }
        XCTAssertTrue(bed.launcher.launched("f")[0].destroyed)
        XCTAssertFalse(bed.launcher.launched("f")[1].destroyed)
    }

    func testAnAlwaysOnConcurrencyOutsideItsRangeIsRefused() async throws {
        let bed = try makeBed { $0.put("f") }
        for bad in [0, 33] {
            do {
                try await bed.scheduler.keepAlwaysOn(FunctionReference(name: "f", qualifier: nil), environments: 1, perEnvironment: bad)
                XCTFail("\(bad) accepted")
            } catch {
                XCTAssertTrue("\(error)".contains("1 to 32 invocations at once, not \(bad)"), "\(error)")
            }
        }
        XCTAssertTrue(bed.launcher.launched("f").isEmpty)
    }
}
