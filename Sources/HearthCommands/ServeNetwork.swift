import Foundation
import HearthModel
import HearthNetwork
import HearthSandbox
import HearthSupervisor
import NIOPosix

/// `hearth serve`'s network settings: the default for functions that name none, and the bridge's.
struct ServeNetworkSettings: Sendable, Equatable {
    /// nil: networking off (no bridge; a function that asks for a network cannot start).
    var defaultMode: FunctionNetwork.Mode?
    var bridge = BridgeNetwork.Configuration.defaultBridge
    var subnet = BridgeNetwork.Configuration.defaultSubnet
    /// The servers the DNS relay asks; empty: the host's resolv.conf's.
    var dns: [String] = []

    /// Checks the values from the file and flags; errors name the setting.
    static func make(mode: String, bridge: String?, subnet: String?, dns: String?) throws -> ServeNetworkSettings {
        var settings = ServeNetworkSettings()
        if mode != "off" {
            guard let parsed = FunctionNetwork.Mode(rawValue: mode) else {
                throw HearthError.invalidArgument("network must be internet, restricted, none or off, got '\(mode)'")
            }
            settings.defaultMode = parsed
        }
        if let bridge {
            do { try BridgeNetwork.Configuration.checkBridgeName(bridge) } catch { throw HearthError.invalidArgument("\(error)") }
            settings.bridge = bridge
        }
        if let subnet {
            guard IPv4Network(subnet) != nil else {
                throw HearthError.invalidArgument("network_subnet must be an IPv4 CIDR like 10.213.0.0/16 (no host bits set), got '\(subnet)'")
            }
            settings.subnet = subnet
        }
        if let dns {
            settings.dns = dns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            do { _ = try ResolverUpstreams.addresses(settings.dns) } catch { throw HearthError.invalidArgument("network_dns: \(error)") }
        }
        return settings
    }
}

/// The bridge while the daemon runs: made at start over whatever a killed daemon left, removed at stop.
enum ServeNetwork {
    /// The bridge, its policy and DNS relay, and the sandboxes' resolv.conf; nil when networking is off.
    static func start(_ settings: ServeNetworkSettings, stateDirectory: String, skeleton: String) async throws -> (bridge: BridgeNetwork, dns: [String])? {
        let resolvConf = skeleton + "/etc/resolv.conf"
        guard settings.defaultMode != nil, let subnet = IPv4Network(settings.subnet) else {
            try? FileManager.default.removeItem(atPath: resolvConf)
            return nil
        }
        let bridge = try BridgeNetwork(.init(bridge: settings.bridge, subnet: subnet, dnsServers: settings.dns,
                                             forwardingMarker: stateDirectory + "/network-forwarding-\(settings.bridge)"))
        let dns: [String]
        do {
            dns = try await bridge.start(group: MultiThreadedEventLoopGroup.singleton)
        } catch {
            await bridge.stop()
            throw HearthError.system("cannot set up the sandboxes' network on \(settings.bridge): \(error)")
        }
        // Every sandbox's /etc/resolv.conf (the skeleton is the top layer of each root): the relay on the gateway.
        try FileManager.default.createDirectory(atPath: skeleton + "/etc", withIntermediateDirectories: true)
        try Data("nameserver \(bridge.gateway)\n".utf8).write(to: URL(fileURLWithPath: resolvConf))
        return (bridge, dns)
    }

    /// The API's address as a sandbox reaches it through the gateway: a wildcard listener is reached on loopback.
    static func apiAddress(host: String, port: Int) -> (address: IPv4Address, port: UInt16)? {
        guard let port = UInt16(exactly: port) else { return nil }
        switch host {
        case "0.0.0.0", "::", "[::]", "*", "localhost": return (IPv4Address(0x7f00_0001), port)
        default: return IPv4Address(host).map { ($0, port) }
        }
    }
}
