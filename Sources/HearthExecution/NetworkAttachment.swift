#if canImport(Glibc)
import Glibc
#endif
import HearthModel
import HearthNetwork
import HearthSandbox

/// A sandbox's place on the daemon's bridge for its life: released with the sandbox.
public final class NetworkAttachment: Sendable {
    public let bridge: BridgeNetwork
    public let lease: NetworkLease

    init(bridge: BridgeNetwork, lease: NetworkLease) {
        self.bridge = bridge
        self.lease = lease
    }

    /// A new network namespace with its veth, address and route, allowed what `allowed` says (the internet
    /// when nil); the caller closes `fd` once the sandbox has joined it. Nothing is left when it throws.
    static func make(on bridge: BridgeNetwork, allowing allowed: FunctionNetwork? = nil) throws -> (fd: Int32, attachment: NetworkAttachment) {
        let fd = try NetworkNamespace.make()
        var attachment: NetworkAttachment?
        do {
            let made = NetworkAttachment(bridge: bridge, lease: try bridge.attach(namespace: fd))
            attachment = made
            if let allowed { try made.apply(allowed) }
            return (fd, made)
        } catch {
            attachment?.release()
            close(fd)
            throw error
        }
    }

    func apply(_ network: FunctionNetwork) throws { try bridge.apply(network, to: lease) }

    func release() { bridge.release(lease) }
}

/// What an environment of a networked function is started with: the bridge and what it may reach.
public struct NetworkPlan: Sendable {
    public let bridge: BridgeNetwork
    public let allowed: FunctionNetwork
    /// Namespaces attached ahead to `bridge`; nil: each start attaches its own.
    public var spares: NetworkSpares?

    public init(bridge: BridgeNetwork, allowed: FunctionNetwork, spares: NetworkSpares? = nil) {
        self.bridge = bridge
        self.allowed = allowed
        self.spares = spares
    }

    /// A namespace on the bridge allowed what the function may reach: a spare when one is ready.
    func attach() throws -> (fd: Int32, attachment: NetworkAttachment) {
        if let spare = try spares?.take(allowing: allowed) { return spare }
        return try NetworkAttachment.make(on: bridge, allowing: allowed)
    }
}
