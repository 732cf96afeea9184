import Foundation
import HearthEvents
import HearthLogs
import HearthModel
@testable import HearthRegistry
@testable import HearthSupervisor
import XCTest

/// The supervisor's management path with a fake registry and launcher: a change is made in the registry
/// first, and only a change that was made reaches the scheduler's pools.
final class SupervisorTests: XCTestCase {
    private var directories: [String] = []

    override func tearDown() {
        for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
    }

    func makeSupervisor(removalDelay: TimeInterval = 0.02) throws -> (Supervisor, FakeFunctionRegistry, FakeLauncher) {
        let directory = NSTemporaryDirectory() + "hearth-supervisor-" + UUID().uuidString
        directories.append(directory)
        let registry = FakeFunctionRegistry(), launcher = FakeLauncher()
        registry.records.put("f", memoryMB: 128, revision: "r1")
        var options = SupervisorOptions(memoryBudgetMB: 4096)
        options.sandboxUIDs = 50_000..<50_100
        let supervisor = try Supervisor(registry: registry, launcher: launcher, logs: try FunctionLogs(directory: directory),
                                        metrics: Metrics(), options: options)
        return (supervisor, registry, launcher)
    }

    func invoke(_ supervisor: Supervisor) async throws(ServiceError) -> InvokeOutcome {
        try await supervisor.invoke(FunctionReference(name: "f", qualifier: nil), requestId: UUID().uuidString, payload: [], clientContext: nil)
    }

    func testAConfigurationChangeDrainsTheOldSandboxes() async throws {
        let (supervisor, _, launcher) = try makeSupervisor()
        _ = try await invoke(supervisor)
        var settings = FunctionSettings()
        settings.memorySize = 512
        let record = try await supervisor.updateFunctionConfiguration("f", settings: settings, revisionId: nil)
        XCTAssertEqual(record.memorySize, 512)
        await eventually("the old sandbox drained") { launcher.launched[0].destroyed }
        let next = try await invoke(supervisor)
        XCTAssertTrue(next.coldStart)
        XCTAssertEqual(launcher.launched.last?.function.spec.limits.memoryMB, 512)
    }

    func testAChangeTheRegistryRefusesLeavesThePoolsAlone() async throws {
        let (supervisor, registry, launcher) = try makeSupervisor()
        _ = try await invoke(supervisor)
        registry.failChanges(with: .conflict("The revision ID provided does not match the latest revision ID"))
        do {
            _ = try await supervisor.updateFunctionConfiguration("f", settings: FunctionSettings(), revisionId: "old")
            XCTFail("the registry refused the change")
        } catch {
            XCTAssertEqual(error.status, 409)
        }
        do {
            try await supervisor.putReservedConcurrency("f", 0)
            XCTFail("the registry refused the change")
        } catch {
            XCTAssertEqual(error.status, 409)
        }
        XCTAssertFalse(launcher.launched[0].destroyed, "nothing drained")
        let next = try await invoke(supervisor)
        XCTAssertFalse(next.coldStart, "not throttled, and the warm sandbox is still used")
    }

    func testReservedConcurrencyTakesEffectOnceStored() async throws {
        let (supervisor, _, _) = try makeSupervisor()
        try await supervisor.putReservedConcurrency("f", 0)
        await assertThrottled(reason: "ReservedFunctionConcurrentInvocationLimitExceeded") { () throws(ServiceError) in
            _ = try await invoke(supervisor)
        }
        try await supervisor.deleteReservedConcurrency("f")
        _ = try await invoke(supervisor)
    }

    func testADeletedFunctionsSandboxesGo() async throws {
        let (supervisor, _, launcher) = try makeSupervisor()
        _ = try await invoke(supervisor)
        try await supervisor.deleteFunction(FunctionReference(name: "f", qualifier: nil))
        XCTAssertTrue(launcher.launched[0].destroyed)
        await assertThrows { () throws(ServiceError) in _ = try await invoke(supervisor) }
        let status = await supervisor.status()
        XCTAssertTrue(status.pools.isEmpty)
        XCTAssertEqual(status.functions, 0)
    }
}

/// The durable queue wired to the scheduler, with the fake launcher and a real queue file: an event runs
/// through admission like any Invoke, a failing one is retried (delays scaled down) and then kept.
final class SupervisorEventTests: XCTestCase {
    private var directory = ""

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func makeSupervisor(removalDelay: TimeInterval = 0.02) throws -> (Supervisor, FakeFunctionRegistry, FakeLauncher) {
        directory = NSTemporaryDirectory() + "hearth-supervisor-events-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let registry = FakeFunctionRegistry(), launcher = FakeLauncher()
        registry.records.put("f", memoryMB: 128, revision: "r1")
        registry.records.put("audit", memoryMB: 128, revision: "r1")
        var options = SupervisorOptions(memoryBudgetMB: 4096)
        options.sandboxUIDs = 50_000..<50_100
        options.asyncDelayScale = 0.0001
        let supervisor = try Supervisor(registry: registry, launcher: launcher, logs: try FunctionLogs(directory: directory + "/logs"),
                                        metrics: Metrics(), options: options, eventStore: try SQLiteEventStore(path: directory + "/events.db", removalDelay: removalDelay))
        return (supervisor, registry, launcher)
    }

    func invocations(_ launcher: FakeLauncher, _ function: String) -> Int {
        launcher.launched.filter { $0.function.name == function }.map(\.invocations).reduce(0, +)
    }

    /// A succeeded event's removal waits for a later write; a graceful shutdown writes it, so the next
    /// daemon does not run the event again (removals held for a minute here: only the shutdown writes them).
    func testAGracefulShutdownWritesTheRemovalsOfEventsThatRan() async throws {
        let (supervisor, _, launcher) = try makeSupervisor(removalDelay: 60)
        try await supervisor.start()
        try await supervisor.enqueueEvent(FunctionReference(name: "f"), requestId: "req-1", payload: Array("{}".utf8))
        await eventually("the event ran") { invocations(launcher, "f") == 1 }
        try await Task.sleep(nanoseconds: 50_000_000)
        await supervisor.shutdown()
        let next = try SQLiteEventStore(path: directory + "/events.db")
        let left = try await next.queuedEvents()
        XCTAssertEqual(left, [], "the next daemon finds nothing to run again")
    }

    func testAFailingEventIsTriedThreeTimesThenReachesItsOnFailureFunction() async throws {
        let (supervisor, registry, launcher) = try makeSupervisor()
        launcher.behave("f", .fail)
        _ = try registry.putEventInvokeConfig(FunctionReference(name: "f"), EventInvokeConfigChange(onFailure: .some(LambdaARN.function("audit", region: "us-east-1"))),
                                              replace: true)
        try await supervisor.start()
        try await supervisor.enqueueEvent(FunctionReference(name: "f"), requestId: "req-1", payload: Array(#"{"n":1}"#.utf8))
        await eventually("the failure record reached audit") { invocations(launcher, "audit") == 1 }
        XCTAssertEqual(invocations(launcher, "f"), 3)
        let failures = try await supervisor.eventFailures("f")
        XCTAssertEqual(failures, [], "delivered to a destination, not kept")
        let metrics = await supervisor.metricsText()
        XCTAssertTrue(metrics.contains(#"hearth_async_failures_total{function="f",condition="RetriesExhausted"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"hearth_async_retries_total{function="f"} 2"#), metrics)
        XCTAssertTrue(metrics.contains(#"hearth_async_events_accepted_total{function="f"} 1"#), metrics)
        await supervisor.shutdown()
    }

    func testEventsToAFunctionWithReservedConcurrencyOneAllRunOnce() async throws {
        let (supervisor, _, launcher) = try makeSupervisor()
        try await supervisor.putReservedConcurrency("f", 1)
        let gate = Gate()
        launcher.behave("f", .hold(gate))
        try await supervisor.start()
        for i in 0..<5 {
            try await supervisor.enqueueEvent(FunctionReference(name: "f"), requestId: "req-\(i)", payload: Array("{}".utf8))
        }
        await eventually("one runs") { invocations(launcher, "f") == 1 }
        // Each accepted event is taken up by the dispatcher just after its commit: the last may still be on its way.
        await eventually("the other four wait") { await supervisor.queueStats()?.queued["f"] == 4 }
        let stats = await supervisor.queueStats()
        XCTAssertEqual(stats?.running, 1)
        XCTAssertEqual(stats?.queued["f"], 4)
        gate.open()
        await eventually("all five ran") { invocations(launcher, "f") == 5 }
        await eventually("the queue is empty") { await supervisor.queueStats()?.queued.isEmpty == true }
        XCTAssertEqual(invocations(launcher, "f"), 5, "each event ran once")
        await supervisor.shutdown()
    }

    func testAnEventOfAFunctionWithReservedConcurrencyZeroIsKeptAsAFailureWithoutRunning() async throws {
        let (supervisor, _, launcher) = try makeSupervisor()
        try await supervisor.putReservedConcurrency("f", 0)
        try await supervisor.start()
        try await supervisor.enqueueEvent(FunctionReference(name: "f"), requestId: "req-0", payload: Array("{}".utf8))
        await eventually("kept as a failure") { ((try? await supervisor.eventFailures("f")) ?? []).count == 1 }
        XCTAssertEqual(invocations(launcher, "f"), 0)
        let deleted = try await supervisor.settleFailures("f", ids: nil, redrive: false)
        XCTAssertEqual(deleted, 1)
        let left = try await supervisor.eventFailures("f")
        XCTAssertEqual(left, [])
        await supervisor.shutdown()
    }
}
