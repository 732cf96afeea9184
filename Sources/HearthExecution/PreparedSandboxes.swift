import Foundation
import HearthModel
import HearthSandbox

/// Pre-built empty sandboxes per runtime image (a root filesystem's layers):
/// namespaces, cgroup, mounts and the Runtime API ready, specialised with a
/// function's code on a cold start. A runtime image gets them once a function
/// on it has started; they are refilled in the background after each use and
/// released when no function has wanted them for the idle timeout.
package actor PreparedSandboxes {
    let engine: SandboxEngine
    /// How many to keep ready per runtime image; 0 turns them off.
    let perImage: Int
    /// Until specialised: enough for PID 1 alone; the function's own limits replace these.
    static let heldLimits = ResourceLimits(memoryMB: 128, timeoutSeconds: nil, pids: 1024, tmpSizeMB: 512)

    private var ready: [[String]: [PreparedSandbox]] = [:]
    private var wanted: [[String]: Date] = [:]
    private var refills: [[String]: Task<Void, Never>] = [:]
    private var stopped = false

    package init(engine: SandboxEngine, perImage: Int) {
        self.engine = engine
        self.perImage = perImage
    }

    /// A ready sandbox for these layers, or nil; either way the image is kept stocked from now on.
    package func take(layers: [String]) -> PreparedSandbox? {
        guard perImage > 0, !stopped else { return nil }
        wanted[layers] = Date()
        let taken = ready[layers]?.popLast()
        return taken
    }

    /// Tops the image up to `perImage` in the background (one refill per image at a time).
    package func refill(layers: [String]) {
        guard perImage > 0, !stopped, wanted[layers] != nil, refills[layers] == nil else { return }
        refills[layers] = Task { await self.fill(layers) }
    }

    private func fill(_ layers: [String]) async {
        defer { refills[layers] = nil }
        while !stopped, wanted[layers] != nil, ready[layers, default: []].count < perImage {
            guard let made = try? await PreparedSandbox.make(layers: layers, limits: Self.heldLimits, engine: engine) else {
                // The image cannot be prepared (gone, or the kernel refuses): cold starts go the long way.
                return
            }
            if stopped || wanted[layers] == nil {
                await made.discard()
                return
            }
            ready[layers, default: []].append(made)
        }
    }

    /// Releases the sandboxes of images no cold start has wanted since `cutoff`.
    package func retire(unwantedSince cutoff: Date) async {
        for (layers, last) in wanted where last < cutoff {
            wanted[layers] = nil
            for prepared in ready.removeValue(forKey: layers) ?? [] { await prepared.discard() }
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
