import Foundation
import HearthModel
import HearthNetwork
import HearthSandbox

/// Pre-built empty sandboxes per runtime image (a root filesystem's layers):
/// namespaces, cgroup, mounts and the Runtime API ready, specialised with a
/// function's code on a cold start. A runtime image gets them once a function
/// on it has started; they are refilled in the background after each use and
/// released when no function has wanted them for the idle timeout. Those for functions with a network
/// have their veth and address already, so the network costs a cold start nothing.
package actor PreparedSandboxes {
    /// A runtime image's root layers, and whether its sandboxes are attached to the bridge.
    package struct Kind: Hashable, Sendable {
        package var layers: [String]
        package var networked: Bool
        package init(layers: [String], networked: Bool) {
            self.layers = layers
            self.networked = networked
        }
    }

    let engine: SandboxEngine
    let network: BridgeNetwork?
    /// How many to keep ready per runtime image; 0 turns them off.
    let perImage: Int
    /// Until specialised: enough for PID 1 alone; the function's own limits replace these.
    static let heldLimits = ResourceLimits(memoryMB: 128, timeoutSeconds: nil, pids: 1024, tmpSizeMB: 512)

    private var ready: [Kind: [PreparedSandbox]] = [:]
    private var wanted: [Kind: Date] = [:]
    private var refills: [Kind: Task<Void, Never>] = [:]
    private var stopped = false

    package init(engine: SandboxEngine, perImage: Int, network: BridgeNetwork? = nil) {
        self.engine = engine
        self.perImage = perImage
        self.network = network
    }

    /// A ready sandbox of this kind, or nil; either way the kind is kept stocked from now on.
    package func take(_ kind: Kind) -> PreparedSandbox? {
        guard perImage > 0, !stopped, !kind.networked || network != nil else { return nil }
        wanted[kind] = Date()
        let taken = ready[kind]?.popLast()
        return taken
    }

    /// Tops the kind up to `perImage` in the background (one refill per kind at a time).
    package func refill(_ kind: Kind) {
        guard perImage > 0, !stopped, wanted[kind] != nil, refills[kind] == nil else { return }
        refills[kind] = Task { await self.fill(kind) }
    }

    private func fill(_ kind: Kind) async {
        defer { refills[kind] = nil }
        let layers = kind.layers
        while !stopped, wanted[kind] != nil, ready[kind, default: []].count < perImage {
            guard let made = try? await PreparedSandbox.make(layers: layers, limits: Self.heldLimits, engine: engine,
                                                             network: kind.networked ? network : nil) else {
                // The image cannot be prepared (gone, or the kernel refuses): cold starts go the long way.
                return
            }
            if stopped || wanted[kind] == nil {
                await made.discard()
                return
            }
            ready[kind, default: []].append(made)
        }
    }

    /// Releases the sandboxes of images no cold start has wanted since `cutoff`.
    package func retire(unwantedSince cutoff: Date) async {
        for (kind, last) in wanted where last < cutoff {
            wanted[kind] = nil
            for prepared in ready.removeValue(forKey: kind) ?? [] { await prepared.discard() }
        }
    }

    package var count: Int { ready.values.reduce(0) { $0 + $1.count } }

    /// Stops refilling, waits for refills in flight and releases every ready sandbox.
    package func shutdown() async {
        stopped = true
        for task in refills.values { await task.value }
        for prepared in ready.values.flatMap({ $0 }) { await prepared.discard() }
        ready = [:]
    }
}
