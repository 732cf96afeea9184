#if canImport(Glibc)
import Glibc
#endif
import CNetworkLink
import Foundation
import HearthModel
import NIOCore
import Synchronization

/// The daemon's network for sandboxes: a bridge with the gateway address, the policy's nftables
/// tables, the DNS relay on the gateway, and one veth per sandbox that may use the network.
///
/// Made with libnl (links, addresses, routes: netlink messages the library builds) and libnftables
/// (the policy as one transaction) rather than the CNI plugins, whose bridge plugin costs an exec of a
/// Go binary per sandbox and whose masquerade and firewall plugins write iptables rules.
public final class BridgeNetwork: Sendable {
    public struct Configuration: Sendable {
        /// The bridge's name; also the nftables tables' name. At most 15 bytes (IFNAMSIZ).
        public var bridge: String
        /// The sandboxes' subnet; its first host address is the gateway.
        public var subnet: IPv4Network
        /// The servers the DNS relay asks (the host's resolv.conf's when empty).
        public var dnsServers: [String]
        /// A file whose existence says this daemon turned IPv4 forwarding on and turns it off at stop.
        public var forwardingMarker: String

        public init(bridge: String, subnet: IPv4Network, dnsServers: [String], forwardingMarker: String) {
            self.bridge = bridge
            self.subnet = subnet
            self.dnsServers = dnsServers
            self.forwardingMarker = forwardingMarker
        }

        public static let defaultBridge = "hearth0"
        public static let defaultSubnet = "10.213.0.0/16"

        /// Checks what comes from a config file or flag; the error names the value.
        public static func checkBridgeName(_ name: String) throws(NetworkError) {
            guard (1...15).contains(name.utf8.count),
                  name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }) else {
                throw NetworkError("network bridge name '\(name)' must be 1-15 letters, digits, '-' or '_'")
            }
        }
    }

    public let configuration: Configuration
    /// Host-wide: one lock per bridge a running daemon holds.
    public static let leaseDirectory = "/run/hearth-bridges"
    /// This daemon's hold on the bridge: a second daemon on it would replace its nftables tables, lend its
    /// addresses again, and delete the bridge when it stopped (or failed to start).
    private let lease: HostLock
    let pool: AddressPool
    let nftables: Nftables
    public let firewall: Firewall
    private let relay = Mutex<DNSRelay?>(nil)
    /// Veth names: "hv" and a counter in hex, from a random start so a daemon started over a dying one's
    /// namespaces does not meet their names.
    private let interfaceCounter = Atomic<UInt32>(UInt32.random(in: 0...UInt32.max))
    /// Removing a set element waits for the kernel (an RCU grace period, ~20 ms): not on a caller's thread.
    private let releases = DispatchQueue(label: "hearth-network-release")

    public var gateway: IPv4Address { pool.gateway }
    public var addressesLent: Int { pool.lent }

    public init(_ configuration: Configuration) throws(NetworkError) {
        try Configuration.checkBridgeName(configuration.bridge)
        let held: HostLock?
        do { held = try HostLock.acquire(configuration.bridge, in: Self.leaseDirectory) } catch { throw NetworkError("\(error)") }
        guard let held else {
            throw NetworkError("the network bridge \(configuration.bridge) is in use by another running Hearth daemon: give this one a bridge "
                               + "and a subnet of its own (--network-bridge and --network-subnet, or network_bridge and network_subnet)")
        }
        lease = held
        self.configuration = configuration
        pool = try AddressPool(subnet: configuration.subnet)
        nftables = try Nftables()
        firewall = Firewall(bridge: configuration.bridge, gateway: pool.gateway)
    }

    /// Makes the bridge, the policy and the DNS relay; safe to run over what a killed daemon left.
    /// - Returns: the DNS servers the relay asks; empty when the host names none (no relay: the sandboxes
    ///   reach addresses, not names).
    @discardableResult
    public func start(group: any EventLoopGroup) async throws -> [String] {
        let bridge = configuration.bridge
        var err = [CChar](repeating: 0, count: 256)
        guard hearth_net_bridge_up(bridge, gateway.networkOrder, Int32(configuration.subnet.prefix), &err, err.count) == 0 else {
            throw NetworkError(String(cBuffer: err))
        }
        // The gateway's DNAT to a host service on 127.0.0.1 needs loopback destinations routed from the
        // bridge; the input chain accepts only translated connections, so nothing else benefits.
        try Self.writeSysctl("net/ipv4/conf/\(bridge)/route_localnet", "1")
        try? Self.writeSysctl("net/ipv6/conf/\(bridge)/disable_ipv6", "1")
        try nftables.run(firewall.ruleset)
        try enableForwarding()
        let servers = configuration.dnsServers.isEmpty ? ResolverUpstreams.fromResolvConf() : configuration.dnsServers
        let upstreams = try ResolverUpstreams.addresses(servers)
        guard !upstreams.isEmpty else { return [] }
        let listen = try SocketAddress(ipAddress: gateway.description, port: 53)
        let started = try await DNSRelay.start(listen: listen, upstreams: upstreams, group: group)
        relay.withLock { $0 = started }
        return servers
    }

    /// Lets every sandbox on the bridge reach the daemon's API at the gateway's `port` (see `Firewall.apiRule`).
    public func allowAPI(address: IPv4Address, port: UInt16) throws(NetworkError) {
        try nftables.run(firewall.apiRule(address: address, port: port))
    }

    /// Removes the relay, the tables and the bridge (every sandbox's veth goes with its namespace or
    /// with `release`), and turns forwarding off again if this daemon turned it on.
    public func stop() async {
        settle()
        if let relay = relay.withLock({ r -> DNSRelay? in defer { r = nil }; return r }) { await relay.close() }
        try? nftables.run(firewall.removal)
        var err = [CChar](repeating: 0, count: 256)
        _ = hearth_net_link_delete(configuration.bridge, &err, err.count)
        if FileManager.default.fileExists(atPath: configuration.forwardingMarker) {
            try? Self.writeSysctl("net/ipv4/ip_forward", "0")
            try? FileManager.default.removeItem(atPath: configuration.forwardingMarker)
        }
    }

    /// Gives the network namespace `namespace` an address and a veth on the bridge, with the internet
    /// policy (which needs no rule of its own) until `apply` says otherwise. Off the warm path: prepared
    /// sandboxes are attached ahead. The veth goes with the namespace.
    public func attach(namespace: Int32) throws -> NetworkLease {
        let address = try pool.lend()
        let name = NetworkLease.interfaceName(interfaceCounter.wrappingAdd(1, ordering: .relaxed).newValue)
        var err = [CChar](repeating: 0, count: 256)
        guard hearth_net_veth_attach(namespace, configuration.bridge, name, address.networkOrder, Int32(configuration.subnet.prefix),
                                     gateway.networkOrder, &err, err.count) == 0 else {
            pool.giveBack(address)
            throw NetworkError(String(cBuffer: err))
        }
        return NetworkLease(address: address, hostInterface: name)
    }

    /// Replaces what the lease's sandbox may reach with what `network` allows (one nftables transaction).
    public func apply(_ network: FunctionNetwork, to lease: NetworkLease) throws(NetworkError) {
        let new = firewall.elements(for: lease.address, network)
        let old = lease.elements.withLock { $0 }
        guard new != old else { return }
        try nftables.run(firewall.delete(old.filter { !new.contains($0) }) + firewall.add(new.filter { !old.contains($0) }))
        lease.elements.withLock { $0 = new }
    }

    /// Removes the sandbox's rules (in the background) and takes its address back once they are gone; an
    /// address whose rules could not be removed is never lent again. The veth goes with the sandbox's
    /// namespace, which the kernel tears down on its own once the sandbox's last process and fd are gone.
    /// Idempotent.
    public func release(_ lease: NetworkLease) {
        guard lease.released.withLock({ r -> Bool in defer { r = true }; return !r }) else { return }
        let old = lease.elements.withLock { e -> [String] in defer { e = [] }; return e }
        guard !old.isEmpty else {
            pool.giveBack(lease.address)
            return
        }
        releases.async { [self] in
            if (try? nftables.run(firewall.delete(old))) != nil { pool.giveBack(lease.address) }
        }
    }

    /// Waits for the releases in flight (tests, and stop).
    public func settle() { releases.sync {} }

    /// What the function's runtime is told about its network: where Hearth's API is (so the AWS SDKs
    /// invoke other functions through it) and where each allowed host service is.
    public func environment(for network: FunctionNetwork, apiPort: UInt16?) -> [(String, String)] {
        var env: [(String, String)] = []
        if let apiPort { env.append(("AWS_ENDPOINT_URL_LAMBDA", "http://\(gateway):\(apiPort)")) }
        for case .service(let name, _, let port) in network.allowances {
            env.append(("HEARTH_SERVICE_" + name.uppercased().replacingOccurrences(of: "-", with: "_"), "\(gateway):\(port)"))
        }
        return env
    }

    private func enableForwarding() throws {
        let path = "/proc/sys/net/ipv4/ip_forward"
        let current = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard current != "1" else { return }
        // Recorded first: forwarding turned on without the marker would be left on by `stop`.
        guard FileManager.default.createFile(atPath: configuration.forwardingMarker, contents: Data("1\n".utf8)) else {
            throw NetworkError("cannot write \(configuration.forwardingMarker), which records that this daemon turned IP forwarding on")
        }
        try Self.writeSysctl("net/ipv4/ip_forward", "1")
    }

    static func writeSysctl(_ key: String, _ value: String) throws(NetworkError) {
        let path = "/proc/sys/" + key
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetworkError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = value.withCString { write(fd, $0, strlen($0)) }
        guard written >= 0 else { throw NetworkError("cannot write \(value) to \(path): \(String(cString: strerror(errno)))") }
    }
}

/// One sandbox's place on the bridge: its address, its veth's host end, the policy elements it holds.
public final class NetworkLease: Sendable {
    public let address: IPv4Address
    public let hostInterface: String
    let elements = Mutex<[String]>([])
    let released = Mutex(false)

    init(address: IPv4Address, hostInterface: String) {
        self.address = address
        self.hostInterface = hostInterface
    }

    static let interfacePrefix = "hv"

    /// "hv" and 8 hex digits: 10 bytes, under IFNAMSIZ.
    static func interfaceName(_ number: UInt32) -> String {
        let hex = String(number, radix: 16)
        return interfacePrefix + String(repeating: "0", count: 8 - hex.count) + hex
    }
}
