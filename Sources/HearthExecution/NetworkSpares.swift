#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthModel
import HearthNetwork

/// Network namespaces already on the bridge (veth, address, route; the internet default, which needs no
/// firewall element), made ahead (`MadeAhead`: on a thread of their own, while no start is in flight), so
/// that a networked sandbox started without a pre-built one does not attach its own on the start path.
public final class NetworkSpares: PausedDuringStarts, Sendable {
    public let bridge: BridgeNetwork
    private let spares: MadeAhead<(fd: Int32, attachment: NetworkAttachment)>
    public var target: Int { spares.target }
    public var count: Int { spares.count }

    public init(bridge: BridgeNetwork, target: Int = 2) {
        self.bridge = bridge
        spares = MadeAhead(target: target, threadName: "hearth-net-spares", make: { try? NetworkAttachment.make(on: bridge) },
                           discard: { spare in
                               spare.attachment.release()
                               close(spare.fd)
                           })
    }

    deinit { shutdown() }

    /// A ready namespace allowed what `allowed` says (one nftables transaction when that is more than the
    /// internet default), or nil when none is ready. The caller closes `fd` once the sandbox has joined it.
    func take(allowing allowed: FunctionNetwork?) throws -> (fd: Int32, attachment: NetworkAttachment)? {
        guard let taken = spares.take() else { return nil }
        do {
            if let allowed { try taken.attachment.apply(allowed) }
        } catch {
            taken.attachment.release()
            close(taken.fd)
            throw error
        }
        return taken
    }

    public func startBegan() { spares.startBegan() }

    public func startEnded() { spares.startEnded() }

    /// Blocks until the pool is full or cannot be filled (tests and benchmarks).
    public func waitUntilFull() { spares.waitUntilFull() }

    /// Stops refilling and releases every unused namespace (its veth goes with it). Idempotent.
    public func shutdown() { spares.shutdown() }
}
