import Foundation
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

    func makeSupervisor() throws -> (Supervisor, FakeFunctionRegistry, FakeLauncher) {
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
