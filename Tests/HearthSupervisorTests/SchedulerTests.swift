import Foundation
import HearthLogs
import HearthModel
import HearthState
import NIOCore
import NIOEmbedded
import Synchronization
@testable import HearthRegistry
@testable import HearthSupervisor
import XCTest

/// The scheduler's rules, with a fake registry, launcher and clock: warm reuse and loop affinity,
/// reserved and account concurrency with Lambda's 429 reasons, the memory budget's LRU eviction, the
/// idle timeout, drains, environments that die, provisioned concurrency and the uid block. Each test
/// names the rule it guards; none needs root or a sandbox.
final class SchedulerTests: XCTestCase {
    final class CurrentLoop: Sendable {
        let loop = Mutex<(any EventLoop)?>(nil)
    }

    struct Bed {
        let registry: FakeRegistry
        let launcher: FakeLauncher
        let clock: FakeClock
        let current: CurrentLoop
        let scheduler: Scheduler

        func invoke(_ name: String, _ qualifier: String? = nil) async throws(ServiceError) -> InvokeOutcome {
            try await scheduler.invoke(FunctionReference(name: name, qualifier: qualifier), requestId: UUID().uuidString,
                                       payload: Array(name.utf8), clientContext: nil)
        }

        /// Starts an invocation that stays busy until `gate` opens, and waits until it runs.
        func hold(_ name: String, _ gate: Gate) async throws -> Task<InvokeOutcome, any Error> {
            launcher.behave(name, .hold(gate))
            let before = launcher.launched(name).reduce(0) { $0 + $1.invocations }
            let task = Task { () async throws -> InvokeOutcome in try await invoke(name) }
            await eventually("\(name) running") { launcher.launched(name).reduce(0) { $0 + $1.invocations } > before }
            // Environments started from now on answer: an invocation a broken rule lets through ends (and
            // fails its test) instead of waiting on the gate forever.
            launcher.behave(name, .answer)
            return task
        }
    }

    private var directories: [String] = []

    override func tearDown() {
        for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
    }

    func makeBed(budgetMB: Int = 4096, account: Int = 1000, idleTimeout: Double = 600, uids: UInt32 = 100,
                 keepAlive: KeepAlivePolicy = .fixed, configure: (FakeRegistry) -> Void = { _ in }) throws -> Bed {
        let directory = NSTemporaryDirectory() + "hearth-scheduler-" + UUID().uuidString
        directories.append(directory)
        var options = SupervisorOptions(memoryBudgetMB: budgetMB)
        options.accountConcurrency = account
        options.idleTimeoutSeconds = idleTimeout
        options.keepAlive = keepAlive
        options.sandboxUIDs = 50_000..<(50_000 + uids)
        let registry = FakeRegistry(), launcher = FakeLauncher(), clock = FakeClock(), current = CurrentLoop()
        configure(registry)
        // Reserved concurrency is read once, at the start: the real scheduler is made after the registry is filled.
        return Bed(registry: registry, launcher: launcher, clock: clock, current: current,
                   scheduler: try Scheduler(lookup: registry, launcher: launcher, logs: try FunctionLogs(directory: directory),
                                            metrics: Metrics(), options: options, clock: clock,
                                            currentLoop: { current.loop.withLock { $0 } }))
    }

    // MARK: warm reuse

    func testAnIdleEnvironmentIsReusedBeforeANewOneStarts() async throws {
        let bed = try makeBed { $0.put("f") }
        let first = try await bed.invoke("f")
        let second = try await bed.invoke("f")
        XCTAssertTrue(first.coldStart)
        XCTAssertFalse(second.coldStart)
        XCTAssertEqual(bed.launcher.launched.count, 1, "the second invocation reuses the first one's environment")
        XCTAssertEqual(bed.launcher.builds, 1, "a revision is built once")
        XCTAssertNotNil(first.result.report.initDurationMs, "a cold start's REPORT has Init Duration")
        XCTAssertNil(second.result.report.initDurationMs)
        XCTAssertEqual(second.executedVersion, "$LATEST")
    }

    /// The runtime's invoked function ARN carries the qualifier the caller named (none, $LATEST, a version).
    func testTheQualifierTheCallerNamedReachesTheEnvironment() async throws {
        let bed = try makeBed {
            $0.put("f")
            _ = $0.put("f", version: "1")
        }
        _ = try await bed.invoke("f")
        _ = try await bed.invoke("f", "$LATEST")
        _ = try await bed.invoke("f", "1")
        XCTAssertEqual(bed.launcher.launched.flatMap { $0.qualifiers.withLock { $0 } }, [nil, "$LATEST", "1"])
    }

    func testConcurrentInvocationsGetAnEnvironmentEach() async throws {
        let bed = try makeBed { $0.put("f") }
        let gate = Gate()
        let a = try await bed.hold("f", gate)
        let b = try await bed.hold("f", gate)
        XCTAssertEqual(bed.launcher.launched.count, 2, "one invocation per environment at a time")
        gate.open()
        _ = try await (a.value, b.value)
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.pools.first?.idle, 2)
        XCTAssertEqual(status.busy, 0)
    }

    func testAnIdleEnvironmentServedOnTheCallersEventLoopIsPreferred() async throws {
        let loops = [EmbeddedEventLoop(), EmbeddedEventLoop()]
        let bed = try makeBed { $0.put("f") }
        bed.launcher.assignLoops(loops)
        let gate = Gate()
        let a = try await bed.hold("f", gate)
        let b = try await bed.hold("f", gate)
        gate.open()
        _ = try await (a.value, b.value)
        let onFirst = bed.launcher.launched[0], onSecond = bed.launcher.launched[1]
        // The most recently used environment is onSecond; a caller on the first loop still gets onFirst.
        bed.current.loop.withLock { $0 = loops[0] }
        _ = try await bed.invoke("f")
        _ = try await bed.invoke("f")
        XCTAssertEqual(onFirst.invocations, 3)
        XCTAssertEqual(onSecond.invocations, 1)
        bed.current.loop.withLock { $0 = loops[1] }
        _ = try await bed.invoke("f")
        XCTAssertEqual(onSecond.invocations, 2)
    }

    // MARK: concurrency limits

    func testReservedConcurrencyRefusesWithItsReason() async throws {
        let bed = try makeBed {
            $0.put("f")
            $0.reserve("f", 1)
        }
        let gate = Gate()
        let running = try await bed.hold("f", gate)
        await assertThrottled(reason: "ReservedFunctionConcurrentInvocationLimitExceeded") { () throws(ServiceError) in
            _ = try await bed.invoke("f")
        }
        gate.open()
        _ = try await running.value
        let after = try await bed.invoke("f")
        XCTAssertFalse(after.coldStart, "the slot is free again once the invocation ends")
    }

    func testReservedConcurrencyZeroRefusesEveryInvocation() async throws {
        let bed = try makeBed {
            $0.put("f")
            $0.reserve("f", 0)
        }
        await assertThrottled(reason: "ReservedFunctionConcurrentInvocationLimitExceeded") { () throws(ServiceError) in
            _ = try await bed.invoke("f")
        }
        XCTAssertTrue(bed.launcher.launched.isEmpty)
    }

    func testUnreservedFunctionsShareWhatReservationsLeaveOfTheAccount() async throws {
        // Account 3, g reserves 2: unreserved functions share 1, even while g runs nothing.
        let bed = try makeBed(account: 3) {
            $0.put("f")
            $0.put("h")
            $0.put("g")
            $0.reserve("g", 2)
        }
        let gate = Gate()
        let running = try await bed.hold("f", gate)
        await assertThrottled(reason: "ConcurrentInvocationLimitExceeded") { () throws(ServiceError) in _ = try await bed.invoke("h") }
        await assertThrottled(reason: "ConcurrentInvocationLimitExceeded") { () throws(ServiceError) in _ = try await bed.invoke("f") }
        // g's reservation is its own.
        let g1 = try await bed.hold("g", gate)
        let g2 = try await bed.hold("g", gate)
        gate.open()
        _ = try await (running.value, g1.value, g2.value)
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.busy, 0, "every admitted invocation was counted out")
    }

    func testReservedConcurrencyChangedAtRunTimeApplies() async throws {
        let bed = try makeBed { $0.put("f") }
        await bed.scheduler.setReserved("f", 0)
        await assertThrottled(reason: "ReservedFunctionConcurrentInvocationLimitExceeded") { () throws(ServiceError) in
            _ = try await bed.invoke("f")
        }
        await bed.scheduler.setReserved("f", nil)
        _ = try await bed.invoke("f")
    }

    // MARK: memory budget

    func testTheBudgetEvictsTheLeastRecentlyUsedIdleEnvironment() async throws {
        let bed = try makeBed(budgetMB: 256) {
            $0.put("a")
            $0.put("b")
            $0.put("c")
        }
        _ = try await bed.invoke("a")
        bed.clock.advance(1)
        _ = try await bed.invoke("b")
        bed.clock.advance(1)
        _ = try await bed.invoke("a")  // a is now the most recently used
        bed.clock.advance(1)
        _ = try await bed.invoke("c")  // the budget holds two: b goes
        let a = bed.launcher.launched("a"), b = bed.launcher.launched("b")
        await eventually("b torn down") { b[0].destroyed }
        XCTAssertFalse(a[0].destroyed, "the more recently used environment stays")
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.liveMemoryMB, 256)
        XCTAssertEqual(Set(status.pools.filter { $0.idle > 0 }.map(\.function)), ["a", "c"])
    }

    func testABudgetTakenByBusyEnvironmentsRefuses() async throws {
        let bed = try makeBed(budgetMB: 256) {
            $0.put("a", memoryMB: 128)
            $0.put("b", memoryMB: 256)
        }
        let gate = Gate()
        let running = try await bed.hold("a", gate)
        do {
            _ = try await bed.invoke("b")
            XCTFail("b does not fit beside a busy a")
        } catch {
            XCTAssertEqual(error.status, 429)
            XCTAssertEqual(error.reason, "ConcurrentInvocationLimitExceeded")
            XCTAssertTrue(error.message.contains("memory budget (256 MB)"), error.message)
        }
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.liveMemoryMB, 128, "the refused start's reservation was given back")
        gate.open()
        _ = try await running.value
        _ = try await bed.invoke("b")  // now a is idle and is evicted
        await eventually("a evicted") { bed.launcher.launched("a")[0].destroyed }
    }

    func testProvisionedEnvironmentsAreNeverEvicted() async throws {
        let bed = try makeBed(budgetMB: 256) {
            $0.put("p", version: "1")
            $0.put("q")
            $0.provision("p", qualifier: "1", count: 2)
        }
        await bed.scheduler.reconcileProvisioned()
        await assertThrottled(reason: "ConcurrentInvocationLimitExceeded") { () throws(ServiceError) in _ = try await bed.invoke("q") }
        XCTAssertTrue(bed.launcher.launched("p").allSatisfy { !$0.destroyed })
    }

    // MARK: idle timeout

    func testIdleEnvironmentsRetireAfterTheIdleTimeout() async throws {
        let bed = try makeBed(idleTimeout: 600) { $0.put("f") }
        _ = try await bed.invoke("f")
        let env = bed.launcher.launched[0]
        bed.clock.advance(599)
        await bed.scheduler.retireIdle()
        XCTAssertFalse(env.destroyed, "not idle long enough")
        _ = try await bed.invoke("f")  // used again: its idle time starts over
        bed.clock.advance(599)
        await bed.scheduler.retireIdle()
        XCTAssertFalse(env.destroyed, "a use resets the idle time")
        bed.clock.advance(2)
        await bed.scheduler.retireIdle()
        XCTAssertTrue(env.destroyed)
        let status = await bed.scheduler.status()
        XCTAssertTrue(status.pools.isEmpty, "an empty pool is forgotten")
        XCTAssertEqual(status.liveMemoryMB, 0)
    }

    /// The idle sweep runs while a function's first sandbox is still being built (its runtime image
    /// imported): the pool must outlive it, or the new sandbox is thrown away after its first answer and
    /// the next invocation starts cold again (seen once in CI as a freeze test whose second invocation
    /// landed in a new sandbox).
    func testTheIdleSweepDuringAFirstStartKeepsThePool() async throws {
        let bed = try makeBed()
        bed.registry.put("f")
        let gate = Gate()
        bed.launcher.holdBuilds(gate)
        let first = Task { () async throws -> InvokeOutcome in try await bed.invoke("f") }
        await eventually("the build began") { bed.launcher.buildsBegun == 1 }
        await bed.scheduler.retireIdle()
        gate.open()
        let cold = try await first.value
        XCTAssertTrue(cold.coldStart)
        let warm = try await bed.invoke("f")
        XCTAssertFalse(warm.coldStart, "the second invocation reuses the first sandbox")
        XCTAssertEqual(bed.launcher.launched("f").count, 1)
    }

    func testAReloadChangesTheIdleTimeoutAndTheMemoryBudgetAtOnce() async throws {
        let bed = try makeBed(budgetMB: 512, idleTimeout: 600) {
            $0.put("a", memoryMB: 128)
            $0.put("b", memoryMB: 128)
            $0.put("c", memoryMB: 128)
        }
        _ = try await bed.invoke("a")
        bed.clock.advance(1)
        _ = try await bed.invoke("b")
        await bed.scheduler.reload(idleTimeoutSeconds: 10, keepAlive: .fixed, memoryBudgetMB: 256)
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.memoryBudgetMB, 256)
        // 256 live and a budget of 256: c's start makes room by evicting the least recently used, a.
        bed.clock.advance(1)
        _ = try await bed.invoke("c")
        await eventually("a evicted") { bed.launcher.launched("a")[0].destroyed }
        XCTAssertFalse(bed.launcher.launched("b")[0].destroyed)
        // The new idle timeout: what is idle retires after 10 s, not 600.
        bed.clock.advance(11)
        await bed.scheduler.retireIdle()
        XCTAssertTrue(bed.launcher.launched.allSatisfy(\.destroyed))
    }

    // MARK: drains and dead environments

    func testAnUpdateDrainsIdleEnvironmentsNowAndBusyOnesWhenTheyFinish() async throws {
        let bed = try makeBed { $0.put("f", revision: "r1") }
        let gate = Gate()
        let busy = try await bed.hold("f", gate)
        _ = try await bed.invoke("f")  // a second, idle environment
        let (busyEnv, idleEnv) = (bed.launcher.launched[0], bed.launcher.launched[1])
        bed.registry.put("f", memoryMB: 256, revision: "r2")
        await bed.scheduler.drainLatest("f")
        await eventually("the idle environment drained") { idleEnv.destroyed }
        XCTAssertFalse(busyEnv.destroyed, "a busy environment finishes its invocation")
        XCTAssertEqual(busyEnv.state, .draining)
        gate.open()
        _ = try await busy.value
        await eventually("the busy environment drained after it finished") { busyEnv.destroyed }
        let next = try await bed.invoke("f")
        XCTAssertTrue(next.coldStart, "the new revision starts fresh")
        XCTAssertEqual(bed.launcher.launched.last?.function.spec.limits.memoryMB, 256)
        XCTAssertEqual(bed.launcher.builds, 2, "the new revision is built")
    }

    func testARuntimeThatDiedWhileIdleIsReplaced() async throws {
        let bed = try makeBed { $0.put("f") }
        _ = try await bed.invoke("f")
        let dead = bed.launcher.launched[0]
        dead.die()
        let next = try await bed.invoke("f")
        XCTAssertTrue(next.coldStart)
        XCTAssertEqual(dead.invocations, 1, "a dead environment is never handed an event")
        await eventually("the dead environment torn down") { dead.destroyed }
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.pools.first?.idle, 1)
        XCTAssertEqual(status.liveMemoryMB, 128)
    }

    func testATimedOutEnvironmentIsNotReused() async throws {
        let bed = try makeBed { $0.put("f") }
        bed.launcher.behave("f", .timeOut)
        let outcome = try await bed.invoke("f")
        XCTAssertEqual(outcome.result.end, .platform(.timedOut))
        await eventually("the timed-out environment torn down") { bed.launcher.launched[0].destroyed }
        bed.launcher.behave("f", .answer)
        let next = try await bed.invoke("f")
        XCTAssertTrue(next.coldStart)
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.liveMemoryMB, 128, "the dead environment's memory was given back")
    }

    func testADeletedFunctionsBusyEnvironmentGoesOnceItsInvocationEnds() async throws {
        let bed = try makeBed { $0.put("f") }
        let gate = Gate()
        let busy = try await bed.hold("f", gate)
        let env = bed.launcher.launched[0]
        await bed.scheduler.forget(FunctionReference(name: "f", qualifier: nil))
        XCTAssertEqual(env.state, .draining)
        XCTAssertFalse(env.destroyed)
        gate.open()
        _ = try await busy.value
        await eventually("the deleted function's environment torn down") { env.destroyed }
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.liveMemoryMB, 0)
    }

    func testADeletedFunctionsEnvironmentsGo() async throws {
        let bed = try makeBed {
            $0.put("f")
            $0.reserve("f", 5)
        }
        _ = try await bed.invoke("f")
        await bed.scheduler.forget(FunctionReference(name: "f", qualifier: nil))
        XCTAssertTrue(bed.launcher.launched[0].destroyed)
        let status = await bed.scheduler.status()
        XCTAssertTrue(status.pools.isEmpty)
        XCTAssertEqual(status.liveMemoryMB, 0)
    }

    // MARK: provisioned concurrency

    func testProvisionedConcurrencyBecomesReadyAndServesWarm() async throws {
        let bed = try makeBed {
            $0.put("f", version: "1")
            $0.provision("f", qualifier: "1", count: 2)
        }
        var state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertEqual(state.available, 0)
        await bed.scheduler.reconcileProvisioned()
        state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertEqual(state.available, 2, "READY: every requested environment is up")
        XCTAssertNil(state.failure)
        XCTAssertTrue(bed.launcher.launched.allSatisfy {
            $0.function.spec.environment.contains { $0 == ("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency") }
        })
        let outcome = try await bed.invoke("f", "1")
        XCTAssertFalse(outcome.coldStart)
        XCTAssertNil(outcome.result.report.initDurationMs, "a provisioned environment's init is not the invocation's")
        XCTAssertEqual(bed.launcher.launched.count, 2)
        // Provisioned environments do not retire when idle.
        bed.clock.advance(10_000)
        await bed.scheduler.retireIdle()
        state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertEqual(state.available, 2)
    }

    func testAProvisionedInitFailureFailsTheConfigurationOnce() async throws {
        let bed = try makeBed {
            $0.put("f", version: "1")
            $0.provision("f", qualifier: "1", count: 3)
        }
        bed.launcher.failInit("f")
        await bed.scheduler.reconcileProvisioned()
        let state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertEqual(state.available, 0)
        XCTAssertEqual(state.failure, "FUNCTION_ERROR_INIT_FAILURE")
        XCTAssertEqual(bed.launcher.launched.count, 1, "the same failure is not started again and again")
        await bed.scheduler.reconcileProvisioned()
        XCTAssertEqual(bed.launcher.launched.count, 1)
        await eventually("the failed environment torn down") { bed.launcher.launched[0].destroyed }
    }

    /// A sandbox that cannot start at all (Hearth's failure, not the function's) fails the configuration
    /// with the reason, rather than leaving it IN_PROGRESS with nothing trying again; putting it again retries.
    func testAProvisionedSandboxThatCannotStartFailsTheConfigurationWithTheReason() async throws {
        let bed = try makeBed {
            $0.put("f", version: "1")
            $0.provision("f", qualifier: "1", count: 2)
        }
        bed.launcher.failLaunches("f")
        await bed.scheduler.reconcileProvisioned()
        var state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertEqual(state.available, 0)
        let failure = try XCTUnwrap(state.failure, "FAILED, not IN_PROGRESS")
        XCTAssertTrue(failure.contains("cannot start a sandbox for f") && failure.contains("no sandbox for f"), failure)
        XCTAssertEqual(bed.launcher.launchesBegun, 1, "the same failure is not started again and again")
        await bed.scheduler.reconcileProvisioned()
        XCTAssertEqual(bed.launcher.launchesBegun, 1)
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.liveMemoryMB, 0, "the failed starts' memory is given back")
        bed.launcher.failLaunches(nil)
        await bed.scheduler.retryProvisioned(function: "f", version: "1")
        await eventually("READY once put again") { await bed.scheduler.provisionedState(function: "f", version: "1").available == 2 }
        state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertNil(state.failure)
    }

    /// Busy sandboxes holding the memory budget are a wait, not a failure: the configuration stays IN_PROGRESS
    /// and is completed by the idle pass once they are done (the idle one is evicted for it).
    func testProvisionedConcurrencyBeyondTheBusyMemoryBudgetIsMadeOnceTheMemoryIsFree() async throws {
        let bed = try makeBed(budgetMB: 256) {
            $0.put("f", version: "1")
            $0.put("g")
        }
        let gate = Gate()
        let busy = try await bed.hold("g", gate)
        bed.registry.provision("f", qualifier: "1", count: 2)
        await bed.scheduler.reconcileProvisioned()
        var state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertEqual(state.available, 1, "one fits beside the busy sandbox")
        XCTAssertNil(state.failure, "IN_PROGRESS")
        await bed.scheduler.retireIdle()
        state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertEqual(state.available, 1, "g is still busy")
        gate.open()
        _ = try await busy.value
        await bed.scheduler.retireIdle()
        await eventually("the second made in g's place") {
            await bed.scheduler.provisionedState(function: "f", version: "1").available == 2
        }
        await eventually("g's idle sandbox evicted for it") { bed.launcher.launched("g")[0].destroyed }
        state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertNil(state.failure)
    }

    /// Every uid of the daemon's block in use is a throttle, like busy memory: IN_PROGRESS, not FAILED.
    func testProvisionedConcurrencyBeyondTheUIDBlockStaysInProgress() async throws {
        let bed = try makeBed(uids: 1) {
            $0.put("f", version: "1")
            $0.provision("f", qualifier: "1", count: 2)
        }
        await bed.scheduler.reconcileProvisioned()
        let state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertEqual(state.available, 1)
        XCTAssertNil(state.failure, "IN_PROGRESS")
    }

    /// Passes that overlap (a put, an idle pass, a provisioned sandbox replaced) start a missing sandbox once.
    func testOverlappingProvisionedPassesStartEachSandboxOnce() async throws {
        let bed = try makeBed {
            $0.put("f", version: "1")
            $0.provision("f", qualifier: "1", count: 1)
        }
        let gate = Gate()
        bed.launcher.holdBuilds(gate)
        let first = Task { await bed.scheduler.reconcileProvisioned() }
        await eventually("the first pass building its sandbox") { bed.launcher.buildsBegun == 1 }
        let second = Task { await bed.scheduler.reconcileProvisioned() }
        try await Task.sleep(nanoseconds: 50_000_000)
        gate.open()
        await first.value
        await second.value
        XCTAssertEqual(bed.launcher.launchesBegun, 1)
        let state = await bed.scheduler.provisionedState(function: "f", version: "1")
        XCTAssertEqual(state.available, 1)
    }

    func testAProvisionedEnvironmentThatDiesIsReplaced() async throws {
        let bed = try makeBed {
            $0.put("f", version: "1")
            $0.provision("f", qualifier: "1", count: 1)
        }
        await bed.scheduler.reconcileProvisioned()
        bed.launcher.launched[0].die()
        let outcome = try await bed.invoke("f", "1")
        XCTAssertTrue(outcome.coldStart, "the dead one is not used")
        await eventually("a replacement is provisioned") {
            let available = await bed.scheduler.provisionedState(function: "f", version: "1").available
            return bed.launcher.launched.count == 3 && available == 1
        }
    }

    // MARK: uids and shutdown

    func testTheUidBlockLimitsLiveEnvironments() async throws {
        let bed = try makeBed(uids: 2) {
            $0.put("f")
            $0.put("g")
        }
        let gate = Gate()
        let a = try await bed.hold("f", gate)
        let b = try await bed.hold("g", gate)
        do {
            _ = try await bed.invoke("f")
            XCTFail("every uid is in use")
        } catch {
            XCTAssertEqual(error.status, 429)
            XCTAssertTrue(error.message.contains("uid"), error.message)
        }
        gate.open()
        _ = try await (a.value, b.value)
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.liveMemoryMB, 256, "the refused start's memory was given back")
    }

    func testShutdownDestroysIdleAndBusyEnvironments() async throws {
        let bed = try makeBed {
            $0.put("f")
            $0.put("g")
        }
        _ = try await bed.invoke("g")
        let gate = Gate()
        let busy = try await bed.hold("f", gate)
        await bed.scheduler.shutdown()
        XCTAssertEqual(bed.launcher.launched.count, 2)
        XCTAssertTrue(bed.launcher.launched.allSatisfy(\.destroyed))
        gate.open()
        _ = try await busy.value
        await assertThrows { () throws(ServiceError) in _ = try await bed.invoke("g") }
        XCTAssertEqual(bed.launcher.launched.count, 2, "nothing starts once shutdown began")
    }

    func testASandboxThatComesUpDuringShutdownIsDestroyedBeforeShutdownReturns() async throws {
        let bed = try makeBed { $0.put("f") }
        let gate = Gate()
        bed.launcher.holdLaunches(gate)
        let invocation = Task { () async -> ServiceError? in
            do throws(ServiceError) {
                _ = try await bed.invoke("f")
                return nil
            } catch {
                return error
            }
        }
        await eventually("the launch began") { bed.launcher.launchesBegun == 1 }
        let stopped = Atomic(false)
        let shutdown = Task {
            await bed.scheduler.shutdown()
            stopped.store(true, ordering: .releasing)
        }
        try await Task.sleep(for: .milliseconds(20))
        XCTAssertFalse(stopped.load(ordering: .acquiring), "shutdown waits for the sandbox being launched")
        gate.open()
        await shutdown.value
        XCTAssertEqual(bed.launcher.launched.count, 1)
        XCTAssertTrue(bed.launcher.launched[0].destroyed, "no sandbox outlives shutdown")
        let refused = await invocation.value
        XCTAssertEqual(refused?.message, "the daemon is stopping")
        let status = await bed.scheduler.status()
        XCTAssertEqual(status.liveMemoryMB, 0)
    }
}

/// Polls (1 ms apart, at most 5 s) for what background teardown makes true.
func eventually(_ what: String, file: StaticString = #filePath, line: UInt = #line, _ condition: () async -> Bool) async {
    for _ in 0..<5000 {
        if await condition() { return }
        try? await Task.sleep(for: .milliseconds(1))
    }
    XCTFail("never happened: \(what)", file: file, line: line)
}

func assertThrottled(reason: String, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () async throws(ServiceError) -> Void) async {
    do {
        try await body()
        XCTFail("not throttled", file: file, line: line)
    } catch {
        XCTAssertEqual(error.status, 429, file: file, line: line)
        XCTAssertEqual(error.reason, reason, file: file, line: line)
    }
}

func assertThrows(file: StaticString = #filePath, line: UInt = #line, _ body: () async throws(ServiceError) -> Void) async {
    do {
        try await body()
        XCTFail("did not throw", file: file, line: line)
    } catch {}
}
