#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthModel
@testable import HearthNetwork
import HearthSandbox
import NIOPosix
import XCTest

/// The bridge on the real kernel (root only): many sandboxes' attachments made and released leave no veth,
/// address, element or lease behind, and stopping removes the bridge and the tables.
final class BridgeNetworkTests: XCTestCase {
    func eventually(seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        return condition()
    }

    func testTenThousandAttachmentsLeaveNothingBehind() async throws {
        guard geteuid() == 0 else { throw XCTSkip("the bridge needs root (running as uid \(geteuid()))") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft") else { throw XCTSkip("nft is not installed (scripts/setup installs nftables)") }
        let name = "hbt" + String(UInt16.random(in: 0x1000...0xffff), radix: 16)
        let marker = NSTemporaryDirectory() + name + ".forwarding"
        let bridge = try BridgeNetwork(.init(bridge: name, subnet: try XCTUnwrap(IPv4Network("10.216.0.0/22")), dnsServers: ["127.0.0.1"],
                                             forwardingMarker: marker))
        let forwarding = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)
        try await bridge.start(group: MultiThreadedEventLoopGroup.singleton)
        do {
            try await cycle(bridge, name: name)
        } catch {
            await bridge.stop()
            throw error
        }
        await bridge.stop()
        XCTAssertFalse(try String(contentsOfFile: "/proc/net/dev", encoding: .utf8).contains(name), "the bridge is gone")
        XCTAssertFalse(try bridge.nftables.output("list tables").contains(name), "the tables are gone")
        XCTAssertEqual(try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8), forwarding)
    }

    /// Forwarding is turned on only once the marker that turns it off again is written: without the
    /// marker, `stop` would leave it on.
    func testForwardingStaysOffWhenItsMarkerCannotBeWritten() async throws {
        guard geteuid() == 0 else { throw XCTSkip("the bridge needs root (running as uid \(geteuid()))") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft") else { throw XCTSkip("nft is not installed (scripts/setup installs nftables)") }
        let forwarding = "/proc/sys/net/ipv4/ip_forward"
        guard try String(contentsOfFile: forwarding, encoding: .utf8) == "0\n" else {
            throw XCTSkip("IP forwarding is already on here, so this daemon would not turn it on")
        }
        let name = "hbt" + String(UInt16.random(in: 0x1000...0xffff), radix: 16)
        let marker = NSTemporaryDirectory() + name + "-missing/forwarding"
        let bridge = try BridgeNetwork(.init(bridge: name, subnet: try XCTUnwrap(IPv4Network("10.216.4.0/22")), dnsServers: ["127.0.0.1"],
                                             forwardingMarker: marker))
        do {
            try await bridge.start(group: MultiThreadedEventLoopGroup.singleton)
            XCTFail("the start succeeded without its marker")
        } catch {
            XCTAssertTrue("\(error)".contains(marker), "the error names the marker: \(error)")
        }
        await bridge.stop()
        XCTAssertEqual(try String(contentsOfFile: forwarding, encoding: .utf8), "0\n")
        XCTAssertFalse(try String(contentsOfFile: "/proc/net/dev", encoding: .utf8).contains(name), "the bridge is gone")
        XCTAssertFalse(try bridge.nftables.output("list tables").contains(name), "the tables are gone")
    }

    /// Attaches and releases sandboxes' namespaces, up to 8 at once, half of them with allowances.
    func cycle(_ bridge: BridgeNetwork, name: String) async throws {
        let count = Int(ProcessInfo.processInfo.environment["HEARTH_NETWORK_CYCLES"] ?? "") ?? 10_000
        let started = Date()
        let allowed = try FunctionNetwork.parse(mode: "internet", allowances: ["db=127.0.0.1:5432", "192.168.9.0/24"])
        var live: [(Int32, NetworkLease)] = []
        for i in 0..<count {
            let namespace = try NetworkNamespace.make()
            let lease = try bridge.attach(namespace: namespace)
            if i % 2 == 0 { try bridge.apply(allowed, to: lease) }
            live.append((namespace, lease))
            // Up to 8 at once, released in another order than made.
            if live.count == 8 {
                for (fd, lease) in live.reversed() {
                    bridge.release(lease)
                    close(fd)
                }
                live = []
            }
        }
        for (fd, lease) in live {
            bridge.release(lease)
            close(fd)
        }
        bridge.settle()
        let seconds = Date().timeIntervalSince(started)
        print("\(count) attachments made and released in \(String(format: "%.1f", seconds)) s (\(String(format: "%.2f", seconds / Double(count) * 1000)) ms each)")
        XCTAssertEqual(bridge.addressesLent, 0)
        // The veths go with their namespaces, which the kernel tears down in the background.
        let vethsGone = await eventually(seconds: 10) { !((try? String(contentsOfFile: "/proc/net/dev", encoding: .utf8)) ?? " hv").contains(" hv") }
        XCTAssertTrue(vethsGone, "no sandbox veth left")
        for list in ["set inet \(name) restricted", "map inet \(name) services", "set inet \(name) networks"] {
            let listed = try bridge.nftables.output("list \(list)")
            XCTAssertFalse(listed.contains("elements"), "no policy element left: \(listed)")
        }
    }
}
