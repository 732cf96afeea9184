#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthModel
@testable import HearthNetwork
import NIOPosix
import XCTest
@testable import HearthExecution

/// Namespaces attached ahead on a real bridge (root only): made up to the target, taken with the
/// function's allowances applied, not refilled while a start is in flight, and released at shutdown.
final class NetworkSparesTests: XCTestCase {
    private func veths() -> Int {
        ((try? String(contentsOfFile: "/proc/net/dev", encoding: .utf8)) ?? "").split(separator: "\n")
            .filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("hv") }.count
    }

    private func eventually(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    func testSparesAreAttachedAheadTakenWithAllowancesAndReleasedAtShutdown() async throws {
        guard geteuid() == 0 else { throw XCTSkip("the bridge needs root (running as uid \(geteuid()))") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft") else { throw XCTSkip("nft is not installed (scripts/setup installs nftables)") }
        let name = "hbs" + String(UInt16.random(in: 0x1000...0xffff), radix: 16)
        let bridge = try BridgeNetwork(.init(bridge: name, subnet: try XCTUnwrap(IPv4Network("10.217.0.0/24")), dnsServers: ["127.0.0.1"],
                                             forwardingMarker: NSTemporaryDirectory() + name + ".forwarding"))
        try await bridge.start(group: MultiThreadedEventLoopGroup.singleton)
        let vethsBefore = veths()
        let spares = NetworkSpares(bridge: bridge, target: 2)
        do {
            spares.waitUntilFull()
            XCTAssertEqual(spares.count, 2)
            XCTAssertEqual(bridge.addressesLent, 2)
            XCTAssertEqual(veths() - vethsBefore, 2, "a veth per spare")

            // A start in flight: what it takes is not made again until it ends.
            spares.startBegan()
            let allowed = try FunctionNetwork.parse(mode: "internet", allowances: ["db=127.0.0.1:5432"])
            let taken = try XCTUnwrap(try spares.take(allowing: allowed))
            XCTAssertFalse(taken.attachment.lease.elements.withLock { $0 }.isEmpty, "the function's allowance is applied")
            usleep(200_000)
            XCTAssertEqual(spares.count, 1, "no spare is made while a start is in flight")
            spares.startEnded()
            spares.waitUntilFull()
            XCTAssertEqual(spares.count, 2)
            XCTAssertEqual(bridge.addressesLent, 3)

            // The plan takes a spare, and attaches its own once none is ready.
            let plan = NetworkPlan(bridge: bridge, allowed: FunctionNetwork(mode: .internet), spares: spares)
            spares.startBegan()
            let first = try plan.attach(), second = try plan.attach(), third = try plan.attach()
            XCTAssertEqual(spares.count, 0)
            XCTAssertEqual(bridge.addressesLent, 4, "two spares taken, one attached on the spot")
            spares.startEnded()
            for made in [taken, first, second, third] {
                made.attachment.release()
                close(made.fd)
            }
            spares.waitUntilFull()
            spares.shutdown()
            spares.shutdown()
            bridge.settle()
            XCTAssertEqual(bridge.addressesLent, 0, "every address is back")
            XCTAssertEqual(spares.count, 0)
            XCTAssertTrue(eventually(seconds: 10) { veths() == vethsBefore }, "the spares' veths go with their namespaces: \(veths() - vethsBefore) left")
        } catch {
            spares.shutdown()
            await bridge.stop()
            throw error
        }
        await bridge.stop()
    }
}
