import HearthModel

/// The sandboxes' policy as nftables rules: one `inet` table and one `bridge` table named after the
/// bridge, so that a daemon's rules are replaced or removed whole and never touch anyone else's.
///
/// What a packet from a sandbox (in on the bridge) meets:
/// - to the host itself (any of its addresses): DNS on the gateway, and a host service whose
///   (sandbox, port) pair the `services` map names, translated to the service's address; nothing else.
/// - forwarded: replies; then the `networks` pairs (an allowance of a private range); then drop for
///   IPv6, private, shared, link-local, metadata, multicast and reserved ranges and the host's own
///   addresses; then, unless the sandbox is in the `restricted` set, out to the internet, masqueraded.
///   The common case (internet) needs no element: nothing to add on a cold start, nothing to delete
///   (which waits for an RCU grace period, ~20 ms) when the sandbox goes.
/// - to another sandbox: dropped on the bridge itself (the `bridge` table: from one sandbox's veth to
///   another's; `meta ibrname` would name the bridge, but kernels without nft_meta_bridge refuse it).
public struct Firewall: Sendable {
    public let bridge: String
    public let gateway: IPv4Address

    public init(bridge: String, gateway: IPv4Address) {
        self.bridge = bridge
        self.gateway = gateway
    }

    /// What the internet policy refuses (IANA's special-purpose registry for IPv4, less 198.18.0.0/15,
    /// the benchmarking range the tests use as their internet).
    public static let refusedRanges = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/3",
    ]

    var table: String { "inet \(bridge)" }

    /// The whole ruleset, replacing any earlier one of the same name (a daemon killed with SIGKILL).
    public var ruleset: String {
        let b = "\"\(bridge)\""
        return """
        table inet \(bridge)
        delete table inet \(bridge)
        table bridge \(bridge)
        delete table bridge \(bridge)
        table inet \(bridge) {
          set refused { type ipv4_addr; flags interval; elements = { \(Self.refusedRanges.joined(separator: ", ")) }; }
          set restricted { type ipv4_addr; }
          set networks { type ipv4_addr . ipv4_addr; flags interval; }
          map services { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
          chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
            iifname \(b) ip daddr \(gateway) dnat ip to ip saddr . tcp dport map @services
          }
          chain input {
            type filter hook input priority filter; policy accept;
            iifname \(b) ct state established,related accept
            iifname \(b) ip daddr \(gateway) udp dport 53 accept
            iifname \(b) ct status dnat accept
            iifname \(b) meta l4proto { tcp, udp } reject with icmpx admin-prohibited
            iifname \(b) drop
          }
          chain forward {
            type filter hook forward priority filter; policy accept;
            oifname \(b) ct state established,related accept
            oifname \(b) drop
            iifname \(b) ip saddr . ip daddr @networks accept
            iifname \(b) meta nfproto ipv6 drop
            iifname \(b) ip daddr @refused reject with icmpx admin-prohibited
            iifname \(b) fib daddr type local reject with icmpx admin-prohibited
            iifname \(b) ip saddr @restricted reject with icmpx admin-prohibited
            iifname \(b) accept
          }
          chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
            iifname \(b) oifname != \(b) masquerade
          }
        }
        table bridge \(bridge) {
          chain forward {
            type filter hook forward priority filter; policy accept;
            iifname "\(NetworkLease.interfacePrefix)*" oifname "\(NetworkLease.interfacePrefix)*" drop
          }
        }

        """
    }

    public var removal: String { "delete table inet \(bridge)\ndelete table bridge \(bridge)\n" }

    /// Hearth's own API on the gateway for every sandbox on the bridge: one rule, after the `services`
    /// map's (a function's own allowance for the port comes first), so no sandbox needs an element of
    /// its own for it, and a cold start runs no nftables transaction for it.
    public func apiRule(address: IPv4Address, port: UInt16) -> String {
        "add rule \(table) prerouting iifname \"\(bridge)\" ip daddr \(gateway) tcp dport \(port) dnat ip to \(address):\(port)\n"
    }

    /// The elements that let `sandbox` reach what `network` allows and no more (none for internet alone).
    public func elements(for sandbox: IPv4Address, _ network: FunctionNetwork) -> [String] {
        var out: [String] = []
        if network.mode != .internet { out.append("\(table) restricted { \(sandbox) }") }
        for allowance in network.allowances {
            switch allowance {
            case .service(_, let address, let port):
                out.append("\(table) services { \(sandbox) . \(port) : \(address) . \(port) }")
            case .network(let range):
                out.append("\(table) networks { \(sandbox) . \(range) }")
            }
        }
        return out
    }

    public func add(_ elements: [String]) -> String { elements.map { "add element \($0)\n" }.joined() }
    public func delete(_ elements: [String]) -> String { elements.map { "delete element \($0)\n" }.joined() }
}
