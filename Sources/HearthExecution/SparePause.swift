import HearthModel
import Synchronization

/// Spare /tmp disks and network namespaces are not made while a start is in flight: made beside one, they
/// took a CPU of two and the kernel's mount and network locks from it (a cold start through the API of a
/// 4.5 ms median spent ~1 ms more). The pause lasts from the start until `resumeAfterMs` past its init,
/// by when a fast runtime's first event is answered (~1 ms after its init), or until the start fails.
final class SparePause: Sendable {
    static let resumeAfterMs: Int64 = 20
    private let paused: [any PausedDuringStarts]
    private let ended = Atomic(false)

    init(_ paused: [any PausedDuringStarts]) {
        self.paused = paused
        for spares in paused { spares.startBegan() }
    }

    /// Lets the spares be made again; only the first call counts.
    func end() {
        guard !ended.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for spares in paused { spares.startEnded() }
    }

    deinit { end() }
}
