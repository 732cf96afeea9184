import HearthModel
@testable import HearthSupervisor
import XCTest

/// What the launcher does with a function's network choice before any sandbox exists.
final class FunctionNetworkingTests: XCTestCase {
    func instance(_ network: FunctionNetwork?) -> FunctionInstance {
        var instance = FunctionInstance(name: "fetch", spec: SandboxSpec(id: "", layers: ["/images/python3"], command: ["/bootstrap"],
                                                                           limits: ResourceLimits(memoryMB: 128), uid: 0, gid: 0),
                                        timeoutSeconds: 3)
        instance.network = network
        return instance
    }

    func testAFunctionAskingForANetworkOnADaemonWithoutOneIsRefusedSayingWhy() throws {
        XCTAssertThrowsError(try FunctionNetworking.off.plan(for: instance(FunctionNetwork(mode: .restricted)))) { error in
            XCTAssertEqual((error as? ServiceError)?.message, "fetch asks for network mode restricted, and this daemon's network is off (network = off)")
        }
        XCTAssertNil(try FunctionNetworking.off.plan(for: instance(nil)), "the default of a daemon without a network is loopback only")
        XCTAssertNil(try FunctionNetworking.off.plan(for: instance(FunctionNetwork.none)), "mode none needs no bridge")
    }
}
