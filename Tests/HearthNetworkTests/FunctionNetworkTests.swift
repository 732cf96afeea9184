import HearthModel
@testable import HearthNetwork
import XCTest

final class FunctionNetworkTests: XCTestCase {
    func testAllowancesParseAndSayWhatIsWrong() throws {
        let network = try FunctionNetwork.parse(mode: "restricted", allowances: ["postgres=127.0.0.1:5432", "192.168.5.0/24"])
        XCTAssertEqual(network.mode, .restricted)
        XCTAssertEqual(network.allowances.map(\.description), ["postgres=127.0.0.1:5432", "192.168.5.0/24"])
        let refused: [(String, [String], String)] = [
            ("outside", [], "network mode 'outside' is not one of internet, restricted, none"),
            ("internet", ["db=127.0.0.1:0"], "must be NAME=IPV4:PORT"),
            ("internet", ["db=localhost:5432"], "must be NAME=IPV4:PORT"),
            ("internet", ["db=127.0.0.1:65536"], "must be NAME=IPV4:PORT"),
            ("internet", ["1db=127.0.0.1:5432"], "host service name '1db'"),
            ("internet", ["192.168.5.1/24"], "neither NAME=IPV4:PORT nor an IPv4 CIDR"),
            ("internet", ["010.0.0.0/8"], "neither"),
            ("internet", ["a=1.2.3.4:1", "a=1.2.3.4:2"], "host service 'a' is named twice"),
            ("none", ["10.0.0.0/8"], "network mode none has no interface"),
            ("internet", Array(repeating: "10.0.0.0/8", count: 17), "at most 16 network allowances"),
        ]
        for (mode, allowances, message) in refused {
            XCTAssertThrowsError(try FunctionNetwork.parse(mode: mode, allowances: allowances), "\(mode) \(allowances)") { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
            }
        }
    }

    func testAddressesAndNetworksAreStrict() {
        XCTAssertEqual(IPv4Address("10.213.0.1")?.value, 0x0AD5_0001)
        XCTAssertEqual(IPv4Address(0x0AD5_0001).description, "10.213.0.1")
        for bad in ["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "", "1..2.3", " 1.2.3.4"] {
            XCTAssertNil(IPv4Address(bad), bad)
        }
        XCTAssertEqual(IPv4Network("10.213.0.0/16")?.size, 65536)
        XCTAssertNil(IPv4Network("10.213.0.1/16"), "host bits set")
        XCTAssertNil(IPv4Network("10.0.0.0/33"))
        XCTAssertTrue(IPv4Network("192.168.0.0/16")?.contains(IPv4Address("192.168.200.7")!) ?? false)
        XCTAssertFalse(IPv4Network("192.168.0.0/16")?.contains(IPv4Address("192.169.0.1")!) ?? true)
    }

    func testThePoolLendsEachAddressOnceAndInTurn() throws {
        let pool = try AddressPool(subnet: XCTUnwrap(IPv4Network("10.9.0.0/28")))
        XCTAssertEqual(pool.gateway.description, "10.9.0.1")
        XCTAssertEqual(pool.capacity, 13)
        let lent = try (0..<13).map { _ in try pool.lend() }
        XCTAssertEqual(lent.first?.description, "10.9.0.2")
        XCTAssertEqual(lent.last?.description, "10.9.0.14", "never the broadcast address")
        XCTAssertEqual(Set(lent).count, 13)
        XCTAssertThrowsError(try pool.lend()) { XCTAssertTrue("\($0)".contains("has no free address"), "\($0)") }
        pool.giveBack(lent[5])
        pool.giveBack(lent[2])
        XCTAssertEqual(try pool.lend(), lent[2], "the next in turn after the last lent, round the subnet")
        XCTAssertEqual(try pool.lend(), lent[5])
        pool.giveBack(lent[0])
        pool.giveBack(lent[1])
        XCTAssertEqual(try pool.lend(), lent[0], "not the one returned last")
        XCTAssertThrowsError(try AddressPool(subnet: XCTUnwrap(IPv4Network("10.9.0.0/30"))))
    }

    func testTheRulesetNamesItsBridgeAndEachSandboxGetsItsOwnElements() throws {
        let firewall = Firewall(bridge: "hb1", gateway: try XCTUnwrap(IPv4Address("10.5.0.1")))
        XCTAssertTrue(firewall.ruleset.hasPrefix("table inet hb1\ndelete table inet hb1\n"), "replaces what a killed daemon left")
        XCTAssertTrue(firewall.ruleset.contains("iifname \"hb1\" ip daddr 10.5.0.1 dnat ip to ip saddr . tcp dport map @services"))
        for range in ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"] {
            XCTAssertTrue(firewall.ruleset.contains(range), range)
        }
        XCTAssertFalse(firewall.ruleset.contains("198.18.0.0/15"), "the benchmarking range is the tests' internet")
        let sandbox = try XCTUnwrap(IPv4Address("10.5.0.7"))
        let network = try FunctionNetwork.parse(mode: "internet", allowances: ["pg=127.0.0.1:5432", "192.168.5.0/24"])
        XCTAssertEqual(firewall.elements(for: sandbox, network), [
            "inet hb1 services { 10.5.0.7 . 5432 : 127.0.0.1 . 5432 }",
            "inet hb1 networks { 10.5.0.7 . 192.168.5.0/24 }",
        ])
        XCTAssertEqual(firewall.elements(for: sandbox, FunctionNetwork(mode: .internet)), [], "the internet alone costs no element")
        XCTAssertEqual(firewall.elements(for: sandbox, FunctionNetwork(mode: .restricted)), ["inet hb1 restricted { 10.5.0.7 }"])
        XCTAssertEqual(firewall.apiRule(address: try XCTUnwrap(IPv4Address("127.0.0.1")), port: 9000),
                       "add rule inet hb1 prerouting iifname \"hb1\" ip daddr 10.5.0.1 tcp dport 9000 dnat ip to 127.0.0.1:9000\n",
                       "one rule for the API, appended after the services map's")
    }

    func testResolvConfGivesItsServersAndLeavesScopedOnesOut() throws {
        let text = "# comment\nnameserver 127.0.0.53\nsearch example\nnameserver\tfe80::1%eth0\nnameserver 2001:db8::1\noptions edns0\n"
        XCTAssertEqual(ResolverUpstreams.parse(text), ["127.0.0.53", "2001:db8::1"])
        XCTAssertThrowsError(try ResolverUpstreams.addresses(["dns.example"])) { XCTAssertTrue("\($0)".contains("'dns.example' is not an IP address")) }
    }

    func testVethNamesFitIFNAMSIZ() {
        XCTAssertEqual(NetworkLease.interfaceName(0x0ad5_0002), "hv0ad50002")
        XCTAssertEqual(NetworkLease.interfaceName(UInt32.max), "hvffffffff")
    }
}
