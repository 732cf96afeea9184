import HearthModel
import Synchronization

/// The sandboxes' addresses in the bridge's subnet: the first host address is the gateway, the rest are
/// lent out one per sandbox, in turn around the subnet, so an address returned is lent again as late as
/// possible: a sandbox's veth goes with its network namespace, which the kernel tears down a moment
/// after the sandbox, and no new sandbox should meet its predecessor's address on the bridge.
final class AddressPool: Sendable {
    let subnet: IPv4Network
    private let state: Mutex<(taken: Set<UInt64>, next: UInt64)>

    /// Offsets 0 (the network), 1 (the gateway) and the last (broadcast) are never lent.
    init(subnet: IPv4Network) throws(NetworkError) {
        guard subnet.prefix <= 28 else { throw NetworkError("network subnet \(subnet) is too small for sandboxes (at most /28)") }
        self.subnet = subnet
        state = Mutex((taken: [], next: 2))
    }

    var gateway: IPv4Address { subnet.address(at: 1) ?? subnet.address }

    /// How many sandboxes the subnet holds at once.
    var capacity: UInt64 { subnet.size - 3 }

    func lend() throws(NetworkError) -> IPv4Address {
        let offset: UInt64? = state.withLock { s in
            // Offsets 2 ..< size-1, from `next` round to it again.
            let span = subnet.size - 3
            guard UInt64(s.taken.count) < span else { return nil }
            var candidate = s.next
            while s.taken.contains(candidate) { candidate = candidate + 1 < subnet.size - 1 ? candidate + 1 : 2 }
            s.taken.insert(candidate)
            s.next = candidate + 1 < subnet.size - 1 ? candidate + 1 : 2
            return candidate
        }
        guard let offset, let address = subnet.address(at: offset) else {
            throw NetworkError("network subnet \(subnet) has no free address (\(capacity) sandboxes hold one each)")
        }
        return address
    }

    func giveBack(_ address: IPv4Address) {
        guard subnet.contains(address) else { return }
        let offset = UInt64(address.value - subnet.address.value)
        _ = state.withLock { $0.taken.remove(offset) }
    }

    var lent: Int { state.withLock { $0.taken.count } }
}
